// The ceilings the daemon is measured against, both in this process through onnxruntime:
// one whole-image pass of a model (no tiling, no decode or encode) in the fastest runtime
// configuration found for it (threads, executor, graph optimisation; searchCeiling), and a
// large float32 MatMul with the daemon's session options (the machine's practical
// multiply rate).
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { GraphBuilder } from '../models/onnx/graph';
import { sessionOptions } from '../daemon/runtime/session-options';
import type { ExecutionProvider } from '../contract/vocabulary';
import { selfCpuMs } from './cpu';
import { median } from './median';

/** Multiply-accumulates per input pixel, from the networks' layer shapes (x4 models). */
export const MACS_PER_INPUT_PIXEL: Readonly<Record<string, number>> = {
  'realesrgan-x4plus': 17.93e6,
  'realesr-general-x4v3': 1.21e6,
};

/** Achieved GFLOP/s for `mpixPerS` input megapixels per second (FLOPs = 2 × MACs). */
export function achievedGflops(model: string, mpixPerS: number): number | null {
  const macs = MACS_PER_INPUT_PIXEL[model];
  return macs === undefined ? null : (mpixPerS * 1e6 * 2 * macs) / 1e9;
}

/** An image as the daemon feeds it: planar RGB float32 in [0, 1]. */
export async function planarInput(file: string): Promise<{ width: number; height: number; data: Float32Array }> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const plane = info.width * info.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = (data[i * 3 + c] as number) / 255;
  return { width: info.width, height: info.height, data: out };
}

/** The session options a ceiling is searched over. */
export interface RuntimeConfig {
  readonly intraOpThreads: number;
  readonly executionMode: 'sequential' | 'parallel';
  /** The parallel executor's pool (the sequential one has none). */
  readonly interOpThreads?: number;
  readonly graphOptimizationLevel: NonNullable<ort.InferenceSession.SessionOptions['graphOptimizationLevel']>;
}

export function describeConfig(c: RuntimeConfig): string {
  const inter = c.interOpThreads === undefined ? '' : `, inter-op ${c.interOpThreads}`;
  return `${c.intraOpThreads} threads, ${c.executionMode}${inter}, optimisation ${c.graphOptimizationLevel}`;
}

/** The daemon's own configuration on this machine (daemon/runtime/providers.ts, threads 0). */
export function daemonConfig(provider: ExecutionProvider): RuntimeConfig {
  const o = sessionOptions(provider);
  if (o.intraOpNumThreads === undefined || o.executionMode === undefined || o.graphOptimizationLevel === undefined)
    throw new Error("the daemon's session options no longer state threads, executor and optimisation");
  return {
    intraOpThreads: o.intraOpNumThreads,
    executionMode: o.executionMode,
    ...(o.interOpNumThreads !== undefined && { interOpThreads: o.interOpNumThreads }),
    graphOptimizationLevel: o.graphOptimizationLevel,
  };
}

/**
 * The configurations a ceiling search times: the daemon's first, then the sequential
 * executor on every core, the daemon's on half of them (logical cores can share a physical
 * one), the parallel executor with an inter-op pool of one thread and of every core, and
 * the daemon's at the lower optimisation levels.
 */
export function runtimeCandidates(provider: ExecutionProvider, cores = os.availableParallelism()): RuntimeConfig[] {
  const daemon = daemonConfig(provider);
  const sequential: RuntimeConfig = {
    intraOpThreads: cores,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const all: RuntimeConfig[] = [
    daemon,
    sequential,
    { ...daemon, intraOpThreads: Math.max(1, Math.floor(cores / 2)) },
    { ...sequential, executionMode: 'parallel', interOpThreads: 1 },
    { ...sequential, executionMode: 'parallel', interOpThreads: cores },
    { ...daemon, graphOptimizationLevel: 'extended' },
    { ...daemon, graphOptimizationLevel: 'basic' },
  ];
  const seen = new Set<string>();
  return all.filter((c) => {
    const key = describeConfig(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function optionsOf(provider: ExecutionProvider, c: RuntimeConfig): ort.InferenceSession.SessionOptions {
  return {
    ...sessionOptions(provider, { threads: c.intraOpThreads }),
    executionMode: c.executionMode,
    graphOptimizationLevel: c.graphOptimizationLevel,
    ...(c.interOpThreads === undefined ? {} : { interOpNumThreads: c.interOpThreads }),
  };
}

export class WholeImageSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: RuntimeConfig,
  ) {}

  /** A session in `config`, by default the daemon's own. */
  static async open(
    modelPath: string,
    provider: ExecutionProvider,
    config: RuntimeConfig = daemonConfig(provider),
  ): Promise<WholeImageSession> {
    return new WholeImageSession(await ort.InferenceSession.create(modelPath, optionsOf(provider, config)), config);
  }

  /** Milliseconds of one `run` on the whole image. */
  async timeRun(image: { width: number; height: number; data: Float32Array }): Promise<number> {
    const input = new ort.Tensor('float32', image.data, [1, 3, image.height, image.width]);
    const start = performance.now();
    const result = await this.session.run({ [this.session.inputNames[0] as string]: input });
    const ms = performance.now() - start;
    for (const t of Object.values(result)) t.dispose();
    return ms;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export interface ConfigTrial {
  readonly config: RuntimeConfig;
  readonly description: string;
  /** Median whole-image milliseconds on the search image (after one warm-up run). */
  readonly ms: number;
}

export interface CeilingSearch {
  readonly model: string;
  /** The photo crop the configurations were timed on. */
  readonly searchSize: number;
  readonly trials: readonly ConfigTrial[];
  readonly best: ConfigTrial;
  /** The daemon's configuration's time over the best's (1: the daemon's is the best). */
  readonly daemonOverBest: number;
}

/**
 * Times each candidate configuration on `image` (a photo crop: the models' cost depends on
 * the data, so never random input), `runs` times after a warm-up, and keeps the fastest.
 */
export async function searchCeiling(
  model: string,
  modelPath: string,
  provider: ExecutionProvider,
  image: { width: number; height: number; data: Float32Array },
  runs: number,
  log: (line: string) => void,
): Promise<CeilingSearch> {
  const trials: ConfigTrial[] = [];
  for (const config of runtimeCandidates(provider)) {
    const session = await WholeImageSession.open(modelPath, provider, config);
    try {
      await session.timeRun(image);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) times.push(await session.timeRun(image));
      const trial = { config, description: describeConfig(config), ms: median(times) };
      trials.push(trial);
      log(`  ${model} ${image.width}² ${trial.description}: ${trial.ms.toFixed(0)} ms`);
    } finally {
      await session.release();
    }
  }
  const [daemonTrial] = trials;
  if (!daemonTrial) throw new Error('no runtime configuration to try');
  const best = trials.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { model, searchSize: image.width, trials, best, daemonOverBest: daemonTrial.ms / best.ms };
}

function matmulModel(n: number): Uint8Array {
  const g = new GraphBuilder('matmul');
  const a = g.input('a', [n, n]);
  // B is a constant, as convolution weights are, so onnxruntime may prepack it the same way.
  const values = new Float32Array(n * n);
  for (let i = 0; i < values.length; i++) values[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const b = g.f32('b', values, [n, n]);
  g.output(g.op('MatMul', [a, b]), 'c', [n, n]);
  return g.toBytes();
}

export interface MatmulRate {
  readonly n: number;
  readonly bestMs: number;
  readonly gflops: number;
  /** The fewest CPU milliseconds (all threads) a run took, and the rate per CPU-second: steadier on a shared machine. */
  readonly bestCpuMs: number;
  readonly gflopsPerCpuSecond: number;
  readonly runs: number;
}

/** Best-of-`runs` GFLOP/s (2·n³ per product) of an n×n · n×n float32 MatMul, in wall and in CPU time. */
export async function measureMatmul(provider: ExecutionProvider, n: number, runs: number): Promise<MatmulRate> {
  const session = await ort.InferenceSession.create(matmulModel(n), sessionOptions(provider));
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 40503) % 997) / 997 - 0.5;
  const input = new ort.Tensor('float32', a, [n, n]);
  let bestMs = Infinity;
  let bestCpuMs = Infinity;
  for (let r = 0; r < runs + 1; r++) {
    const cpuStart = selfCpuMs();
    const start = performance.now();
    const out = await session.run({ a: input });
    const ms = performance.now() - start;
    const cpuMs = selfCpuMs() - cpuStart;
    for (const t of Object.values(out)) t.dispose();
    // The first run is a warm-up.
    if (r > 0) {
      bestMs = Math.min(bestMs, ms);
      bestCpuMs = Math.min(bestCpuMs, cpuMs);
    }
  }
  await session.release();
  const flop = 2 * n ** 3;
  return {
    n,
    bestMs,
    gflops: flop / (bestMs / 1000) / 1e9,
    bestCpuMs,
    gflopsPerCpuSecond: flop / (bestCpuMs / 1000) / 1e9,
    runs,
  };
}
