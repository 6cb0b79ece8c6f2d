// The daemon's fixed costs: start-up (spawn → initialize answered), model load cold and
// warm (models/load again, while resident), and how soon a `$/cancelRequest` ends a running job compared
// with the time of one tile (the daemon checks for cancellation before every tile).
import * as path from 'node:path';
import { isCancelled } from '../contract/errors';
import type { ExecutionProviderChoice } from '../contract/vocabulary';
import { benchTempDir, startBenchDaemon, type BenchDaemon } from './daemon-client';
import { squarePhotoPng } from './images';
import { median } from './median';
import { Requests } from '../contract/methods';

export interface LoadTiming {
  readonly model: string;
  /** The daemon's own loadMs, and the client's round trip, for the first load. */
  readonly coldMs: number;
  readonly coldRoundTripMs: number;
  /** The same for the loads that follow (the median of WARM_LOADS): what a job pays for its model. */
  readonly warmMs: number;
  readonly warmRoundTripMs: number;
  readonly warmCached: boolean;
}

export interface CancelTiming {
  /** When the cancel was sent: half a tile after a tile finished, or right after one finished (worst case). */
  readonly when: 'mid-tile' | 'after-tile';
  readonly inputSize: number;
  readonly tiles: number;
  /** Interval between consecutive tile progress notifications before the cancel. */
  readonly tileMs: number;
  /** From sending `$/cancelRequest` to the `upscale` request's Cancelled error. */
  readonly cancelLatencyMs: number;
  readonly withinOneTile: boolean;
}

export interface LifecycleResult {
  readonly startupMs: readonly number[];
  readonly startupMedianMs: number;
  readonly loads: readonly LoadTiming[];
  readonly cancels: readonly CancelTiming[];
}

export async function measureStartup(provider: ExecutionProviderChoice, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = await startBenchDaemon(provider);
    times.push(d.startupMs);
    await d.stop();
  }
  return times;
}

/** Warm loads per model; the median is reported. */
export const WARM_LOADS = 5;

export async function measureLoads(
  provider: ExecutionProviderChoice,
  models: readonly string[],
): Promise<LoadTiming[]> {
  const daemon = await startBenchDaemon(provider);
  const out: LoadTiming[] = [];
  try {
    for (const model of models) {
      let start = performance.now();
      const cold = await daemon.connection.request(Requests.modelsLoad, { id: model });
      const coldRoundTripMs = performance.now() - start;
      const warm: { loadMs: number; roundTripMs: number; cached: boolean }[] = [];
      for (let i = 0; i < WARM_LOADS; i++) {
        start = performance.now();
        const again = await daemon.connection.request(Requests.modelsLoad, { id: model });
        warm.push({ loadMs: again.loadMs, roundTripMs: performance.now() - start, cached: again.cached });
      }
      out.push({
        model,
        coldMs: cold.loadMs,
        coldRoundTripMs,
        warmMs: median(warm.map((w) => w.loadMs)),
        warmRoundTripMs: median(warm.map((w) => w.roundTripMs)),
        warmCached: warm.every((w) => w.cached),
      });
    }
  } finally {
    await daemon.stop();
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function cancelOnce(
  daemon: BenchDaemon,
  model: string,
  input: string,
  output: string,
  when: CancelTiming['when'],
  inputSize: number,
): Promise<CancelTiming> {
  // Tiles named: the automatic choice may run the whole image in one, and a cancel is measured between tiles.
  const pending = daemon.connection.start(Requests.upscale, {
    input,
    output,
    model,
    scale: 4,
    tile: 256,
    overwrite: true,
  });
  const tileEnds: number[] = [];
  let total = 0;
  let tileSeen: () => void = () => undefined;
  const secondTile = new Promise<void>((resolve) => (tileSeen = resolve));
  const off = daemon.onProgress((p) => {
    if (p.requestId !== pending.id || p.stage !== 'infer' || p.done === 0) return;
    tileEnds.push(performance.now());
    total = p.total;
    if (tileEnds.length === 2) tileSeen();
  });
  const outcome = pending.result.then(
    () => 'finished' as const,
    (e: unknown) => {
      if (isCancelled(e)) return 'cancelled' as const;
      throw e;
    },
  );
  await Promise.race([secondTile, outcome]);
  off();
  const tileMs = (tileEnds[1] ?? NaN) - (tileEnds[0] ?? NaN);
  if (when === 'mid-tile') await sleep(tileMs / 2);
  const sent = performance.now();
  daemon.connection.cancel(pending.id);
  const result = await outcome;
  const cancelLatencyMs = performance.now() - sent;
  if (result !== 'cancelled')
    throw new Error(`the job finished before the cancel took effect (${total} tiles); use a larger input`);
  return { when, inputSize, tiles: total, tileMs, cancelLatencyMs, withinOneTile: cancelLatencyMs <= tileMs };
}

export async function measureCancel(
  daemon: BenchDaemon,
  model: string,
  inputSize: number,
  when: readonly CancelTiming['when'][],
): Promise<CancelTiming[]> {
  const dir = benchTempDir('cancel');
  const input = await squarePhotoPng('baboon', inputSize, path.join(dir, 'in.png'));
  const output = path.join(dir, 'out.png');
  const out: CancelTiming[] = [];
  for (const w of when) out.push(await cancelOnce(daemon, model, input, output, w, inputSize));
  return out;
}
