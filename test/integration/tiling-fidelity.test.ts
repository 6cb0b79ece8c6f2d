// Tiling must not change the picture: with --tile 64 --overlap 16 on a 160x160 photo crop,
// the tiled result differs from the whole-image result by at least 45 dB (x4plus) and
// 55 dB (general-x4v3) 8-bit PSNR, measured on the files the daemon writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';

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

async function pixels(file: string): Promise<Buffer> {
  return sharp(file).removeAlpha().raw().toBuffer();
}

function psnr(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.length));
}

for (const [model, bar] of [['realesr-general-x4v3', 55], ['realesrgan-x4plus', 45]] as const) {
  test(`${model}: tiled (64/16) vs whole image, at least ${bar} dB`, async () => {
    const whole = await daemon.connection.request('upscale', { input: crop, model, tile: 0, output: path.join(dir, `${model}-whole.png`) });
    const tiled = await daemon.connection.request('upscale', { input: crop, model, tile: 64, overlap: 16, output: path.join(dir, `${model}-tiled.png`) });
    assert.equal(whole.width, 640);
    assert.equal(tiled.width, 640);
    const value = psnr(await pixels(whole.outputPath), await pixels(tiled.outputPath));
    process.stdout.write(`# ${model}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
    assert.ok(value >= bar, `${model}: ${value.toFixed(2)} dB < ${bar} dB`);
  });
}
