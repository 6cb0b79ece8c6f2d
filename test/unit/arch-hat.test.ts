// HAT against the upstream golden vector: detection reads the constructor's arguments
// back from the weights, and the built ONNX reproduces upstream's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, assertMatchesGolden, maxAbsDiff, readF32, runOnnx, type GoldenCase } from '../fixtures';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPthBytes } from '../../models/readers/pth';
import type { StateDict } from '../../models/weights/state-dict';
import { hat, overlapRelativePositionIndex } from '../../models/architectures/hat';
import { describeConfig, identify } from '../../models/architectures/detect';
import { satisfies } from '../../models/weights/keys';

interface HATCaseJson {
  readonly config: {
    readonly upscale: number;
    readonly in_chans: number;
    readonly window_size: number;
    readonly compress_ratio: number;
    readonly squeeze_factor: number;
    readonly conv_scale: number;
    readonly overlap_ratio: number;
    readonly img_range: number;
    readonly depths: readonly number[];
    readonly embed_dim: number;
    readonly num_heads: readonly number[];
    readonly mlp_ratio: number;
    readonly upsampler: string;
    readonly resi_connection: string;
  };
  readonly cases: readonly GoldenCase[];
}

const NAME = 'hat_x4';
const DIR = path.join(FIXTURES_DIR, 'arch', NAME);

function loadWeights(): StateDict {
  return readSafetensors(fs.readFileSync(path.join(DIR, `${NAME}.safetensors`)), NAME);
}

test('hat_x4: detect reads the upstream config and the graph matches the golden output', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(DIR, 'case.json'), 'utf8')) as HATCaseJson;
  const sd = loadWeights();
  const c = hat.readConfig(sd);
  const e = json.config;
  assert.equal(c.head.scale, e.upscale);
  assert.equal(c.inChannels, e.in_chans);
  assert.equal(c.windowSize, e.window_size);
  assert.equal(c.compressRatio, e.compress_ratio);
  assert.equal(c.squeezeFactor, e.squeeze_factor);
  assert.equal(c.convScale, e.conv_scale);
  assert.equal(c.overlapRatio, e.overlap_ratio);
  assert.equal(c.imgRange, e.img_range);
  assert.deepEqual(c.depths, e.depths);
  assert.equal(c.embedDim, e.embed_dim);
  assert.deepEqual(c.numHeads, e.num_heads);
  assert.equal(c.mlpRatio, e.mlp_ratio);
  assert.equal(c.head.upsampler, e.upsampler);
  assert.equal(c.resiConnection, e.resi_connection);
  const info = describeConfig(hat, c);
  assert.equal(info.family, 'hat');
  assert.equal(info.inputMultiple, e.window_size);

  const model = hat.build(sd, c);
  for (const golden of json.cases) await assertMatchesGolden(model, DIR, golden, NAME);
});

test('hat_x4: the .pth checkpoint detects and runs the same as the safetensors', async () => {
  const fromPth = readPthBytes(fs.readFileSync(path.join(DIR, `${NAME}.pth`)), NAME);
  const config = hat.readConfig(fromPth);
  assert.deepEqual(config, hat.readConfig(loadWeights()));
  const json = JSON.parse(fs.readFileSync(path.join(DIR, 'case.json'), 'utf8')) as HATCaseJson;
  await assertMatchesGolden(hat.build(fromPth, config), DIR, json.cases[0] as GoldenCase, `${NAME} (.pth)`);
});

test('hat: the overlapping-attention index matches the stored buffer', () => {
  const stored = loadWeights().get('relative_position_index_OCA');
  assert.ok(stored);
  const computed = overlapRelativePositionIndex(4, 6);
  assert.deepEqual(Array.from(stored.data, Number), Array.from(computed));
});

test('hat: inputs that are not a multiple of the window are padded inside the graph', async () => {
  const sd = loadWeights();
  const model = hat.build(sd, hat.readConfig(sd));
  for (const [h, w] of [
    [13, 18],
    [5, 7],
    [8, 4],
    [1, 1],
    [2, 3],
    [1, 9],
  ] as const) {
    const input = new Float32Array(3 * h * w).map((_, i) => ((i * 37) % 101) / 100);
    const out = await runOnnx(model, input, [1, 3, h, w]);
    assert.deepEqual(out.dims, [1, 3, 4 * h, 4 * w]);
    assert.ok((out.data as Float32Array).every(Number.isFinite));
  }
});

test("hat: internal padding equals reflect-padding outside and cropping, as HAT's model wrapper does", async () => {
  const sd = loadWeights();
  const model = hat.build(sd, hat.readConfig(sd));
  const [h, w, ph, pw] = [13, 10, 16, 12];
  const fixtureInput = readF32(path.join(DIR, 'input.f32'));
  // Take the top-left 13x10 of the fixture input, then reflect-pad it to 16x12 by hand.
  const image = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) image[(c * h + y) * w + x] = fixtureInput[(c * 16 + y) * 12 + x] as number;
  const reflect = (i: number, n: number): number => (i < n ? i : 2 * (n - 1) - i);
  const padded = new Float32Array(3 * ph * pw);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < ph; y++)
      for (let x = 0; x < pw; x++) {
        padded[(c * ph + y) * pw + x] = image[(c * h + reflect(y, h)) * w + reflect(x, w)] as number;
      }
  const direct = (await runOnnx(model, image, [1, 3, h, w])).data as Float32Array;
  const full = (await runOnnx(model, padded, [1, 3, ph, pw])).data as Float32Array;
  const cropped = new Float32Array(direct.length);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 4 * h; y++)
      for (let x = 0; x < 4 * w; x++) {
        cropped[(c * 4 * h + y) * 4 * w + x] = full[(c * 4 * ph + y) * 4 * pw + x] as number;
      }
  assert.ok(maxAbsDiff(direct, cropped) < 1e-5, `max abs ${maxAbsDiff(direct, cropped)}`);
});

test("hat: SwinIR and foreign weights do not have HAT's keys", () => {
  const swinirWeights = readSafetensors(
    fs.readFileSync(path.join(FIXTURES_DIR, 'arch', 'swinir_classical_x2', 'swinir_classical_x2.safetensors')),
    'swinir_classical_x2',
  );
  assert.equal(satisfies(swinirWeights, hat.keys), false);
  const foreign: StateDict = new Map([
    ['conv_first.weight', { shape: [16, 3, 3, 3], data: new Float32Array(16 * 27) }],
  ]);
  assert.equal(satisfies(foreign, hat.keys), false);
});

test('hat: a missing tensor is reported by name', () => {
  for (const missing of [
    'layers.0.residual_group.blocks.1.conv_block.cab.2.weight',
    'layers.0.residual_group.overlap_attn.proj.bias',
    'conv_first.weight',
    'upsample.2.bias',
    'conv_last.bias',
  ]) {
    const broken = new Map(loadWeights());
    broken.delete(missing);
    assert.throws(
      () => hat.readConfig(broken),
      (e: Error) => e.message.includes(missing),
      missing,
    );
  }
});

test('hat: golden weights of every other family are not identified as HAT', () => {
  const own = new Set(['hat_x4']);
  const others = fs
    .readdirSync(path.join(FIXTURES_DIR, 'arch'))
    .filter((d) => !own.has(d) && fs.existsSync(path.join(FIXTURES_DIR, 'arch', d, `${d}.safetensors`)));
  assert.ok(others.length >= 5, `found ${others.length} other fixtures`);
  for (const name of others) {
    const sd = readSafetensors(fs.readFileSync(path.join(FIXTURES_DIR, 'arch', name, `${name}.safetensors`)), name);
    const identity = identify(sd);
    assert.ok(identity?.kind === 'converted' && identity.module.id !== 'hat', name);
  }
});
