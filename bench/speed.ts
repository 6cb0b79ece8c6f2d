// Throughput end to end through the daemon (decode, tiles, inference, blend, encode: the
// client-side time of the `upscale` request) against the ceiling of one whole-image
// onnxruntime pass of the same model on the same input, in the same provider, in the
// fastest configuration a search on a photo crop found (searchCeiling).
import * as path from 'node:path';
import type { UpscaleResult, UpscaleTimings } from '../contract/protocol';
import type { ExecutionProvider } from '../contract/vocabulary';
import { builtinModelsDir } from '../models/paths';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import { photoCropPng, squarePhotoPng } from './images';
import { WholeImageSession, achievedGflops, planarInput, searchCeiling, type CeilingSearch } from './ort-ceiling';
import { tileWorkOf, type TileWork } from './tile-work';
import { loadAverage, processCpuMs, selfCpuMs } from './cpu';
import { tilingOverheadMs } from './profile';
import { medianBy } from './median';
import type { PlanarImage } from '../daemon/image/types';
import { extractRegion } from '../daemon/engine/tiled-pass';

export interface SpeedPlan {
  readonly model: string;
  readonly sizes: readonly number[];
  /** Runs per size up to 128² (noisy, cheap). */
  readonly smallRepeats: number;
  /** Runs per larger size: on a shared machine one run can land in a busy moment. */
  readonly largeRepeats: number;
  /** The side of the photo crop the ceiling's configuration is searched on. */
  readonly searchSize: number;
}

export interface SpeedPoint {
  readonly size: number;
  readonly megapixels: number;
  readonly runs: number;
  /** Median client-side milliseconds of the `upscale` request. */
  readonly e2eMs: number;
  readonly e2eMpixPerS: number;
  /** The daemon's own stage timings of the median run (blend and tile copies are inside inferMs). */
  readonly timings: UpscaleTimings;
  readonly tileWork: TileWork;
  readonly ceilingMs: number;
  readonly ceilingMpixPerS: number;
  readonly e2eOverCeiling: number;
  readonly e2eGflops: number | null;
  readonly ceilingGflops: number | null;
  /** CPU milliseconds of the daemon process for the median run, and of this process for the ceiling run. */
  readonly e2eCpuMs: number;
  readonly ceilingCpuMs: number;
  /** ceiling CPU / end-to-end CPU: the e2e/ceiling ratio in CPU time, steadier on a shared machine. */
  readonly cpuTimeRatio: number;
  /** One-minute load average when the point started. */
  readonly loadAverage: number;
  /** Inside the daemon's infer stage: the tiling/blend/copy cost without a model, and one real tile through onnxruntime. */
  readonly profile: {
    readonly tilingOverheadMs: number;
    readonly oneTileMs: number | null;
    readonly tilesTimesOneTileMs: number | null;
  };
}

/** One tile of the daemon's shape timed through the in-process session (only where it is worth the time). */
async function oneTileMs(ceiling: WholeImageSession, planar: PlanarImage, work: TileWork): Promise<number | null> {
  if (work.tiles === 1) return null;
  return ceiling.timeRun(extractRegion(planar, 0, 0, work.tileWidth, work.tileHeight));
}

export interface SpeedSeries {
  readonly model: string;
  /** How the ceiling's configuration was chosen. */
  readonly search: CeilingSearch;
  readonly points: readonly SpeedPoint[];
}

export async function measureSpeed(
  daemon: BenchDaemon,
  provider: ExecutionProvider,
  plan: SpeedPlan,
  log: (line: string) => void,
): Promise<SpeedSeries> {
  const dir = benchTempDir('speed');
  const modelPath = path.join(builtinModelsDir(), `${plan.model}.onnx`);
  const smallest = Math.min(...plan.sizes);
  const warmInput = await squarePhotoPng('baboon', smallest, path.join(dir, 'warm.png'));
  // Warm-up (discarded): loads the model, and lets onnxruntime and V8 settle.
  await timedUpscale(daemon, { input: warmInput, output: path.join(dir, 'warm-out.png'), model: plan.model, scale: 4 });
  const searchInput = await photoCropPng('baboon', plan.searchSize, plan.searchSize, path.join(dir, 'search.png'));
  const search = await searchCeiling(plan.model, modelPath, provider, await planarInput(searchInput), 2, log);
  log(
    `  ceiling: ${search.best.description} (the daemon's configuration takes ${search.daemonOverBest.toFixed(3)}× its time)`,
  );
  const ceiling = await WholeImageSession.open(modelPath, provider, search.best.config);
  await ceiling.timeRun(await planarInput(warmInput));

  const points: SpeedPoint[] = [];
  for (const size of plan.sizes) {
    const input = await squarePhotoPng('baboon', size, path.join(dir, `in-${size}.png`));
    const runs = size <= 128 ? plan.smallRepeats : plan.largeRepeats;
    const load = loadAverage();
    const planar = await planarInput(input);
    // End to end and ceiling alternate, so a change in the machine's load falls on both.
    const e2e: { ms: number; cpuMs: number; result: UpscaleResult }[] = [];
    const ceilingRuns: { ms: number; cpuMs: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const daemonCpuBefore = processCpuMs(daemon.pid);
      const t = await timedUpscale(daemon, {
        input,
        output: path.join(dir, `out-${size}.png`),
        model: plan.model,
        scale: 4,
      });
      e2e.push({ ms: t.wallMs, cpuMs: processCpuMs(daemon.pid) - daemonCpuBefore, result: t.result });
      const selfCpuBefore = selfCpuMs();
      const ms = await ceiling.timeRun(planar);
      ceilingRuns.push({ ms, cpuMs: selfCpuMs() - selfCpuBefore });
    }
    const mid = medianBy(e2e, (run) => run.ms);
    const ceilingMid = medianBy(ceilingRuns, (run) => run.ms);
    const ceilingMs = ceilingMid.ms;
    const work = tileWorkOf(mid.result);
    const tileMs = await oneTileMs(ceiling, { ...planar, channels: 3 }, work);
    const profile = {
      tilingOverheadMs: await tilingOverheadMs(size, 4, work),
      oneTileMs: tileMs,
      tilesTimesOneTileMs: tileMs === null ? null : tileMs * work.tiles,
    };
    const megapixels = (size * size) / 1e6;
    const e2eMpixPerS = megapixels / (mid.ms / 1000);
    const ceilingMpixPerS = megapixels / (ceilingMs / 1000);
    const point: SpeedPoint = {
      size,
      megapixels,
      runs,
      e2eMs: mid.ms,
      e2eMpixPerS,
      timings: mid.result.timings,
      tileWork: work,
      profile,
      ceilingMs,
      ceilingMpixPerS,
      e2eOverCeiling: e2eMpixPerS / ceilingMpixPerS,
      e2eGflops: achievedGflops(plan.model, e2eMpixPerS),
      ceilingGflops: achievedGflops(plan.model, ceilingMpixPerS),
      e2eCpuMs: mid.cpuMs,
      ceilingCpuMs: ceilingMid.cpuMs,
      cpuTimeRatio: ceilingMid.cpuMs / mid.cpuMs,
      loadAverage: load,
    };
    points.push(point);
    log(
      `  ${plan.model} ${size}²: e2e ${mid.ms.toFixed(0)} ms (${e2eMpixPerS.toFixed(4)} MP/s), ceiling ${ceilingMs.toFixed(0)} ms (${ceilingMpixPerS.toFixed(4)} MP/s), ratio ${point.e2eOverCeiling.toFixed(3)}, CPU-time ratio ${point.cpuTimeRatio.toFixed(3)}, load ${load.toFixed(1)}`,
    );
  }
  await ceiling.release();
  return { model: plan.model, search, points };
}
