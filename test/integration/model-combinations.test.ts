// Models combined through the real daemon, against onnxruntime run directly on the same
// ONNX files: test-time augmentation is the mean of the model's runs on the eight flips and
// rotations of the whole image, each turned back (at least 50 dB).
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

/** One onnxruntime run of a built-in model on a whole HWC image. */
async function runModel(model: string, img: Hwc): Promise<Hwc> {
  const plane = img.width * img.height;
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) input[c * plane + i] = img.data[i * 3 + c] ?? NaN;
  const onnx = fs.readFileSync(path.join(builtinModelsDir(), `${model}.onnx`));
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
