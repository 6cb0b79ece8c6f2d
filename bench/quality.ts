// Quality by the standard super-resolution protocol: crop the photo to a multiple of the
// scale, bicubic-downscale it by that scale, upscale back (bicubic, Lanczos and every
// built-in model through the daemon), and compare with the original: PSNR and SSIM on
// BT.601 luma with `scale` pixels of border cropped. Also a crop sheet per model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ModelInfo } from '../contract/protocol';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import { cropRaster, photoPath, readRaster, type Raster } from './images';
import { psnrY, ssimY } from './metrics';
import { bicubicEnlarge } from './bicubic';
import { resizeLanczos } from '../daemon/engine/lanczos';
import { quantisePlanes } from '../daemon/engine/quantise';

export interface QualityScore {
  readonly photo: string;
  /** Model id, or 'bicubic' / 'lanczos3'. */
  readonly method: string;
  readonly scale: number;
  readonly psnrY: number;
  readonly ssimY: number;
  readonly ms: number;
  readonly error?: string;
}

export interface QualitySummary {
  readonly method: string;
  readonly scale: number;
  readonly photos: number;
  readonly meanPsnrY: number;
  readonly meanSsimY: number;
  /** Mean gain over bicubic at the same scale on the same photos. */
  readonly gainOverBicubicDb: number;
}

export interface QualityResult {
  readonly photos: readonly string[];
  readonly crop: number | null;
  readonly scores: readonly QualityScore[];
  readonly summary: readonly QualitySummary[];
  readonly sheets: readonly string[];
}

function rasterSharp(r: Raster): sharp.Sharp {
  return sharp(Buffer.from(r.data), { raw: { width: r.width, height: r.height, channels: 3 } });
}

export interface ScaleCase {
  readonly scale: number;
  /** The original, cropped to a multiple of the scale (top-left, as MATLAB's modcrop). */
  readonly hr: Raster;
  readonly lrFile: string;
  readonly bicubic: Raster;
}

/**
 * Lanczos-3 enlargement by the daemon's own float resampler: sharp cannot serve as the
 * baseline, since libvips enlarges with its bicubic interpolator for every kernel but
 * nearest and linear (its 'lanczos3' enlargement is bit-identical to 'cubic').
 */
function lanczosEnlarge(lr: Raster, width: number, height: number): Raster {
  const plane = lr.width * lr.height;
  const planar = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) planar[c * plane + i] = (lr.data[i * 3 + c] as number) / 255;
  const big = resizeLanczos({ width: lr.width, height: lr.height, channels: 3, data: planar }, width, height);
  const data = new Uint8Array(width * height * 3);
  quantisePlanes(data, width, 3, 0, 0, width, height, big.data, 3, 0);
  return { width, height, data };
}

export async function prepareScale(photo: string, scale: number, dir: string, crop: number | null): Promise<ScaleCase> {
  let full = await readRaster(photoPath(photo));
  if (crop !== null && (full.width > crop || full.height > crop)) {
    const cw = Math.min(crop, full.width);
    const ch = Math.min(crop, full.height);
    full = cropRaster(full, Math.floor((full.width - cw) / 2), Math.floor((full.height - ch) / 2), cw, ch);
  }
  const w = full.width - (full.width % scale);
  const h = full.height - (full.height % scale);
  const hr = cropRaster(full, 0, 0, w, h);
  const lrFile = path.join(dir, `${photo}-x${scale}-lr.png`);
  await rasterSharp(hr)
    .resize(w / scale, h / scale, { kernel: 'cubic' })
    .png()
    .toFile(lrFile);
  const bicubic = bicubicEnlarge(await readRaster(lrFile), w, h);
  return { scale, hr, lrFile, bicubic };
}

/** original | bicubic | model, a crop enlarged 2× (nearest) with a coloured bar over each panel. */
async function writeSheet(file: string, c: ScaleCase, result: Raster): Promise<void> {
  const side = Math.min(128, c.hr.width, c.hr.height);
  const x = Math.floor((c.hr.width - side) / 2);
  const y = Math.floor((c.hr.height - side) / 3);
  const zoom = 2;
  const panel = side * zoom;
  const gap = 8;
  const bar = 8;
  // Bars instead of text (no fonts needed): grey = original, blue = bicubic, green = model.
  const colours = [
    { r: 160, g: 160, b: 160 },
    { r: 60, g: 110, b: 230 },
    { r: 40, g: 190, b: 90 },
  ];
  const panels = await Promise.all(
    [c.hr, c.bicubic, result].map((r) =>
      rasterSharp(cropRaster(r, x, y, side, side))
        .resize(panel, panel, { kernel: 'nearest' })
        .png()
        .toBuffer(),
    ),
  );
  const composites: sharp.OverlayOptions[] = [];
  panels.forEach((input, i) => {
    const left = gap + i * (panel + gap);
    const colour = colours[i] as { r: number; g: number; b: number };
    composites.push({
      input: { create: { width: panel, height: bar, channels: 3, background: colour } },
      left,
      top: gap,
    });
    composites.push({ input, left, top: gap + bar + 2 });
  });
  await sharp({
    create: {
      width: gap + 3 * (panel + gap),
      height: 2 * gap + bar + 2 + panel,
      channels: 3,
      background: { r: 24, g: 24, b: 32 },
    },
  })
    .composite(composites)
    .png()
    .toFile(file);
}

/** `crop`: a centred square of that side from each photo (the quick run), or null for the whole photo. */
export async function measureQuality(
  daemon: BenchDaemon,
  models: readonly ModelInfo[],
  photos: readonly string[],
  crop: number | null,
  sheetDir: string,
  log: (line: string) => void,
): Promise<QualityResult> {
  const dir = benchTempDir('quality');
  fs.mkdirSync(sheetDir, { recursive: true });
  const scales = [...new Set(models.map((m) => m.scale))].sort((a, b) => a - b);
  const scores: QualityScore[] = [];
  const sheets: string[] = [];
  for (const photo of photos) {
    for (const scale of scales) {
      const c = await prepareScale(photo, scale, dir, crop);
      const score = (method: string, r: Raster, ms: number): QualityScore => ({
        photo,
        method,
        scale,
        psnrY: psnrY(r, c.hr, scale),
        ssimY: ssimY(r, c.hr, scale),
        ms,
      });
      scores.push(score('bicubic', c.bicubic, 0));
      scores.push(score('lanczos3', lanczosEnlarge(await readRaster(c.lrFile), c.hr.width, c.hr.height), 0));
      for (const model of models.filter((m) => m.scale === scale)) {
        const out = path.join(dir, `${photo}-${model.id}.png`);
        try {
          const t = await timedUpscale(daemon, { input: c.lrFile, output: out, model: model.id, scale, format: 'png' });
          const result = await readRaster(out);
          const s = score(model.id, result, t.wallMs);
          scores.push(s);
          log(
            `  ${photo} x${scale} ${model.id}: ${s.psnrY.toFixed(2)} dB, SSIM ${s.ssimY.toFixed(4)} (${(t.wallMs / 1000).toFixed(1)} s)`,
          );
          if (photo === photos[0]) {
            const sheet = path.join(sheetDir, `${model.id}.png`);
            await writeSheet(sheet, c, result);
            sheets.push(sheet);
          }
        } catch (e) {
          scores.push({ photo, method: model.id, scale, psnrY: NaN, ssimY: NaN, ms: 0, error: (e as Error).message });
          log(`  ${photo} x${scale} ${model.id}: FAILED ${(e as Error).message}`);
        }
      }
    }
  }
  return { photos, crop, scores, summary: summarise(scores), sheets };
}

function summarise(scores: readonly QualityScore[]): QualitySummary[] {
  const keys = new Map<string, { method: string; scale: number }>();
  for (const s of scores) keys.set(`${s.method}@${s.scale}`, { method: s.method, scale: s.scale });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return [...keys.values()].map(({ method, scale }) => {
    const mine = scores.filter((s) => s.method === method && s.scale === scale && !s.error);
    const gains = mine.map(
      (s) =>
        s.psnrY -
        (scores.find((b) => b.method === 'bicubic' && b.scale === scale && b.photo === s.photo)?.psnrY ?? NaN),
    );
    return {
      method,
      scale,
      photos: mine.length,
      meanPsnrY: mean(mine.map((s) => s.psnrY)),
      meanSsimY: mean(mine.map((s) => s.ssimY)),
      gainOverBicubicDb: mean(gains),
    };
  });
}
