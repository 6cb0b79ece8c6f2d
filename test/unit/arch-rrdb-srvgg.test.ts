// RRDBNet (all three key layouts) and SRVGGNetCompact against the upstream golden vectors:
// reading must give the constructor's arguments back from the weights, and the built ONNX
// must reproduce upstream's float32 output.
import { test } from 'node:test';
import { readPthBytes } from '../../models/readers/pth';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, assertMatchesGolden, readF32, maxAbsDiff, runOnnx } from '../fixtures';
import { readSafetensors } from '../../models/readers/safetensors';
import type { StateDict } from '../../models/weights/state-dict';
import { describeConfig, identify } from '../../models/architectures/detect';
import type { AnyArchitecture } from '../../models/architectures/registry';
import type { ArchitectureModule } from '../../models/architectures/types';
import { satisfies } from '../../models/weights/keys';
import { esrgan } from '../../models/architectures/esrgan';
import { compact } from '../../models/architectures/compact';

interface CaseFile {
  readonly config: Readonly<Record<string, unknown>>;
  readonly scale: number;
  readonly input_shape: readonly number[];
  readonly output_shape: readonly number[];
}

const ARCH_DIR = path.join(FIXTURES_DIR, 'arch');

function readCase(name: string): CaseFile {
  return JSON.parse(fs.readFileSync(path.join(ARCH_DIR, name, 'case.json'), 'utf8')) as CaseFile;
}

function loadWeights(name: string): StateDict {
  const file = path.join(ARCH_DIR, name, `${name}.safetensors`);
  return readSafetensors(new Uint8Array(fs.readFileSync(file)), file);
}

/** A module's configuration read from `sd` (throwing as the module does), and the registry's view of it. */
function read<C>(module: ArchitectureModule<AnyArchitecture['id'], C>, sd: StateDict) {
  const config = module.readConfig(sd);
  return { config, info: describeConfig(module, config) };
}

interface GoldenCase {
  readonly name: string;
  readonly arch: AnyArchitecture;
  readonly family: string;
  /** case.json config keys that detection reads from the weights, under the same names. */
  readonly params: readonly string[];
  readonly scaleKey: string;
}

const CASES: readonly GoldenCase[] = [
  {
    name: 'rrdbnet_x4',
    arch: esrgan,
    family: 'esrgan',
    params: ['num_in_ch', 'num_out_ch', 'num_feat', 'num_block', 'num_grow_ch'],
    scaleKey: 'scale',
  },
  {
    name: 'rrdbnet_x2',
    arch: esrgan,
    family: 'esrgan',
    params: ['num_in_ch', 'num_out_ch', 'num_feat', 'num_block', 'num_grow_ch'],
    scaleKey: 'scale',
  },
  {
    name: 'esrgan_old_x4',
    arch: esrgan,
    family: 'esrgan',
    params: ['in_nc', 'out_nc', 'nf', 'nb', 'gc'],
    scaleKey: 'upscale',
  },
  {
    name: 'srvgg_x4',
    arch: compact,
    family: 'real-esrgan',
    params: ['num_in_ch', 'num_out_ch', 'num_feat', 'num_conv', 'act_type'],
    scaleKey: 'upscale',
  },
];

async function checkGolden(c: GoldenCase, sd: StateDict, source: string): Promise<void> {
  const golden = readCase(c.name);
  const identity = identify(sd);
  assert.ok(identity?.kind === 'converted' && identity.module === c.arch, `${c.arch.label} recognises ${c.name}`);
  const detected = read(c.arch, sd);
  assert.equal(detected.info.family, c.family);
  assert.equal(detected.info.scale, golden.scale);
  assert.equal(detected.info.scale, golden.config[c.scaleKey]);
  assert.equal(detected.info.params[c.scaleKey], golden.config[c.scaleKey]);
  assert.equal(detected.info.inputMultiple, 1);
  for (const key of c.params) assert.equal(detected.info.params[key], golden.config[key], `param ${key}`);

  const files = {
    input: 'input.f32',
    output: 'output.f32',
    input_shape: golden.input_shape,
    output_shape: golden.output_shape,
  };
  await assertMatchesGolden(
    c.arch.build(sd, detected.config),
    path.join(ARCH_DIR, c.name),
    files,
    `${c.name} (${source})`,
  );
}

for (const c of CASES) {
  test(`${c.name}: detection reads the upstream config, the ONNX matches upstream`, async () => {
    await checkGolden(c, loadWeights(c.name), 'safetensors');
  });
}

for (const c of CASES) {
  test(`${c.name} from .pth gives the same result`, async () => {
    const file = path.join(ARCH_DIR, c.name, `${c.name}.pth`);
    await checkGolden(c, readPthBytes(new Uint8Array(fs.readFileSync(file)), file), 'pth');
  });
}

test('rrdbnet_x2 takes an odd-sized input (reflect-padded inside the graph) and returns exactly 2x', async () => {
  const sd = loadWeights('rrdbnet_x2');
  const detected = read(esrgan, sd);
  const [h, w] = [13, 17];
  const input = new Float32Array(3 * h * w).map((_, i) => ((i * 37) % 101) / 100);
  const output = await runOnnx(esrgan.build(sd, detected.config), input, [1, 3, h, w]);
  assert.deepEqual(output.dims, [1, 3, 2 * h, 2 * w]);
  assert.ok((output.data as Float32Array).every(Number.isFinite));
});

/** Torch's F.pad(x, (0, padW, 0, padH), 'reflect') on a [3, h, w] image: mirrors without repeating the edge. */
function reflectPadBottomRight(x: Float32Array, h: number, w: number, padH: number, padW: number): Float32Array {
  const [ph, pw] = [h + padH, w + padW];
  const out = new Float32Array(3 * ph * pw);
  const mirror = (i: number, n: number): number => (i < n ? i : 2 * (n - 1) - i);
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < ph; y++) {
      for (let xx = 0; xx < pw; xx++)
        out[(ch * ph + y) * pw + xx] = x[(ch * h + mirror(y, h)) * w + mirror(xx, w)] as number;
    }
  }
  return out;
}

test('an odd size gives what Real-ESRGAN gives: reflect-pad bottom/right, run, crop the top-left', async () => {
  const sd = loadWeights('rrdbnet_x2');
  const detected = read(esrgan, sd);
  const onnx = esrgan.build(sd, detected.config);
  const [h, w] = [11, 19];
  const input = new Float32Array(3 * h * w).map((_, i) => ((i * 53) % 97) / 96);
  const odd = await runOnnx(onnx, input, [1, 3, h, w]);
  assert.deepEqual(odd.dims, [1, 3, 2 * h, 2 * w]);
  const padded = (await runOnnx(onnx, reflectPadBottomRight(input, h, w, 1, 1), [1, 3, h + 1, w + 1]))
    .data as Float32Array;
  const [oh, ow, pw] = [2 * h, 2 * w, 2 * (w + 1)];
  const expected = new Float32Array(3 * oh * ow);
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) expected[(ch * oh + y) * ow + x] = padded[(ch * 2 * (h + 1) + y) * pw + x] as number;
  }
  const diff = maxAbsDiff(odd.data as Float32Array, expected);
  console.log(`odd input vs manual reflect pad + crop: max abs ${diff.toExponential(3)}`);
  assert.ok(diff < 1e-5, `in-graph padding differs from explicit reflect padding by ${diff}`);
});

test("each architecture's keys do not match another family's weights", () => {
  const srvggWeights = loadWeights('srvgg_x4');
  const newRrdb = loadWeights('rrdbnet_x4');
  const oldRrdb = loadWeights('esrgan_old_x4');
  assert.equal(satisfies(srvggWeights, esrgan.keys), false);
  assert.equal(satisfies(newRrdb, compact.keys), false);
  assert.equal(satisfies(oldRrdb, compact.keys), false);
  assert.equal(satisfies(new Map(), esrgan.keys), false);
  // The RRDBNet layouts are one architecture.
  const convertedBy = (sd: StateDict): string | undefined => {
    const identity = identify(sd);
    return identity?.kind === 'converted' ? identity.module.id : undefined;
  };
  assert.deepEqual([newRrdb, oldRrdb, srvggWeights].map(convertedBy), ['esrgan', 'esrgan', 'compact']);
});

function without(sd: StateDict, key: string): StateDict {
  assert.ok(sd.has(key), `fixture has ${key}`);
  const copy = new Map(sd);
  copy.delete(key);
  return copy;
}

test("a state dict missing a middle block's tensor is an error naming the key", () => {
  const key = 'body.0.rdb2.conv1.weight';
  assert.throws(
    () => read(esrgan, without(loadWeights('rrdbnet_x4'), key)),
    new RegExp(`no tensor '${key.replace(/\./g, '\\.')}'`),
  );
  const oldKey = 'model.1.sub.0.RDB2.conv3.0.bias';
  assert.throws(
    () => read(esrgan, without(loadWeights('esrgan_old_x4'), oldKey)),
    new RegExp(`no tensor '${oldKey.replace(/\./g, '\\.')}'`),
  );
  assert.throws(() => read(compact, without(loadWeights('srvgg_x4'), 'body.4.weight')), /'body\.4\.weight'/);
  assert.throws(() => read(compact, without(loadWeights('srvgg_x4'), 'body.5.weight')), /'body\.5\.weight'/);
  assert.throws(
    () => read(esrgan, without(loadWeights('rrdbnet_x4'), 'conv_up1.weight')),
    /no tensor 'conv_up1\.weight'/,
  );
  assert.throws(
    () => read(esrgan, without(loadWeights('rrdbnet_x4'), 'conv_up2.weight')),
    /no tensor 'conv_up2\.weight'/,
  );
  assert.throws(() => read(esrgan, without(loadWeights('esrgan_old_x4'), 'model.6.weight')), /model\.6/);
});

test('a tensor of the wrong shape is an error naming the key, the shape found and the one expected', () => {
  const sd = new Map(loadWeights('rrdbnet_x4'));
  const key = 'body.1.rdb3.conv4.weight';
  sd.set(key, { shape: [8, 41, 3, 3], data: new Float32Array(8 * 41 * 9) });
  assert.throws(
    () => read(esrgan, sd),
    /'body\.1\.rdb3\.conv4\.weight' has shape \[8, 41, 3, 3\], expected \[8, 40, 3, 3\]/,
  );
});

test('an unknown extra tensor is an error, not silently ignored', () => {
  const sd = new Map(loadWeights('rrdbnet_x4'));
  sd.set('body.0.rdb1.conv1x1.weight', { shape: [16, 16, 1, 1], data: new Float32Array(256) });
  assert.throws(() => read(esrgan, sd), /unexpected tensor 'body\.0\.rdb1\.conv1x1\.weight'/);
});

/** Re-keys a BasicSR state dict into the 2018 layout, adding `stages` upsample convs. */
function renameToOldLayout(sd: StateDict, numBlock: number, stages: number): StateDict {
  const out: StateDict = new Map();
  const ups = Array.from({ length: stages }, (_, i) => `model.${3 + 3 * i}`);
  const hr = 3 * stages + 2;
  for (const [key, t] of sd) {
    let m: RegExpExecArray | null;
    let renamed: string | undefined;
    if ((m = /^conv_first\.(weight|bias)$/.exec(key))) renamed = `model.0.${m[1]}`;
    else if ((m = /^body\.(\d+)\.rdb(\d)\.conv(\d)\.(weight|bias)$/.exec(key)))
      renamed = `model.1.sub.${m[1]}.RDB${m[2]}.conv${m[3]}.0.${m[4]}`;
    else if ((m = /^conv_body\.(weight|bias)$/.exec(key))) renamed = `model.1.sub.${numBlock}.${m[1]}`;
    else if ((m = /^conv_up(\d)\.(weight|bias)$/.exec(key))) {
      const i = Number(m[1]) - 1;
      if (i < stages) renamed = `${ups[i]}.${m[2]}`;
    } else if ((m = /^conv_hr\.(weight|bias)$/.exec(key))) renamed = `model.${hr}.${m[1]}`;
    else if ((m = /^conv_last\.(weight|bias)$/.exec(key))) renamed = `model.${hr + 2}.${m[1]}`;
    if (renamed) out.set(renamed, t);
  }
  for (let i = 0; i < stages; i++) {
    if (!out.has(`${ups[i]}.weight`)) {
      out.set(`${ups[i]}.weight`, sd.get('conv_up1.weight')!);
      out.set(`${ups[i]}.bias`, sd.get('conv_up1.bias')!);
    }
  }
  return out;
}

test('the 2018 layout reads x2, x8 and x1 from its key indices, and the BasicSR layout x8 from conv_up3', async () => {
  const basicsr = loadWeights('rrdbnet_x4');
  for (const [stages, scale] of [
    [1, 2],
    [3, 8],
    [0, 1],
  ] as const) {
    const sd = renameToOldLayout(basicsr, 2, stages);
    const detected = read(esrgan, sd);
    assert.equal(detected.info.scale, scale, `${stages} stages`);
    const output = await runOnnx(
      esrgan.build(sd, detected.config),
      new Float32Array(3 * 5 * 7).fill(0.5),
      [1, 3, 5, 7],
    );
    assert.deepEqual(output.dims, [1, 3, 5 * scale, 7 * scale]);
    if (scale === 2) {
      // x3 models have x2's keys; the caller who knows says so in the config.
      const x3 = await runOnnx(
        esrgan.build(sd, { ...detected.config, upsampleFactor: 3, scale: 3 }),
        new Float32Array(3 * 5 * 7).fill(0.5),
        [1, 3, 5, 7],
      );
      assert.deepEqual(x3.dims, [1, 3, 15, 21]);
    }
  }

  const x8 = new Map(basicsr);
  x8.set('conv_up3.weight', basicsr.get('conv_up1.weight')!);
  x8.set('conv_up3.bias', basicsr.get('conv_up1.bias')!);
  const detected = read(esrgan, x8);
  assert.equal(detected.info.scale, 8);
  const output = await runOnnx(esrgan.build(x8, detected.config), new Float32Array(3 * 4 * 6).fill(0.5), [1, 3, 4, 6]);
  assert.deepEqual(output.dims, [1, 3, 32, 48]);
});

test('the 2018 layout gives the same output as the BasicSR layout for the same weights', async () => {
  const basicsr = loadWeights('rrdbnet_x4');
  const old = renameToOldLayout(basicsr, 2, 2);
  const a = read(esrgan, basicsr);
  const b = read(esrgan, old);
  assert.deepEqual({ ...b.config, layout: 'basicsr' }, a.config);
  const input = readF32(path.join(ARCH_DIR, 'rrdbnet_x4', 'input.f32'));
  const ya = (await runOnnx(esrgan.build(basicsr, a.config), input, [1, 3, 16, 16])).data as Float32Array;
  const yb = (await runOnnx(esrgan.build(old, b.config), input, [1, 3, 16, 16])).data as Float32Array;
  assert.equal(maxAbsDiff(ya, yb), 0);
});

test('the 2019 ESRGAN / BSRGAN names (RRDB_trunk, trunk_conv, upconvN, HRconv) build the same network', async () => {
  const basicsr = loadWeights('rrdbnet_x4');
  const renames: readonly [RegExp, string][] = [
    [/^body\.(\d+)\.rdb(\d)\./, 'RRDB_trunk.$1.RDB$2.'],
    [/^conv_body\./, 'trunk_conv.'],
    [/^conv_up(\d)\./, 'upconv$1.'],
    [/^conv_hr\./, 'HRconv.'],
  ];
  const renamed: StateDict = new Map(
    [...basicsr].map(([k, t]) => [renames.reduce((key, [from, to]) => key.replace(from, to), k), t]),
  );
  assert.ok(renamed.has('RRDB_trunk.1.RDB3.conv5.bias') && renamed.has('upconv2.weight') && renamed.has('HRconv.bias'));
  const a = read(esrgan, basicsr);
  const b = read(esrgan, renamed);
  assert.equal(b.config.layout, 'esrgan-2019');
  assert.deepEqual({ ...b.config, layout: 'basicsr' }, a.config);
  const input = readF32(path.join(ARCH_DIR, 'rrdbnet_x4', 'input.f32'));
  const ya = (await runOnnx(esrgan.build(basicsr, a.config), input, [1, 3, 16, 16])).data as Float32Array;
  const yb = (await runOnnx(esrgan.build(renamed, b.config), input, [1, 3, 16, 16])).data as Float32Array;
  assert.equal(maxAbsDiff(ya, yb), 0);
  assert.throws(
    () => read(esrgan, without(renamed, 'RRDB_trunk.1.RDB1.conv2.weight')),
    /no tensor 'RRDB_trunk\.1\.RDB1\.conv2\.weight'/,
  );
});

test('x1 (pixel_unshuffle 4) RRDBNet pads any size to a multiple of 4 and crops back', async () => {
  // Synthesised: conv_first of the x4 fixture widened to 48 input channels.
  const sd = new Map(loadWeights('rrdbnet_x4'));
  const first = sd.get('conv_first.weight')!;
  const [nf] = first.shape as [number];
  sd.set('conv_first.weight', {
    shape: [nf, 48, 3, 3],
    data: new Float32Array(nf * 48 * 9).map((_, i) => Math.sin(i) * 0.05),
  });
  const detected = read(esrgan, sd);
  assert.equal(detected.info.scale, 1);
  assert.equal(detected.info.params['pixel_unshuffle'], 4);
  const output = await runOnnx(
    esrgan.build(sd, detected.config),
    new Float32Array(3 * 9 * 14).fill(0.25),
    [1, 3, 9, 14],
  );
  assert.deepEqual(output.dims, [1, 3, 9, 14]);
});

test('SRVGGNetCompact without PReLU weights is read as ReLU; LeakyReLU can be chosen in the config', async () => {
  const sd = new Map([...loadWeights('srvgg_x4')].filter(([k]) => !/^body\.\d*[13579]\.weight$/.test(k)));
  const detected = read(compact, sd);
  assert.equal(detected.config.activation, 'relu');
  assert.equal(detected.config.numConv, 4);
  const input = readF32(path.join(ARCH_DIR, 'srvgg_x4', 'input.f32'));
  const relu = (await runOnnx(compact.build(sd, detected.config), input, [1, 3, 12, 16])).data as Float32Array;
  const leaky = (
    await runOnnx(compact.build(sd, { ...detected.config, activation: 'leakyrelu' }), input, [1, 3, 12, 16])
  ).data as Float32Array;
  assert.equal(relu.length, 3 * 48 * 64);
  assert.ok(maxAbsDiff(relu, leaky) > 0, 'LeakyReLU differs from ReLU');
});
