// A default run gives what the model gives: on a whole photo crop, the file the daemon
// writes matches onnxruntime run on the same ONNX with nothing added around the image
// (at least 60 dB 8-bit PSNR). And tiling must not change the picture: with --tile 64
// --overlap 16 on a 160x160 photo crop, the tiled result differs from the whole-image
// result by at least 45 dB (x4plus) and 55 dB (general-x4v3).
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
import { psnr, rgbSamples } from '../psnr';

let daemon: TestDaemon;
let crop: string;
let dir: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('fidelity');
  crop = path.join(dir, 'baboon-crop.png');
  await sharp(photo('baboon.jpg')).extract({ left: 200, top: 150, width: 160, height: 160 }).png().toFile(crop);
});

after(async () => {
  await daemon.stop();
});

/** The model's own output for an 8-bit RGB file: one onnxruntime run on the whole image, rounded to 8 bits. */
async function modelOwnOutput(model: string, file: string): Promise<Buffer> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const plane = info.width * info.height;
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) input[c * plane + i] = (data[i * 3 + c] as number) / 255;
  const output = await runOnnx(fs.readFileSync(path.join(builtinModelsDir(), `${model}.onnx`)), input, [
    1,
    3,
    info.height,
    info.width,
  ]);
  const values = output.data as Float32Array;
  const outPlane = values.length / 3;
  const out = Buffer.alloc(values.length);
  for (let i = 0; i < outPlane; i++)
    for (let c = 0; c < 3; c++)
      out[i * 3 + c] = Math.min(255, Math.max(0, Math.round((values[c * outPlane + i] as number) * 255)));
  return out;
}

for (const model of ['realesr-general-x4v3', 'realesrgan-x4plus']) {
  test(`${model}: a default run and --tile 0 give the model's own output (at least 60 dB against onnxruntime)`, async () => {
    const small = path.join(dir, 'fruits-72x56.png');
    await sharp(photo('fruits.jpg')).extract({ left: 100, top: 100, width: 72, height: 56 }).png().toFile(small);
    const reference = await modelOwnOutput(model, small);
    for (const extra of [{}, { tile: 0 }]) {
      const r = await daemon.connection.request(Requests.upscale, {
        input: small,
        model,
        ...extra,
        output: path.join(dir, `${model}-own-${Object.keys(extra).length}.png`),
      });
      assert.deepEqual([r.width, r.height], [288, 224]);
      assert.equal(r.plan?.padding, 'none');
      const value = psnr(await rgbSamples(r.outputPath), reference);
      process.stdout.write(`# ${model} ${JSON.stringify(extra)}: against onnxruntime ${value.toFixed(2)} dB\n`);
      assert.ok(
        value >= 60,
        `${model} ${JSON.stringify(extra)}: ${value.toFixed(2)} dB < 60 dB against the model's own output`,
      );
    }
    // The mirrored border is there when asked for, and then the result is not the model's own output.
    const mirrored = await daemon.connection.request(Requests.upscale, {
      input: small,
      model,
      tile: 0,
      padding: 'reflect',
      output: path.join(dir, `${model}-reflect.png`),
    });
    assert.equal(mirrored.plan?.padding, 'reflect');
    assert.ok(psnr(await rgbSamples(mirrored.outputPath), reference) < 60, 'a 4 px mirrored border changes the edges');
  });
}

for (const [model, bar] of [
  ['realesr-general-x4v3', 55],
  ['realesrgan-x4plus', 45],
] as const) {
  test(`${model}: tiled (64/16) vs whole image, at least ${bar} dB`, async () => {
    const whole = await daemon.connection.request(Requests.upscale, {
      input: crop,
      model,
      tile: 0,
      output: path.join(dir, `${model}-whole.png`),
    });
    const tiled = await daemon.connection.request(Requests.upscale, {
      input: crop,
      model,
      tile: 64,
      overlap: 16,
      output: path.join(dir, `${model}-tiled.png`),
    });
    assert.equal(whole.width, 640);
    assert.equal(tiled.width, 640);
    const value = psnr(await rgbSamples(whole.outputPath), await rgbSamples(tiled.outputPath));
    process.stdout.write(`# ${model}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
    assert.ok(value >= bar, `${model}: ${value.toFixed(2)} dB < ${bar} dB`);
  });
}
