// Tiling against one piece for MoSR, SAFMN, SAFMN-BCIE, DITN, MoESR, FDAT and SeemoRe: each
// fixture model (random weights at trained-like magnitudes, so its output is no picture
// and the figure only says how far a tile's missing context reaches) is imported into the
// real daemon and run on a 160×160 crop of baboon.jpg with --tile 64 --overlap 16 and with
// --tile 0, and the two 8-bit results are compared by PSNR over every RGB sample, as
// tiling-fidelity measures the built-ins. The engine pads each tile (and the whole image)
// to the model's input multiple by reflection: 8 for SAFMN and DITN, 16 for SAFMN-BCIE,
// 2 for MoESR, FDAT's window; 160 is a multiple of each, so the one-piece run is the plain
// forward.
//
// Architectures whose reach fits in the overlap must give at least 40 dB. The others are
// measured and printed without a bar, for no tiling reproduces them: FDAT's channel
// attention and channel gate and SeemoRe's router (one expert per image) and calibration
// read the whole image, and SAFMN-BCIE's pooling pyramid, at half resolution, works in
// 16 px cells four blocks deep (with random weights 28.9 dB at overlap 16, 49.1 dB at 32).
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
const weights = (dir: string, name: string): string => path.join(dir, name, `${name}.safetensors`);

const LOCAL = ['mosr_x4', 'safmn_x4', 'ditn_x4', 'moesr_x4'].map((n) => weights(SPANDREL, n));
const WIDE = [
  weights(HELD_OUT, 'safmn_bcie_unshuffle2'),
  weights(SPANDREL, 'fdat_x4'),
  weights(SPANDREL, 'seemore_x4'),
];

let daemon: TestDaemon;
let crop: string;
let dir: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('part2-tiling');
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

/** Imports `file` and runs the crop whole and in 64/16 tiles; the PSNR between the two. */
async function seamFigure(file: string): Promise<number> {
  const { model } = await daemon.connection.request('models/import', { path: file });
  const name = path.basename(file, '.safetensors');
  const run = (tile: { tile: number; overlap?: number }, out: string) =>
    daemon.connection.request('upscale', {
      input: crop,
      model: model.id,
      scale: model.scale,
      ...tile,
      output: path.join(dir, out),
    });
  const whole = await run({ tile: 0 }, `${name}-whole.png`);
  const tiled = await run({ tile: 64, overlap: 16 }, `${name}-tiled.png`);
  const side = 160 * model.scale;
  assert.deepEqual([whole.width, whole.height, tiled.width, tiled.height], [side, side, side, side]);
  const value = await psnr(whole.outputPath, tiled.outputPath);
  process.stdout.write(`# ${name}: tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
  return value;
}

for (const file of LOCAL) {
  const name = path.basename(file, '.safetensors');
  test(`${name} (random weights): tiled 64/16 vs whole image, at least ${SEAM_BAR_DB} dB`, async () => {
    const value = await seamFigure(file);
    assert.ok(value >= SEAM_BAR_DB, `${name}: ${value.toFixed(2)} dB < ${SEAM_BAR_DB} dB`);
  });
}

for (const file of WIDE) {
  test(`${path.basename(file, '.safetensors')} (random weights, context beyond the overlap): tiled and whole both run`, async () => {
    await seamFigure(file);
  });
}
