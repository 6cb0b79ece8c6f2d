// Tile size × overlap sweep: time and fidelity (8-bit RGB PSNR against the same model run
// on the whole image in one pass) on a photo crop, to justify the daemon's defaults.
import * as path from 'node:path';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import { photoCropPng, readRaster } from './images';
import { psnrRgb } from './metrics';
import { tileWorkOf } from './tile-work';

export interface SweepPlan {
  readonly model: string;
  readonly photo: string;
  readonly crop: number;
  readonly tiles: readonly number[];
  readonly overlaps: readonly number[];
}

export interface SweepCell {
  /** Input pixels each tile decides; 'auto' is the daemon's default choice. */
  readonly tile: number | 'auto';
  readonly overlap: number;
  readonly tiles: number;
  readonly workRatio: number;
  readonly ms: number;
  readonly inferMs: number;
  /** Against the whole-image pass; Infinity when identical. */
  readonly psnrDb: number;
}

export interface SweepResult {
  readonly plan: SweepPlan;
  readonly wholeImageMs: number;
  readonly cells: readonly SweepCell[];
}

export async function runSweep(
  daemon: BenchDaemon,
  plan: SweepPlan,
  log: (line: string) => void,
): Promise<SweepResult> {
  const dir = benchTempDir('sweep');
  const input = await photoCropPng(plan.photo, plan.crop, plan.crop, path.join(dir, 'crop.png'));
  const wholeFile = path.join(dir, 'whole.png');
  // The first request also loads the model; run the reference twice and time the second.
  await timedUpscale(daemon, { input, output: wholeFile, model: plan.model, scale: 4, tile: 0 });
  const whole = await timedUpscale(daemon, { input, output: wholeFile, model: plan.model, scale: 4, tile: 0 });
  const reference = await readRaster(wholeFile);
  log(`  ${plan.model} whole ${plan.crop}²: ${whole.wallMs.toFixed(0)} ms`);
  const cells: SweepCell[] = [];
  const settings: { tile: number | 'auto'; overlap: number }[] = [];
  for (const tile of plan.tiles) for (const overlap of plan.overlaps) settings.push({ tile, overlap });
  settings.push({ tile: 'auto', overlap: 16 });
  for (const s of settings) {
    const out = path.join(dir, `t${s.tile}-o${s.overlap}.png`);
    const tileParam = s.tile === 'auto' ? {} : { tile: s.tile };
    const t = await timedUpscale(daemon, {
      input,
      output: out,
      model: plan.model,
      scale: 4,
      overlap: s.overlap,
      ...tileParam,
    });
    const work = tileWorkOf(t.result);
    const cell: SweepCell = {
      tile: s.tile,
      overlap: s.overlap,
      tiles: work.tiles,
      workRatio: work.workRatio,
      ms: t.wallMs,
      inferMs: t.result.timings.inferMs,
      psnrDb: psnrRgb(await readRaster(out), reference),
    };
    cells.push(cell);
    log(
      `  ${plan.model} tile ${s.tile} overlap ${s.overlap}: ${cell.tiles} tiles, work ×${cell.workRatio.toFixed(2)}, ${cell.ms.toFixed(0)} ms, ${cell.psnrDb.toFixed(1)} dB`,
    );
  }
  return { plan, wholeImageMs: whole.wallMs, cells };
}
