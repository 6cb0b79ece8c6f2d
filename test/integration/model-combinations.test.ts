// Models combined through the real daemon, against onnxruntime run directly on the same
// ONNX files: test-time augmentation is the mean of the model's runs on the eight flips and
// rotations of the whole image, each turned back (at least 50 dB); a blend is the two
// single-model results mixed (within 1/255); a chain is each model run in turn on the whole
// image, the intermediate kept in float (at least 45 dB), and within the seam bar in tiles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { builtinModelsDir } from '../../models/paths';
import { runOnnx } from '../fixtures';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';
import { Requests } from '../../contract/methods';
import { attr, GraphBuilder } from '../../models/onnx/graph';
import type { Sidecar } from '../../daemon/engine/sidecar';

let daemon: TestDaemon;
let dir: string;
let crop: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('combinations');
  crop = path.join(dir, 'fruits-56x40.png');
  await sharp(photo('fruits.jpg')).extract({ left: 120, top: 90, width: 56, height: 40 }).png().toFile(crop);
});

after(async () => {
  await daemon.stop();
});

/** An RGB image in float, interleaved (HWC), as the reference computes on it. */
interface Hwc {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

async function readHwc(file: string): Promise<Hwc> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: Float64Array.from(data, (v) => v / 255) };
}

function sample(img: Hwc, x: number, y: number, c: number): number {
  const v = img.data[(y * img.width + x) * 3 + c];
  assert.ok(v !== undefined, `(${x}, ${y}) is inside ${img.width}x${img.height}`);
  return v;
}

/** A quarter turn clockwise. */
function turn(img: Hwc): Hwc {
  const width = img.height;
  const height = img.width;
  const data = new Float64Array(img.data.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = sample(img, y, img.height - 1 - x, c);
  return { width, height, data };
}

function mirror(img: Hwc): Hwc {
  const data = new Float64Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let c = 0; c < 3; c++) data[(y * img.width + x) * 3 + c] = sample(img, img.width - 1 - x, y, c);
  return { ...img, data };
}

function turns(img: Hwc, k: number): Hwc {
  let out = img;
  for (let i = 0; i < k; i++) out = turn(out);
  return out;
}

/** One onnxruntime run of a built-in model (or an ONNX file) on a whole HWC image. */
async function runModel(model: string, img: Hwc): Promise<Hwc> {
  const plane = img.width * img.height;
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) input[c * plane + i] = img.data[i * 3 + c] ?? NaN;
  const onnx = fs.readFileSync(model.endsWith('.onnx') ? model : path.join(builtinModelsDir(), `${model}.onnx`));
  const out = await runOnnx(onnx, input, [1, 3, img.height, img.width]);
  const [, , height, width] = out.dims;
  assert.ok(height !== undefined && width !== undefined);
  const values = out.data as Float32Array;
  const outPlane = width * height;
  const data = new Float64Array(3 * outPlane);
  for (let i = 0; i < outPlane; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = values[c * outPlane + i] ?? NaN;
  return { width, height, data };
}

function quantise(img: Hwc): Buffer {
  return Buffer.from(Array.from(img.data, (v) => Math.min(255, Math.max(0, Math.round(v * 255)))));
}

async function pixels(file: string): Promise<Buffer> {
  return sharp(file).removeAlpha().raw().toBuffer();
}

function psnr(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] ?? NaN) - (b[i] ?? NaN)) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.length));
}

const MODEL = 'realesr-general-x4v3';

test('--tta 8 equals the mean of the model on the 8 flips and turns of the whole image, each undone (at least 50 dB against onnxruntime)', async () => {
  const img = await readHwc(crop);
  const sum = new Float64Array(img.width * 4 * img.height * 4 * 3);
  for (const flipped of [false, true])
    for (let k = 0; k < 4; k++) {
      const seen = turns(flipped ? mirror(img) : img, k);
      const back = turns(await runModel(MODEL, seen), (4 - k) % 4);
      const out = flipped ? mirror(back) : back;
      assert.deepEqual([out.width, out.height], [224, 160]);
      out.data.forEach((v, i) => (sum[i] = (sum[i] ?? NaN) + v));
    }
  const reference = quantise({ width: 224, height: 160, data: sum.map((v) => v / 8) });
  const plain = quantise(await runModel(MODEL, img));

  daemon.progress.length = 0;
  const r = await daemon.connection.request(Requests.upscale, {
    input: crop,
    model: MODEL,
    tta: 8,
    tile: 0,
    output: path.join(dir, 'tta8.png'),
  });
  assert.deepEqual([r.width, r.height], [224, 160]);
  assert.equal(r.plan?.tta, 8);
  assert.equal(r.plan?.passes[0]?.runs, 8);
  const value = psnr(await pixels(r.outputPath), reference);
  const gain = psnr(plain, reference);
  process.stdout.write(
    `# tta 8 against the mean of 8 onnxruntime runs: ${value.toFixed(2)} dB (one run: ${gain.toFixed(2)} dB)\n`,
  );
  assert.ok(value >= 50, `${value.toFixed(2)} dB`);
  // The mean is not the single run: the test can tell TTA from none.
  assert.ok(gain < value - 5, `one run against the mean: ${gain.toFixed(2)} dB`);
  const last = daemon.progress.filter((p) => p.requestId !== undefined && p.stage === 'infer').at(-1);
  assert.deepEqual([last?.done, last?.total, last?.runsPerTile], [8, 8, 8]);
});

test('--tta 4 in tiles: each tile runs 4 times, progress counts the runs, and the tiles blend as without TTA', async () => {
  daemon.progress.length = 0;
  const whole = await daemon.connection.request(Requests.upscale, {
    input: crop,
    model: MODEL,
    tta: 4,
    tile: 0,
    output: path.join(dir, 'tta4-whole.png'),
  });
  const tiled = await daemon.connection.request(Requests.upscale, {
    input: crop,
    model: MODEL,
    tta: 4,
    tile: 32,
    overlap: 8,
    output: path.join(dir, 'tta4-tiled.png'),
  });
  const pass = tiled.plan?.passes[0];
  assert.ok(pass && pass.tiles > 1, 'more than one tile');
  assert.equal(pass.runs, pass.tiles * 4);
  const updates = daemon.progress.filter((p) => p.stage === 'infer' && p.total === pass.runs);
  assert.deepEqual(
    updates.map((p) => p.done),
    Array.from({ length: pass.tiles + 1 }, (_, i) => i * 4),
  );
  const value = psnr(await pixels(tiled.outputPath), await pixels(whole.outputPath));
  process.stdout.write(`# tta 4, 32 px tiles against the whole image: ${value.toFixed(2)} dB\n`);
  assert.ok(value >= 50, `${value.toFixed(2)} dB`);
});

/** Samples of two 8-bit images mixed as a blend mixes: (1 - w) x a + w x b, rounded. */
function mixed(a: Buffer, b: Buffer, w: number): Buffer {
  assert.equal(a.length, b.length);
  return Buffer.from(Array.from(a, (v, i) => Math.round((1 - w) * v + w * (b[i] ?? NaN))));
}

function maxDiff(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return most;
}

async function single(model: string, name: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const r = await daemon.connection.request(Requests.upscale, {
    input: crop,
    model,
    scale: 4,
    output: path.join(dir, name),
    ...extra,
  });
  return pixels(r.outputPath);
}

test('--blend equals (1 - w) x A + w x B of the two single-model results, within 1/255: same scale, and another scale through Lanczos', async () => {
  const a = await single(MODEL, 'blend-a.png');
  for (const [other, weight] of [
    ['upscalerjs-esrgan-slim-x4', 0.3],
    ['upscalerjs-esrgan-slim-x3', 0.5],
  ] as const) {
    const b = await single(other, `blend-b-${other}.png`);
    const r = await daemon.connection.request(Requests.upscale, {
      input: crop,
      model: MODEL,
      scale: 4,
      blend: `${other}:${weight}`,
      output: path.join(dir, `blend-${other}.png`),
    });
    assert.deepEqual([r.width, r.height], [224, 160]);
    assert.deepEqual(r.plan?.blend, { model: other, weight });
    assert.ok(r.plan?.passes.some((p) => p.branch === 'blend' && p.model === other));
    const out = await pixels(r.outputPath);
    const diff = maxDiff(out, mixed(a, b, weight));
    process.stdout.write(
      `# blend ${MODEL} + ${other}:${weight}: max difference ${diff}/255 from the mixed single results\n`,
    );
    assert.ok(diff <= 1, `${diff}/255`);
    // The blend is neither model alone.
    assert.ok(maxDiff(out, a) > 8 && maxDiff(out, b) > 8);
  }
});

/** A 1x restoration-like model: a 3x3 smoothing per channel, half blended with the input. */
function smoothingModel(file: string): void {
  const g = new GraphBuilder('smooth-x1');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const k = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v, i) => v / 32 + (i === 4 ? 0.5 : 0));
  const weights = g.f32('weight', [...k, ...k, ...k], [3, 1, 3, 3]);
  const y = g.op('Conv', [x, weights], { group: attr.int(3), pads: attr.ints([1, 1, 1, 1]) });
  g.output(y, 'output', [1, 3, 'height', 'width']);
  fs.writeFileSync(file, g.toBytes());
}

test('a chain (-m twice or chain): the 1x model runs once at the input size, then the upscaler; each model in turn on the whole image (at least 45 dB), and in tiles', async () => {
  const onnx = path.join(dir, 'smooth-x1.onnx');
  smoothingModel(onnx);
  const imported = await daemon.connection.request(Requests.modelsImport, { path: onnx });
  const restore = imported.model.id;
  assert.equal(imported.model.scale, 1);

  const dry = await daemon.connection.request(Requests.upscale, {
    input: crop,
    chain: `${restore},${MODEL}`,
    scale: 8,
    dryRun: true,
  });
  assert.deepEqual(dry.plan?.chain, [restore, MODEL]);
  assert.deepEqual(
    dry.plan?.passes.map((p) => `${p.model} ${p.outputWidth}x${p.outputHeight}`),
    [`${restore} 56x40`, `${MODEL} 224x160`, `${MODEL} 896x640`],
  );

  const img = await readHwc(crop);
  const reference = quantise(await runModel(MODEL, await runModel(onnx, img)));
  const whole = await daemon.connection.request(Requests.upscale, {
    input: crop,
    chain: `${restore},${MODEL}`,
    tile: 0,
    sidecar: true,
    output: path.join(dir, 'chain-whole.png'),
  });
  assert.deepEqual([whole.width, whole.height, whole.passes], [224, 160, 2]);
  const value = psnr(await pixels(whole.outputPath), reference);
  const unrestored = psnr(quantise(await runModel(MODEL, img)), reference);
  process.stdout.write(
    `# chain ${restore} > ${MODEL}, whole image, against each model in turn: ${value.toFixed(2)} dB (the upscaler alone: ${unrestored.toFixed(2)} dB)\n`,
  );
  assert.ok(value >= 45, `${value.toFixed(2)} dB`);
  assert.ok(unrestored < value - 5, 'the 1x model changed the result');

  const sidecar = JSON.parse(fs.readFileSync(whole.sidecarPath ?? '', 'utf8')) as Sidecar;
  assert.deepEqual(
    sidecar.models.map((m) => [m.id, m.role, /^[0-9a-f]{64}$/.test(m.weightsSha256 ?? '')]),
    [
      [restore, 'chain', true],
      [MODEL, 'main', true],
    ],
  );

  const tiled = await daemon.connection.request(Requests.upscale, {
    input: crop,
    chain: `${restore},${MODEL}`,
    tile: 32,
    overlap: 8,
    output: path.join(dir, 'chain-tiled.png'),
  });
  const seams = psnr(await pixels(tiled.outputPath), await pixels(whole.outputPath));
  process.stdout.write(`# chain in 32 px tiles against the whole image: ${seams.toFixed(2)} dB\n`);
  assert.ok(seams >= 55, `${seams.toFixed(2)} dB`);
});
