// Tiling and the newer architectures: each model (a spandrel fixture or held-out case, with
// random weights at trained-like magnitudes, so the output is no picture but every layer is
// live) is imported into the real daemon, which upscales a 160x160 photo crop with --tile 64
// --overlap 16 and as one whole image; the figure is the 8-bit PSNR between the two. Tiles
// of 64 meet every size requirement here: RGT's and OmniSR's 16 px minimum and ATD's 8
// outright, DRCT's multiple of 16 by the engine padding each tile to the model's input
// multiple.
//
// A model with local context must reach 40 dB. One with global context cannot, whatever
// the blending: RealPLKSR's GroupNorm normalises each channel group over every position,
// OmniSR pools and attends across the whole grid, RG-SA attends to a summary of the whole
// input, and ATD refines its token dictionary from every token and groups tokens by
// category across the whole input, so a tile's own pixels come out differently from the
// same pixels of the whole image; so do SAFMN-BCIE's pooling pyramid (at half resolution,
// 16 px cells four blocks deep), FDAT's channel attention and gate, SeemoRe's router (one
// expert per image), DCTLSA's linear attention over windows whose grid follows the tile's
// origin and shifts rolled without a mask, CRAFT's channel attention normalised over the
// whole input, and DAT's adaptive channel attention across every token. For those the test asserts that the model's record says
// so (`context: 'global'`, which makes the automatic tile take the whole image where it
// fits), and prints the figure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { FIXTURES_DIR, REPO_ROOT } from '../fixtures';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';
import { psnr, rgbSamples } from '../psnr';
import { Requests } from '../../contract/methods';

const SPANDREL = path.join(FIXTURES_DIR, 'spandrel');
const HELD_OUT = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out');
const MODELS: readonly { readonly dir: string; readonly name: string; readonly context: 'local' | 'global' }[] = [
  { dir: SPANDREL, name: 'plksr_x4', context: 'local' },
  { dir: HELD_OUT, name: 'realplksr_ln_x2', context: 'local' },
  { dir: HELD_OUT, name: 'realplksr_dysample_ln_x2', context: 'local' },
  { dir: SPANDREL, name: 'realplksr_x4', context: 'global' },
  { dir: SPANDREL, name: 'realplksr_dysample_x4', context: 'global' },
  { dir: SPANDREL, name: 'span_x4', context: 'local' },
  { dir: SPANDREL, name: 'omnisr_x4', context: 'global' },
  { dir: SPANDREL, name: 'rgt_x1', context: 'global' },
  { dir: SPANDREL, name: 'atd_x1', context: 'global' },
  { dir: SPANDREL, name: 'drct_x1', context: 'local' },
  { dir: SPANDREL, name: 'rcan_x4', context: 'local' },
  { dir: SPANDREL, name: 'realcugan_up2x', context: 'local' },
  { dir: SPANDREL, name: 'realcugan_up4x', context: 'local' },
  { dir: SPANDREL, name: 'swiftsrgan_x4', context: 'local' },
  { dir: SPANDREL, name: 'mmrealsr_x4', context: 'local' },
  { dir: SPANDREL, name: 'mosr_x4', context: 'local' },
  { dir: SPANDREL, name: 'safmn_x4', context: 'local' },
  { dir: SPANDREL, name: 'ditn_x4', context: 'local' },
  { dir: SPANDREL, name: 'moesr_x4', context: 'local' },
  { dir: HELD_OUT, name: 'safmn_bcie_unshuffle2', context: 'global' },
  { dir: SPANDREL, name: 'fdat_x4', context: 'global' },
  { dir: SPANDREL, name: 'seemore_x4', context: 'global' },
  { dir: SPANDREL, name: 'swin2sr_x1', context: 'local' },
  { dir: SPANDREL, name: 'grl_x1', context: 'local' },
  { dir: HELD_OUT, name: 'grl_x1_separable_3conv', context: 'local' },
  { dir: SPANDREL, name: 'swinir_diffbir_x1', context: 'local' },
  { dir: SPANDREL, name: 'dctlsa_x4', context: 'global' },
  { dir: SPANDREL, name: 'craft_x4', context: 'global' },
  { dir: SPANDREL, name: 'dat_heads3_x2', context: 'global' },
];
const SEAM_BAR_DB = 40;

let daemon: TestDaemon;
let dir: string;
let crop: string;

before(async () => {
  dir = tempDir('seams');
  daemon = startDaemon({ UPSCALE_MODELS_DIR: path.join(dir, 'models') });
  crop = path.join(dir, 'baboon-crop.png');
  await sharp(photo('baboon.jpg')).extract({ left: 200, top: 150, width: 160, height: 160 }).png().toFile(crop);
});

after(async () => {
  await daemon.stop();
});

for (const { dir: folder, name, context } of MODELS) {
  const claim = context === 'local' ? `at least ${SEAM_BAR_DB} dB` : "measured; its record says 'global'";
  test(`${name} (${context} context): tiled (64/16) vs whole image, ${claim}`, async () => {
    const weights = path.join(folder, name, `${name}.safetensors`);
    const imported = await daemon.connection.request(Requests.modelsImport, { path: weights });
    const { id: model, scale, traits } = imported.model;
    assert.equal(traits?.context, context, `${name}: context`);
    const run = (tile: object, file: string) =>
      daemon.connection.request(Requests.upscale, { input: crop, model, scale, ...tile, output: path.join(dir, file) });
    const whole = await run({ tile: 0 }, `${name}-whole.png`);
    const tiled = await run({ tile: 64, overlap: 16 }, `${name}-tiled.png`);
    assert.deepEqual([whole.width, tiled.width, tiled.height], [160 * scale, 160 * scale, 160 * scale]);
    const value = psnr(await rgbSamples(whole.outputPath), await rgbSamples(tiled.outputPath));
    process.stdout.write(`# ${name} (${context}): tiled 64/16 vs whole ${value.toFixed(2)} dB\n`);
    if (context === 'local') assert.ok(value >= SEAM_BAR_DB, `${name}: ${value.toFixed(2)} dB < ${SEAM_BAR_DB} dB`);
  });
}
