// Borders: does a border treatment bring the edge of an upscaled crop closer to what the
// model gives when it sees the real surroundings? Crop a photo, and crop the same region
// with real context on every side; upscale both whole (no tiling), then compare the
// outer ring of the crop's output with the same pixels of the context run's output.
// Measured for each `padding` choice a photo can use (none, the default, and reflect).
import * as path from 'node:path';
import sharp from 'sharp';
import { PADDINGS, type Padding } from '../contract/vocabulary';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import { cropRaster, photoPath, readRaster, type Raster } from './images';
import { psnrFromMse } from './metrics';

/** The crop and its context, in input pixels, and the ring compared, in output pixels. */
export const BORDER_CROP = { width: 72, height: 56, context: 40, ring: 8 } as const;

export interface BorderScore {
  readonly photo: string;
  readonly model: string;
  readonly padding: Padding;
  /** 8-bit PSNR (RGB) of the crop's outer ring against the context run. */
  readonly ringPsnr: number;
}

/** PSNR over the pixels of `a` and `b` within `ring` of their edge (both the same size). */
export function ringPsnr(a: Raster, b: Raster, ring: number): number {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let sum = 0;
  let n = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (x >= ring && x < a.width - ring && y >= ring && y < a.height - ring) continue;
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * 3 + c;
        const d = (a.data[i] as number) - (b.data[i] as number);
        sum += d * d;
        n++;
      }
    }
  }
  return psnrFromMse(sum / n);
}

async function writePng(r: Raster, file: string): Promise<string> {
  await sharp(Buffer.from(r.data), { raw: { width: r.width, height: r.height, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

/** `cases`: which photos each model is measured on (the crop is the photo's centre). */
export async function measureBorders(
  daemon: BenchDaemon,
  cases: readonly { model: string; photos: readonly string[] }[],
  log: (line: string) => void,
): Promise<BorderScore[]> {
  const dir = benchTempDir('border');
  const { width, height, context, ring } = BORDER_CROP;
  const scores: BorderScore[] = [];
  for (const { model, photos } of cases) {
    for (const photo of photos) {
      const full = await readRaster(photoPath(photo));
      const x = Math.floor((full.width - width) / 2);
      const y = Math.floor((full.height - height) / 2);
      const crop = await writePng(cropRaster(full, x, y, width, height), path.join(dir, `${photo}-crop.png`));
      const wide = await writePng(
        cropRaster(full, x - context, y - context, width + 2 * context, height + 2 * context),
        path.join(dir, `${photo}-context.png`),
      );
      const wideOut = path.join(dir, `${photo}-${model}-context-out.png`);
      const { result } = await timedUpscale(daemon, { input: wide, output: wideOut, model, tile: 0, format: 'png' });
      const scale = result.width / (width + 2 * context);
      const reference = cropRaster(
        await readRaster(wideOut),
        context * scale,
        context * scale,
        width * scale,
        height * scale,
      );
      // 'wrap' is for tileable textures: on a photo crop it brings in the opposite edge.
      for (const padding of PADDINGS.filter((p) => p !== 'wrap')) {
        const out = path.join(dir, `${photo}-${model}-${padding}.png`);
        await timedUpscale(daemon, { input: crop, output: out, model, tile: 0, padding, format: 'png' });
        const score = { photo, model, padding, ringPsnr: ringPsnr(await readRaster(out), reference, ring) };
        scores.push(score);
        log(`  ${photo} ${model} padding ${padding}: outer ${ring} px ${score.ringPsnr.toFixed(2)} dB`);
      }
    }
  }
  return scores;
}
