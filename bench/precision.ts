// fp16 against fp32 on the bench's provider: each model upscales centred photo crops whole
// (no tiling) once with `precision: 'fp32'` and once with `precision: 'fp16'`, in one
// daemon, and the two 8-bit outputs are compared (PSNR over RGB). `auto` precision takes fp16 only for families
// that stay above 45 dB here (daemon/runtime/precision.ts).
import * as path from 'node:path';
import type { ExecutionProviderChoice } from '../contract/vocabulary';
import { benchTempDir, startBenchDaemon, timedUpscale } from './daemon-client';
import { photoCropPng, readRaster } from './images';
import { psnrRgb } from './metrics';

export interface PrecisionCase {
  readonly model: string;
  /** The side of the centred square crop each photo is cut to. */
  readonly crop: number;
}

export interface PrecisionScore {
  readonly model: string;
  readonly photo: string;
  readonly crop: number;
  /** 8-bit PSNR (RGB) of the fp16 output against the fp32 output. */
  readonly psnr: number;
  readonly fp32Seconds: number;
  readonly fp16Seconds: number;
}

export async function measurePrecision(
  provider: ExecutionProviderChoice,
  cases: readonly PrecisionCase[],
  photos: readonly string[],
  log: (line: string) => void,
): Promise<PrecisionScore[]> {
  const dir = benchTempDir('precision');
  const daemon = await startBenchDaemon(provider);
  const scores: PrecisionScore[] = [];
  try {
    for (const { model, crop } of cases) {
      for (const photo of photos) {
        const input = await photoCropPng(photo, crop, crop, path.join(dir, `${photo}-${crop}.png`));
        const run = (precision: 'fp32' | 'fp16') =>
          timedUpscale(daemon, {
            input,
            model,
            tile: 0,
            precision,
            output: path.join(dir, `${model}-${photo}-${precision}.png`),
          });
        const a = await run('fp32');
        const b = await run('fp16');
        if (a.result.precision !== 'fp32' || b.result.precision !== 'fp16')
          throw new Error(
            `${model} ran at ${a.result.precision ?? '?'} and ${b.result.precision ?? '?'}, not fp32 and fp16`,
          );
        const psnr = psnrRgb(await readRaster(a.result.outputPath), await readRaster(b.result.outputPath));
        scores.push({ model, photo, crop, psnr, fp32Seconds: a.wallMs / 1000, fp16Seconds: b.wallMs / 1000 });
        log(
          `  ${model} ${photo} ${crop}²: fp16 vs fp32 ${psnr.toFixed(1)} dB (${(a.wallMs / 1000).toFixed(1)} s / ${(b.wallMs / 1000).toFixed(1)} s)`,
        );
      }
    }
  } finally {
    await daemon.stop();
  }
  return scores;
}
