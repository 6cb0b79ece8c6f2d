// Tiling must not change the picture for the architectures converted from spandrel's
// weights: each model is imported into the real daemon and run on a 160×160 crop of
// baboon.jpg with --tile 64 --overlap 16 and in one piece, and the two 8-bit results must
// agree to at least 40 dB PSNR over every RGB sample (as tiling-fidelity measures the
// built-ins). The models are the golden fixtures and held-out cases, with random weights:
// their outputs are not pictures, and the figure says how far a tile's missing context
// reaches, not how good the picture is.
//
// Some architectures read the whole image, so no tiling can reproduce the one-piece run:
// RealPLKSR's GroupNorm normalises each channel group over every position, and OmniSR has
// a global average (the MBConv's squeeze-excitation) and attention across the whole grid.
// RealPLKSR with layer_norm is local. The others are measured and printed without a bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { FIXTURES_DIR, REPO_ROOT } from '../fixtures';
import { photo } from '../photos';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { Requests } from '../../contract/methods';

const SEAM_BAR_DB = 40;
const SPANDREL = path.join(FIXTURES_DIR, 'spandrel');
const HELD_OUT = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out');
/** Local architectures: the tiled result must match. */
const LOCAL = [
  path.join(SPANDREL, 'plksr_x4', 'plksr_x4.safetensors'),
  path.join(SPANDREL, 'span_x4', 'span_x4.safetensors'),
  path.join(HELD_OUT, 'realplksr_ln_x2', 'realplksr_ln_x2.safetensors'),
  path.join(HELD_OUT, 'realplksr_dysample_ln_x2', 'realplksr_dysample_ln_x2.safetensors'),
];
/** Whole-image statistics: measured, no bar. */
const GLOBAL = ['realplksr_x4', 'realplksr_dysample_x4', 'omnisr_x4'].map((n) =>
  path.join(SPANDREL, n, `${n}.safetensors`),
);

let daemon: TestDaemon;
let crop: string;
let dir: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('arch-tiling');
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

/** Imports `weights` and runs the crop whole and in 64/16 tiles; returns the PSNR between the two. */
async function seamFigure(weights: string): Promise<number> {
  const imported = await daemon.connection.request(Requests.modelsImport, { path: weights });
  const { id: model, scale } = imported.model;
  const name = path.basename(weights, '.safetensors');
  const run = (extra: { tile: number; overlap?: number }, file: string) =>
    daemon.connection.request(Requests.upscale, { input: crop, model, scale, ...extra, output: path.join(dir, file) });
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

for (const weights of GLOBAL) {
  test(`${path.basename(weights, '.safetensors')} (random weights, whole-image statistics): tiles and one piece both run`, async () => {
    await seamFigure(weights);
  });
}
