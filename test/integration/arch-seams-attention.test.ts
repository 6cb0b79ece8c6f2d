// Tiling must not show in what Swin2SR, GRL and DiffBIR's SwinIR give: each model (the spandrel
// fixtures, and a held-out GRL whose outputs saturate less, all with random weights at
// trained-like magnitudes, so the output is no picture, but every layer is live) is imported
// into the real daemon, which upscales a 160×160 crop of baboon.jpg with --tile 64 --overlap 16
// and in one piece; the two 8-bit results must agree to at least 40 dB PSNR over every RGB
// sample. The engine pads each tile to the model's input multiple by mirroring it (GRL's
// max(window, stripe), DiffBIR's window × 8 = 32 here, CRAFT's 16 as spandrel's descriptor
// pads); the traits' minimum and multiple are not enforced beyond that, and the tiles here
// (80 to 96 px before that padding) meet them.
//
// DCTLSA and CRAFT are measured and printed without a bar. Their shifted windows are rolled
// without a mask, so the border windows join the input's opposite edges, which for a tile are
// the tile's; DCTLSA's linear attention averages whole 16×16 windows whose grid follows the
// tile's origin, through 24 blocks; and CRAFT's fusion blocks attend across channels with
// queries and keys normalised over the whole input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { FIXTURES_DIR, REPO_ROOT } from '../fixtures';
import { photo } from '../photos';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';

const SEAM_BAR_DB = 40;
const SPANDREL = path.join(FIXTURES_DIR, 'spandrel');
const HELD_OUT = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out');
const weightsOf = (dir: string, name: string): string => path.join(dir, name, `${name}.safetensors`);
const LOCAL = [
  weightsOf(SPANDREL, 'swin2sr_x1'),
  weightsOf(SPANDREL, 'grl_x1'),
  weightsOf(HELD_OUT, 'grl_x1_separable_3conv'),
  weightsOf(SPANDREL, 'swinir_diffbir_x1'),
];
const MEASURED = [weightsOf(SPANDREL, 'dctlsa_x4'), weightsOf(SPANDREL, 'craft_x4')];

let daemon: TestDaemon;
let crop: string;
let dir: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('arch-seams-attention');
  crop = path.join(dir, 'baboon-crop.png');
  await sharp(photo('baboon.jpg')).extract({ left: 200, top: 150, width: 160, height: 160 }).png().toFile(crop);
});

after(async () => {
  await daemon.stop();
});

/** 8-bit PSNR over every RGB sample of two images of one size. */
async function psnr(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f).removeAlpha().raw().toBuffer()));
  assert.ok(x && y && x.length === y.length, 'the two results have the same size');
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += ((x[i] ?? 0) - (y[i] ?? 0)) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / x.length));
}

/** Imports `weights` and runs the crop whole and in 64/16 tiles; the PSNR between the two. */
async function seamFigure(weights: string): Promise<number> {
  const name = path.basename(weights, '.safetensors');
  const imported = await daemon.connection.request('models/import', { path: weights });
  const { id: model, scale } = imported.model;
  const run = (extra: { tile: number; overlap?: number }, file: string) =>
    daemon.connection.request('upscale', { input: crop, model, scale, ...extra, output: path.join(dir, file) });
  const whole = await run({ tile: 0 }, `${name}-whole.png`);
  const tiled = await run({ tile: 64, overlap: 16 }, `${name}-tiled.png`);
  assert.deepEqual([whole.width, tiled.width, tiled.height], [160 * scale, 160 * scale, 160 * scale]);
  const value = await psnr(whole.outputPath, tiled.outputPath);
  process.stdout.write(`# ${name}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
  return value;
}

for (const weights of LOCAL) {
  const name = path.basename(weights, '.safetensors');
  test(`${name} (random weights): tiled 64/16 vs whole image, at least ${SEAM_BAR_DB} dB`, async () => {
    const value = await seamFigure(weights);
    assert.ok(value >= SEAM_BAR_DB, `${name}: ${value.toFixed(2)} dB < ${SEAM_BAR_DB} dB`);
  });
}

for (const weights of MEASURED) {
  test(`${path.basename(weights, '.safetensors')} (random weights, context past the tile): tiles and one piece both run`, async () => {
    await seamFigure(weights);
  });
}
