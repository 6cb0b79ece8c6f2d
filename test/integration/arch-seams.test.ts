// Tiling must not show in what the newer architectures give: each spandrel fixture model
// (random weights at trained-like magnitudes, so the output is no picture, but every layer
// is live) is imported, and the daemon upscales a 160x160 photo crop with --tile 64
// --overlap 16 and as one whole image; the two must agree to at least 40 dB (8-bit PSNR).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { FIXTURES_DIR } from '../fixtures';
import { importModel } from '../../models/import';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';

const MODELS: readonly { readonly name: string; readonly scale: number; readonly todo?: string }[] = [
  { name: 'rcan_x4', scale: 4 },
  { name: 'realcugan_up2x', scale: 2 },
  { name: 'realcugan_up4x', scale: 4 },
  { name: 'swiftsrgan_x4', scale: 4 },
  { name: 'mmrealsr_x4', scale: 4 },
];
const SEAM_BAR_DB = 40;
const CROP = 160;

let daemon: TestDaemon;
let dir: string;
let crop: string;

before(async () => {
  dir = tempDir('seams');
  const modelsDir = path.join(dir, 'models');
  for (const { name } of MODELS) {
    await importModel(path.join(FIXTURES_DIR, 'spandrel', name, `${name}.safetensors`), modelsDir);
  }
  daemon = startDaemon({ UPSCALE_MODELS_DIR: modelsDir });
  crop = path.join(dir, 'baboon-crop.png');
  await sharp(photo('baboon.jpg')).extract({ left: 200, top: 150, width: CROP, height: CROP }).png().toFile(crop);
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

for (const { name: model, scale, todo } of MODELS) {
  test(`${model}: tiled (64/16) vs whole image, at least ${SEAM_BAR_DB} dB`, { todo }, async () => {
    const run = (tile: object, name: string) =>
      daemon.connection.request('upscale', { input: crop, model, scale, ...tile, output: path.join(dir, name) });
    const whole = await run({ tile: 0 }, `${model}-whole.png`);
    const tiled = await run({ tile: 64, overlap: 16 }, `${model}-tiled.png`);
    assert.deepEqual([whole.width, tiled.width], [CROP * scale, CROP * scale]);
    const value = psnr(await pixels(whole.outputPath), await pixels(tiled.outputPath));
    process.stdout.write(`# ${model}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
    assert.ok(value >= SEAM_BAR_DB, `${model}: ${value.toFixed(2)} dB < ${SEAM_BAR_DB} dB`);
  });
}
