// `--only combos`: what each way of combining models buys, by the quality section's protocol
// (a photo crop bicubic-downscaled by 4 and upscaled back, PSNR on BT.601 luma): TTA at 2,
// 4 and 8 runs and a blend of the two built-in upscalers, each against the compact model's
// one run, in quality and time. A restoration chain needs a 1x model, which no setup step
// can fetch offline: given one (`--restoration FILE`), the section imports it and runs it
// before the compact model on the same crops saved as JPEG at quality 40 (the damage such
// models remove); without one it says so.
import * as path from 'node:path';
import sharp from 'sharp';
import type { UpscaleParams } from '../contract/request';
import { Requests } from '../contract/methods';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import { readRaster } from './images';
import { psnrY } from './metrics';
import { median } from './median';
import { prepareScale, type ScaleCase } from './quality';
import { fixed, formatTable } from './table';

const SCALE = 4;
const BASE = 'realesr-general-x4v3';
const SECOND = 'realesrgan-x4plus';
const JPEG_QUALITY = 40;

export interface ComboScore {
  /** "compact", "tta 8", "blend x4plus 0.5", "chain RESTORER → compact" … */
  readonly method: string;
  /** 'png': the clean bicubic input; 'jpeg': the same saved as JPEG at JPEG_QUALITY. */
  readonly input: 'png' | 'jpeg';
  readonly photo: string;
  readonly psnrY: number;
  readonly ms: number;
}

export interface CombosResult {
  readonly photos: readonly string[];
  readonly crop: number;
  readonly restorer: string | null;
  readonly scores: readonly ComboScore[];
}

interface Variant {
  readonly method: string;
  readonly input: 'png' | 'jpeg';
  readonly params: Partial<UpscaleParams>;
}

function variants(restorer: string | null): Variant[] {
  const list: Variant[] = [
    { method: 'compact', input: 'png', params: { model: BASE } },
    { method: 'tta 2', input: 'png', params: { model: BASE, tta: 2 } },
    { method: 'tta 4', input: 'png', params: { model: BASE, tta: 4 } },
    { method: 'tta 8', input: 'png', params: { model: BASE, tta: 8 } },
    { method: 'x4plus', input: 'png', params: { model: SECOND } },
    { method: 'blend x4plus 0.5', input: 'png', params: { model: BASE, blend: `${SECOND}:0.5` } },
    { method: 'compact', input: 'jpeg', params: { model: BASE } },
  ];
  if (restorer)
    list.push({ method: `chain ${restorer} → compact`, input: 'jpeg', params: { chain: `${restorer},${BASE}` } });
  return list;
}

export async function measureCombos(
  daemon: BenchDaemon,
  photos: readonly string[],
  crop: number,
  restorationFile: string | null,
  log: (line: string) => void,
): Promise<CombosResult> {
  const dir = benchTempDir('combos');
  let restorer: string | null = null;
  if (restorationFile) {
    const { model } = await daemon.connection.request(Requests.modelsImport, { path: restorationFile });
    if (model.scale !== 1)
      throw new Error(`--restoration ${restorationFile}: is a ${model.scale}x model; a restoration model is 1x`);
    restorer = model.id;
  }
  log(
    restorer
      ? `  restoration chain: ${restorer} before the compact model`
      : '  no --restoration FILE: the restoration chain is not measured',
  );
  // Loaded before timing, so no row pays a session's creation.
  for (const id of [BASE, SECOND, ...(restorer ? [restorer] : [])])
    await daemon.connection.request(Requests.modelsLoad, { id });
  const scores: ComboScore[] = [];
  for (const photo of photos) {
    const c: ScaleCase = await prepareScale(photo, SCALE, dir, crop);
    const jpegFile = path.join(dir, `${photo}-lr-q${JPEG_QUALITY}.jpg`);
    await sharp(c.lrFile).jpeg({ quality: JPEG_QUALITY }).toFile(jpegFile);
    for (const v of variants(restorer)) {
      const output = path.join(dir, `${photo}-${scores.length}.png`);
      const input = v.input === 'png' ? c.lrFile : jpegFile;
      const t = await timedUpscale(daemon, { ...v.params, input, output, scale: SCALE, format: 'png' });
      const score = {
        method: v.method,
        input: v.input,
        photo,
        psnrY: psnrY(await readRaster(output), c.hr, SCALE),
        ms: t.wallMs,
      };
      scores.push(score);
      log(`  ${photo} (${v.input}) ${v.method}: ${score.psnrY.toFixed(2)} dB in ${(t.wallMs / 1000).toFixed(2)} s`);
    }
  }
  return { photos, crop, restorer, scores };
}

/** One row per method and input: mean PSNR-Y, its gain over one compact run on the same input, median time and its cost in compact runs. */
export function combosTable(result: CombosResult): string {
  const keys = [...new Map(result.scores.map((s) => [`${s.input} ${s.method}`, s])).values()];
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const rows = keys.map(({ method, input }) => {
    const mine = result.scores.filter((s) => s.method === method && s.input === input);
    const base = result.scores.filter((s) => s.method === 'compact' && s.input === input);
    const gain = mean(mine.map((s) => s.psnrY)) - mean(base.map((s) => s.psnrY));
    const time = median(mine.map((s) => s.ms));
    return [
      method,
      input === 'png' ? 'clean' : `JPEG q${JPEG_QUALITY}`,
      fixed(mean(mine.map((s) => s.psnrY)), 2),
      `${gain >= 0 ? '+' : ''}${fixed(gain, 2)}`,
      fixed(time / 1000, 2),
      `${fixed(time / median(base.map((s) => s.ms)), 1)}×`,
    ];
  });
  const note = result.restorer ? '' : '\nno restoration chain: give a 1x model with --restoration FILE to measure one';
  return (
    `${result.photos.length} photos, ${result.crop}² crops bicubic-downscaled by ${SCALE}\n` +
    formatTable(['method', 'input', 'PSNR-Y dB', 'gain dB', 'median s', 'time'], rows) +
    note
  );
}
