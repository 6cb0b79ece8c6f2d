// Saying what a file is: every fixture is identified as its architecture by the registry's
// ordered key conditions (the converted ones with the right family and scale), an
// architecture spandrel knows but Upscale does not convert is refused by name, and anything
// else fails with a message that says what was found and what is supported.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../fixtures';
import { describeArch, detectArchitecture, identify, sampleKeys } from '../../models/architectures/detect';
import { ARCHITECTURES, DETECTION_ORDER, RECOGNISED_ONLY } from '../../models/architectures/registry';
import { NotConvertedError, article } from '../../models/architectures/refusals';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPth } from '../../models/readers/pth';
import type { StateDict } from '../../models/weights/state-dict';
import { satisfies } from '../../models/weights/keys';

const ARCH_DIR = path.join(FIXTURES_DIR, 'arch');
const SPANDREL_DIR = path.join(FIXTURES_DIR, 'spandrel');

interface Expected {
  readonly arch: string;
  readonly family: string;
  readonly scale: number;
  readonly inputMultiple: number;
}

const EXPECTED: Record<string, Expected> = {
  rrdbnet_x4: { arch: 'esrgan', family: 'esrgan', scale: 4, inputMultiple: 1 },
  rrdbnet_x2: { arch: 'esrgan', family: 'esrgan', scale: 2, inputMultiple: 1 },
  esrgan_old_x4: { arch: 'esrgan', family: 'esrgan', scale: 4, inputMultiple: 1 },
  srvgg_x4: { arch: 'compact', family: 'real-esrgan', scale: 4, inputMultiple: 1 },
  swinir_classical_x2: { arch: 'swinir', family: 'swinir', scale: 2, inputMultiple: 4 },
  swinir_lightweight_x4: { arch: 'swinir', family: 'swinir', scale: 4, inputMultiple: 4 },
  hat_x4: { arch: 'hat', family: 'hat', scale: 4, inputMultiple: 4 },
  dat_x2: { arch: 'dat', family: 'dat', scale: 2, inputMultiple: 4 },
};

/** spandrel 0.4.2's main_registry.py, every architecture it loads. */
const SPANDREL_ARCHITECTURES = [
  'Compact', 'SwiftSRGAN', 'HAT', 'GRL', 'Swin2SR', 'SwinIR', 'GFPGAN', 'RestoreFormer', 'LaMa', 'OmniSR',
  'SCUNet', 'FBCNN', 'Uformer', 'RGT', 'DAT', 'CRAFT', 'KBNet', 'DITN', 'MMRealSR', 'SPAN', 'RealCUGAN',
  'SAFMN', 'SAFMNBCIE', 'DCTLSA', 'FFTformer', 'NAFNet', 'ATD', 'MixDehazeNet', 'DRUNet', 'DnCNN', 'IPT',
  'DRCT', 'ESRGAN', 'PLKSR', 'RetinexFormer', 'HVICIDNet', 'SeemoRe', 'MoSR', 'MoESR', 'RCAN', 'FDAT', 'AuraSR',
]; // prettier-ignore

const loadSafetensors = (dir: string, name: string): StateDict =>
  readSafetensors(fs.readFileSync(path.join(dir, name, `${name}.safetensors`)), `${name}.safetensors`);

function caseFolders(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => fs.statSync(path.join(dir, n)).isDirectory())
    .sort();
}

test('every arch fixture folder has an expectation (a new fixture must be added here)', () => {
  assert.deepEqual(caseFolders(ARCH_DIR), Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`${name}: identified as ${expected.arch}, ${expected.family} x${expected.scale}, from .safetensors and .pth`, async () => {
    const caseJson = JSON.parse(fs.readFileSync(path.join(ARCH_DIR, name, 'case.json'), 'utf8')) as { scale: number };
    assert.equal(caseJson.scale, expected.scale);
    for (const sd of [loadSafetensors(ARCH_DIR, name), await readPth(path.join(ARCH_DIR, name, `${name}.pth`))]) {
      const { module, info } = detectArchitecture(sd, name);
      assert.equal(module.id, expected.arch);
      assert.equal(info.architecture, expected.arch);
      assert.equal(info.family, expected.family);
      assert.equal(info.scale, expected.scale);
      assert.equal(info.inputMultiple, expected.inputMultiple);
    }
  });
}

test('every spandrel fixture is identified as the architecture spandrel loaded it as (RGT is not DAT, MMRealSR is not ESRGAN)', () => {
  const folders = caseFolders(SPANDREL_DIR);
  assert.ok(folders.length >= 30, `found ${folders.length} spandrel fixtures`);
  for (const name of folders) {
    const json = JSON.parse(fs.readFileSync(path.join(SPANDREL_DIR, name, 'case.json'), 'utf8')) as {
      spandrel: { architecture: string };
    };
    const identity = identify(loadSafetensors(SPANDREL_DIR, name));
    const id = identity?.kind === 'converted' ? identity.module.id : identity?.entry.id;
    assert.equal(id, json.spandrel.architecture.toLowerCase(), name);
  }
});

test('the registry recognises every architecture spandrel 0.4.2 loads, each once; the converted ones by their module', () => {
  const ids = DETECTION_ORDER.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  assert.deepEqual([...ids].sort(), SPANDREL_ARCHITECTURES.map((a) => a.toLowerCase()).sort());
  assert.deepEqual(
    ARCHITECTURES.map((m) => m.id),
    [
      'mmrealsr',
      'esrgan',
      'compact',
      'swiftsrgan',
      'hat',
      'grl',
      'swin2sr',
      'swinir',
      'omnisr',
      'rgt',
      'dat',
      'craft',
      'ditn',
      'span',
      'realcugan',
      'safmn',
      'safmnbcie',
      'dctlsa',
      'atd',
      'drct',
      'plksr',
      'seemore',
      'mosr',
      'moesr',
      'rcan',
      'fdat',
    ],
  );
  assert.equal(ARCHITECTURES.length + RECOGNISED_ONLY.length, DETECTION_ORDER.length);
});

test("where key conditions overlap, the registry tries the architecture whose keys include the other's first", () => {
  // MMRealSR has every key ESRGAN's BasicSR layout has; HAT every key SwinIR's condition asks for.
  const position = (id: string): number => DETECTION_ORDER.findIndex((e) => e.id === id);
  for (const [first, then] of [
    ['mmrealsr', 'esrgan'],
    ['hat', 'swinir'],
    ['swin2sr', 'swinir'],
  ] as const) {
    assert.ok(position(first) < position(then), `${first} before ${then}`);
  }
  // The overlaps are real: without the order these files would be misread.
  const keysOf = (id: string) => {
    const module = ARCHITECTURES.find((m) => m.id === id);
    assert.ok(module, id);
    return module.keys;
  };
  assert.equal(satisfies(loadSafetensors(SPANDREL_DIR, 'mmrealsr_x4'), keysOf('esrgan')), true);
  assert.equal(satisfies(loadSafetensors(ARCH_DIR, 'hat_x4'), keysOf('swinir')), true);
});

test('a file of an architecture Upscale recognises but does not convert is refused by name, with the way around', () => {
  // GFPGAN's keys (a face restorer, not an upscaler): no fixture needed to stay unconverted.
  const tensor = { shape: [1], data: new Float32Array(1) };
  const sd: StateDict = new Map([
    ['toRGB.0.weight', tensor],
    ['stylegan_decoder.style_mlp.1.weight', tensor],
  ]);
  assert.throws(
    () => detectArchitecture(sd, 'gfpgan.pth'),
    (e: Error) => {
      assert.ok(e instanceof NotConvertedError);
      assert.equal(e.architecture, 'gfpgan');
      assert.equal(
        e.message,
        'gfpgan.pth: this is a GFPGAN model, which Upscale does not convert yet; export it to ONNX (chaiNNer can) and import the .onnx',
      );
      return true;
    },
  );
});

test('refusals read right: a GRL, a HAT, a Uformer, an RGT, an MMRealSR, an ESRGAN+, an ATD, a 1-channel ESRGAN', () => {
  const said = (name: string): string => `${article(name)} ${name}`;
  assert.deepEqual(
    ['GRL', 'HAT', 'Uformer', 'SwinIR', 'RGT', 'MMRealSR', 'ESRGAN+', 'ATD', 'OmniSR', '1-channel ESRGAN'].map(said),
    [
      'a GRL',
      'a HAT',
      'a Uformer',
      'a SwinIR',
      'an RGT',
      'an MMRealSR',
      'an ESRGAN+',
      'an ATD',
      'an OmniSR',
      'a 1-channel ESRGAN',
    ],
  );
});

test('describeArch names the family, scale and variant', () => {
  const { info } = detectArchitecture(loadSafetensors(ARCH_DIR, 'swinir_lightweight_x4'), 'x');
  const text = describeArch(info);
  assert.match(text, /^SwinIR x4 — SwinIR lightweight/);
  assert.match(text, /input multiple 4/);
  assert.equal(
    describeArch({ family: 'real-esrgan', variant: 'SRVGGNetCompact', scale: 2, inputMultiple: 1, params: {} }),
    'Real-ESRGAN x2 — SRVGGNetCompact',
  );
});

test('an unknown state dict fails naming the file, what was found and every supported architecture', () => {
  const sd: StateDict = new Map();
  for (let i = 0; i < 10; i++) sd.set(`encoder.layer${i}.weight`, { shape: [4], data: new Float32Array(4) });
  assert.throws(
    () => detectArchitecture(sd, 'mystery.pth'),
    (e: Error) => {
      assert.ok(e.message.startsWith('mystery.pth: unknown architecture'), e.message);
      assert.ok(e.message.includes('10 tensors'), e.message);
      assert.ok(e.message.includes("'encoder.layer0.weight'"), e.message);
      assert.ok(e.message.includes("'encoder.layer9.weight'"), e.message);
      for (const family of ['RRDBNet', 'RRDB_trunk', 'model.1.sub', 'SRVGGNetCompact', 'SwinIR', 'HAT', 'DAT']) {
        assert.ok(e.message.includes(family), `'${family}' missing from: ${e.message}`);
      }
      for (const m of ARCHITECTURES) assert.ok(e.message.includes(m.label), `${m.label} missing from: ${e.message}`);
      return true;
    },
  );
  assert.throws(() => detectArchitecture(new Map(), 'empty.safetensors'), {
    message: /^empty\.safetensors: unknown architecture: found no tensors at all/,
  });
});

test('weights that match an architecture but are inconsistent fail naming the file and the architecture', () => {
  const sd = loadSafetensors(ARCH_DIR, 'rrdbnet_x4');
  sd.delete('conv_up1.weight');
  assert.throws(
    () => detectArchitecture(sd, 'broken.pth'),
    (e: Error) => {
      assert.match(e.message, /^broken\.pth: the weights look like ESRGAN \(RRDBNet\) but do not fit it: /);
      assert.ok(e.message.includes('conv_up1.weight'), e.message);
      return true;
    },
  );
});

test('sampleKeys shows the first keys and the last one', () => {
  assert.deepEqual(sampleKeys(['a', 'b']), ['a', 'b']);
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  assert.deepEqual(sampleKeys(keys), ['k0', 'k1', 'k2', 'k3', 'k4', '...', 'k19']);
});
