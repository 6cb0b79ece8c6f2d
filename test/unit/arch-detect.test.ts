// Architecture detection across all modules: every fixture is recognised by exactly one
// module with the right family and scale, and anything else fails with a message that says
// what was found and what is supported.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../fixtures';
import { ARCHITECTURES, describeArch, detectAmong, detectArchitecture, sampleKeys } from '../../models/arch/detect';
import type { Architecture, Family } from '../../models/arch/types';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPth } from '../../models/readers/pth';
import type { StateDict } from '../../models/readers/state-dict';

const ARCH_DIR = path.join(FIXTURES_DIR, 'arch');

interface Expected {
  readonly arch: string;
  readonly family: Family;
  readonly scale: number;
  readonly inputMultiple: number;
}

const EXPECTED: Record<string, Expected> = {
  rrdbnet_x4: { arch: 'rrdbnet', family: 'esrgan', scale: 4, inputMultiple: 1 },
  rrdbnet_x2: { arch: 'rrdbnet', family: 'esrgan', scale: 2, inputMultiple: 1 },
  esrgan_old_x4: { arch: 'esrgan-old', family: 'esrgan', scale: 4, inputMultiple: 1 },
  srvgg_x4: { arch: 'srvgg', family: 'real-esrgan', scale: 4, inputMultiple: 1 },
  swinir_classical_x2: { arch: 'SwinIR', family: 'swinir', scale: 2, inputMultiple: 4 },
  swinir_lightweight_x4: { arch: 'SwinIR', family: 'swinir', scale: 4, inputMultiple: 4 },
  hat_x4: { arch: 'HAT', family: 'hat', scale: 4, inputMultiple: 4 },
  dat_x2: { arch: 'dat', family: 'dat', scale: 2, inputMultiple: 4 },
};

const loadSafetensors = (name: string): StateDict =>
  readSafetensors(fs.readFileSync(path.join(ARCH_DIR, name, `${name}.safetensors`)), `${name}.safetensors`);

test('every fixture folder has an expectation (a new fixture must be added here)', () => {
  const folders = fs
    .readdirSync(ARCH_DIR)
    .filter((n) => fs.statSync(path.join(ARCH_DIR, n)).isDirectory())
    .sort();
  assert.deepEqual(folders, Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`${name}: detected as ${expected.arch}, ${expected.family} x${expected.scale}, from .safetensors and .pth`, async () => {
    const caseJson = JSON.parse(fs.readFileSync(path.join(ARCH_DIR, name, 'case.json'), 'utf8')) as { scale: number };
    assert.equal(caseJson.scale, expected.scale);
    for (const sd of [loadSafetensors(name), await readPth(path.join(ARCH_DIR, name, `${name}.pth`))]) {
      const { arch, detected } = detectArchitecture(sd, name);
      assert.equal(arch.name, expected.arch);
      assert.equal(detected.info.family, expected.family);
      assert.equal(detected.info.scale, expected.scale);
      assert.equal(detected.info.inputMultiple, expected.inputMultiple);
      // Exactly one module claims the weights; the others say "not mine" without throwing.
      const claims = ARCHITECTURES.filter((a) => a.detect(sd) !== null).map((a) => a.name);
      assert.deepEqual(claims, [expected.arch]);
    }
  });
}

test('describeArch names the family, scale and variant', () => {
  const { detected } = detectArchitecture(loadSafetensors('swinir_lightweight_x4'), 'x');
  const text = describeArch(detected.info);
  assert.match(text, /^SwinIR x4 — SwinIR lightweight/);
  assert.match(text, /input multiple 4/);
  assert.equal(
    describeArch({ family: 'real-esrgan', variant: 'SRVGGNetCompact', scale: 2, inputMultiple: 1, params: {} }),
    'Real-ESRGAN x2 — SRVGGNetCompact',
  );
});

test('an unknown state dict fails naming the file, what was found and every supported family', () => {
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
      return true;
    },
  );
  assert.throws(() => detectArchitecture(new Map(), 'empty.safetensors'), {
    message: /^empty\.safetensors: unknown architecture: found no tensors at all/,
  });
});

test('weights that match a layout but are inconsistent fail naming the file and the architecture', () => {
  const sd = loadSafetensors('rrdbnet_x4');
  sd.delete('conv_up1.weight');
  assert.throws(
    () => detectArchitecture(sd, 'broken.pth'),
    (e: Error) => {
      assert.match(e.message, /^broken\.pth: the weights look like rrdbnet but do not fit it: /);
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

/** A stand-in module that accepts, declines or rejects every state dict. */
function fakeArch(name: string, behaviour: 'match' | 'decline' | 'misfit'): Architecture<unknown> {
  return {
    name,
    detect: () => {
      if (behaviour === 'misfit') throw new Error(`'${name}.weight' has shape [1], expected [2]`);
      return behaviour === 'match'
        ? { info: { family: 'esrgan', variant: name, scale: 2, inputMultiple: 1, params: {} }, config: null }
        : null;
    },
    build: () => new Uint8Array(0),
  };
}

test('two modules claiming the same weights is an error naming both', () => {
  const sd: StateDict = new Map([['x', { shape: [1], data: new Float32Array(1) }]]);
  assert.throws(
    () =>
      detectAmong(
        [fakeArch('first', 'match'), fakeArch('second', 'match'), fakeArch('third', 'decline')],
        sd,
        'twice.pth',
      ),
    { message: /^twice\.pth: the weights match more than one architecture \(first, second\)/ },
  );
});

test('a module that rejects the weights is reported only when no other module accepts them', () => {
  const sd: StateDict = new Map([['x', { shape: [1], data: new Float32Array(1) }]]);
  assert.equal(detectAmong([fakeArch('picky', 'misfit'), fakeArch('right', 'match')], sd, 'a.pth').arch.name, 'right');
  assert.throws(() => detectAmong([fakeArch('picky', 'misfit'), fakeArch('other', 'decline')], sd, 'b.pth'), {
    message: "b.pth: the weights look like picky but do not fit it: 'picky.weight' has shape [1], expected [2]",
  });
});
