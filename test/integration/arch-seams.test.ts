// Tiling must not show in what the newer architectures give: each spandrel fixture model
// (random weights at trained-like magnitudes, so the output is no picture, but every layer
// is live) is imported, and the daemon upscales a 160x160 photo crop with --tile 64
// --overlap 16 and as one whole image; the two must agree to at least 40 dB (8-bit PSNR).
// Tiles of 64 meet every size requirement here: RGT's 16 px minimum and ATD's 8 outright,
// DRCT's multiple of 16 by the engine padding each tile to the model's input multiple.
//
// RGT and ATD do not reach it, and no blending can make them: part of each is global. RG-SA
// attends to a summary of the whole input, and ATD refines its token dictionary from every
// token and groups tokens by category across the whole input, so a tile's own pixels come
// out differently from the same pixels of the whole image (in the middle of a 96 px tile,
// relative L2 4e-2 for rgt_x1 and 0.29 for atd_x1 with these weights). They run as todo
// with the figure, so the shortfall stays in view rather than passing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { FIXTURES_DIR } from '../fixtures';
import { importModel } from '../../models/import';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';
import { psnr, rgbSamples } from '../psnr';
import { Requests } from '../../contract/methods';

const GLOBAL_CONTEXT = 'part of the network sees the whole tile, so tiles differ from the whole image';
const MODELS: readonly { readonly name: string; readonly todo?: string }[] = [
  { name: 'rgt_x1', todo: GLOBAL_CONTEXT },
  { name: 'drct_x1' },
  { name: 'atd_x1', todo: GLOBAL_CONTEXT },
];
const SEAM_BAR_DB = 40;

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
  await sharp(photo('baboon.jpg')).extract({ left: 200, top: 150, width: 160, height: 160 }).png().toFile(crop);
});

after(async () => {
  await daemon.stop();
});

for (const { name: model, todo } of MODELS) {
  test(`${model}: tiled (64/16) vs whole image, at least ${SEAM_BAR_DB} dB`, { todo }, async () => {
    const run = (tile: object, name: string) =>
      daemon.connection.request(Requests.upscale, {
        input: crop,
        model,
        scale: 1,
        ...tile,
        output: path.join(dir, name),
      });
    const whole = await run({ tile: 0 }, `${model}-whole.png`);
    const tiled = await run({ tile: 64, overlap: 16 }, `${model}-tiled.png`);
    assert.deepEqual([whole.width, tiled.width], [160, 160]);
    const value = psnr(await rgbSamples(whole.outputPath), await rgbSamples(tiled.outputPath));
    process.stdout.write(`# ${model}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
    assert.ok(value >= SEAM_BAR_DB, `${model}: ${value.toFixed(2)} dB < ${SEAM_BAR_DB} dB`);
  });
}
