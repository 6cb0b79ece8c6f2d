// ONNX files as users download them, through the real daemon: exports made the way chaiNNer
// makes them (test/fixtures/onnx-import/make_fixtures.py) are imported with models/import and
// run with upscale on a 16-bit PNG; the written image must match PyTorch's whole-image output
// (fp32: relative L2 < 1e-3; fp16: 8-bit PSNR >= 45 dB). A fixed-size export is cut into tiles
// of exactly its size. Files that are not image-to-image models are refused, naming the file.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { Requests } from '../../contract/methods';
import { DaemonError } from '../../contract/errors';
import { REPO_ROOT, relativeL2 } from '../fixtures';
import type { ModelRecord } from '../../models/registry';
import type { UpscaleResult } from '../../contract/protocol';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'onnx-import');
const CASE = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'case.json'), 'utf8')) as {
  height: number;
  width: number;
  scale: number;
  fixed: number;
};

let daemon: TestDaemon;
let modelsDir: string;
let work: string;
let input: string;

function readU16(name: string): Uint16Array {
  const bytes = fs.readFileSync(path.join(FIXTURES, name));
  return new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

before(async () => {
  modelsDir = tempDir('onnx-import-models');
  work = tempDir('onnx-import');
  daemon = startDaemon({ UPSCALE_MODELS_DIR: modelsDir });
  input = path.join(work, 'scene.png');
  await sharp(readU16('input.u16'), { raw: { width: CASE.width, height: CASE.height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(input);
});

after(async () => {
  await daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

async function importFixture(file: string): Promise<ModelRecord> {
  const { model } = await daemon.connection.request(Requests.modelsImport, { path: path.join(FIXTURES, file) });
  return JSON.parse(fs.readFileSync(path.join(modelsDir, `${model.id}.json`), 'utf8')) as ModelRecord;
}

async function upscale(
  model: string,
  image: string,
  extra: { tile?: number; overlap?: number } = {},
): Promise<{ result: UpscaleResult; pixels: Uint16Array }> {
  const output = path.join(work, `${model}-${path.basename(image)}`);
  const result = await daemon.connection.request(Requests.upscale, { input: image, output, model, ...extra });
  const { data, info } = await sharp(output)
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.deepEqual([info.width, info.height], [result.width, result.height]);
  return { result, pixels: new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) };
}

const toUnit = (v: Uint16Array): Float32Array => Float32Array.from(v, (x) => x / 65535);

/** PSNR of the two images quantised to 8 bits, as a viewer sees them. */
function psnr8(a: Uint16Array, b: Uint16Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.round(((a[i] ?? 0) * 255) / 65535) - Math.round(((b[i] ?? 0) * 255) / 65535);
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

const figures: string[] = [];
after(() => console.log(`ONNX import figures (through the daemon, CPU):\n  ${figures.join('\n  ')}`));

function expectFp32(name: string, pixels: Uint16Array, reference: Uint16Array): void {
  assert.equal(pixels.length, reference.length);
  const rel = relativeL2(toUnit(pixels), toUnit(reference));
  figures.push(`${name}: rel L2 ${rel.toExponential(2)}`);
  assert.ok(rel < 1e-3, `${name}: relative L2 ${rel} against PyTorch`);
}

function expectFp16(name: string, pixels: Uint16Array, reference: Uint16Array): void {
  assert.equal(pixels.length, reference.length);
  const db = psnr8(pixels, reference);
  figures.push(`${name}: 8-bit PSNR ${db.toFixed(1)} dB`);
  assert.ok(db >= 45, `${name}: 8-bit PSNR ${db} dB against PyTorch's fp32 output`);
}

const outputSize = [CASE.width * CASE.scale, CASE.height * CASE.scale];

test('fp32 exports with dynamic sizes, other names, opset 11, 17 and 20 and NHWC match PyTorch', async () => {
  const compact = readU16('ref-compact.u16');
  const cases: Array<[string, Uint16Array, Partial<ModelRecord['io']>]> = [
    ['compact-x2.onnx', compact, { input: 'input', output: 'output', layout: 'nchw', element: 'float32' }],
    ['compact-x2-renamed.onnx', compact, { input: 'lr_image', output: 'sr_image' }],
    ['compact-x2-renamed-opset20.onnx', compact, { input: 'lr_image', output: 'sr_image' }],
    ['compact-x2-nhwc.onnx', compact, { layout: 'nhwc', element: 'float32' }],
    ['span-x2-opset11.onnx', readU16('ref-span.u16'), { layout: 'nchw' }],
  ];
  for (const [file, reference, io] of cases) {
    const record = await importFixture(file);
    assert.equal(record.scale, CASE.scale, file);
    assert.equal(record.inputMultiple, 1, file);
    for (const [key, value] of Object.entries(io ?? {}))
      assert.deepEqual(record.io?.[key as keyof typeof io], value, file);
    assert.equal(record.io?.fixedSize, undefined, file);
    const { result, pixels } = await upscale(record.id, input);
    assert.deepEqual([result.width, result.height], outputSize, file);
    expectFp32(file, pixels, reference);
  }
  const opset11 = await daemon.connection.request(Requests.modelsList, {});
  assert.match(opset11.models.find((m) => m.id === 'span-x2-opset11')?.variant ?? '', /opset 11/);
});

test('fp16 exports take and give float16 at the boundary and match the fp32 PyTorch output', async () => {
  const record = await importFixture('compact-x2-fp16.onnx');
  assert.equal(record.io?.element, 'float16');
  assert.match(record.variant, /fp16/);
  const { result, pixels } = await upscale(record.id, input);
  assert.deepEqual([result.width, result.height], outputSize);
  expectFp16('compact-x2-fp16.onnx', pixels, readU16('ref-compact.u16'));
});

test('a fixed-size export is cut into tiles of exactly its size and matches the whole-image output', async () => {
  for (const [file, half] of [
    ['compact-x2-fixed64.onnx', false],
    ['compact-x2-fixed64-fp16.onnx', true],
  ] as const) {
    const record = await importFixture(file);
    assert.deepEqual(record.io?.fixedSize, { width: CASE.fixed, height: CASE.fixed }, file);
    assert.equal(record.scale, CASE.scale, file);
    const { result, pixels } = await upscale(record.id, input);
    const [pass] = result.plan?.passes ?? [];
    assert.ok(pass, file);
    assert.deepEqual([pass.tileWidth, pass.tileHeight], [CASE.fixed, CASE.fixed], file);
    assert.ok(pass.columns >= 2 && pass.rows >= 2, `${file}: ${pass.columns}x${pass.rows} tiles`);
    assert.deepEqual([result.width, result.height], outputSize, file);
    // Compact sees 6 px around each pixel, less than the 16 px of context each tile has: the
    // tiles' blend is the whole-image output.
    (half ? expectFp16 : expectFp32)(`${file}, ${pass.columns}x${pass.rows} tiles`, pixels, readU16('ref-compact.u16'));
  }
  // An image smaller than the size is padded up to it, and cropped back.
  const small = path.join(work, 'small.png');
  await sharp(input).extract({ left: 0, top: 0, width: 40, height: 30 }).toFile(small);
  const { result } = await upscale('compact-x2-fixed64', small);
  assert.deepEqual([result.width, result.height], [80, 60]);
  // A tile that cannot fit the fixed size is refused, not changed.
  await assert.rejects(
    daemon.connection.request(Requests.upscale, {
      input,
      output: path.join(work, 'x.png'),
      model: 'compact-x2-fixed64',
      tile: 64,
    }),
    (e: unknown) => e instanceof DaemonError && e.errorName === 'InvalidParams' && /fixed 64x64 input/.test(e.message),
  );
});

test('files that are not image-to-image models are refused with ModelInvalid, naming the file and the reason', async () => {
  const cases: Array<[string, RegExp]> = [
    ['refuse-two-inputs.onnx', /not an image-to-image model: it has 2 inputs \('input', 'noise'\)/],
    [
      'refuse-video-frames.onnx',
      /not an image-to-image model: input 'frames' has rank 5 \[1, 5, 3, height, width\], a stack of frames/,
    ],
    [
      'refuse-classifier.onnx',
      /not an image-to-image model: output 'scores' has rank 2 \[1, 10\], which is not an image/,
    ],
  ];
  const before = fs.readdirSync(modelsDir).sort();
  for (const [file, reason] of cases) {
    const full = path.join(FIXTURES, file);
    await assert.rejects(daemon.connection.request(Requests.modelsImport, { path: full }), (e: unknown) => {
      assert.ok(e instanceof DaemonError, String(e));
      assert.equal(e.errorName, 'ModelInvalid', e.message);
      assert.ok(e.message.startsWith(`${full}: `), e.message);
      assert.match(e.message, reason);
      return true;
    });
  }
  assert.deepEqual(fs.readdirSync(modelsDir).sort(), before, 'nothing is written for a refused file');
});
