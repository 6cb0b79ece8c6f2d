// Whether the daemon keeps the machine busy (`npm run bench -- --only busy`): end to end
// against the best whole-image onnxruntime run, found by searchCeiling, at the sizes and
// models that matter; the wall time of a 1024² compact job and the PNG encoder's share of
// it (a 4096² output); and the resident peak of a 2000² → 8000² job at the default memory
// budget. Inputs are photo crops (aloeL.jpg, 1282×1110; the 2048² input is that photo
// enlarged, as no photo here is so large), never random data: the models' cost depends on
// their input. End to end and ceiling alternate, so a change in the machine's load falls
// on both.
import * as path from 'node:path';
import type { UpscaleResult } from '../contract/protocol';
import type { ExecutionProvider } from '../contract/vocabulary';
import { builtinModelsDir } from '../models/paths';
import { loadAverage, coreCount } from './cpu';
import { benchTempDir, timedUpscale, type BenchDaemon } from './daemon-client';
import type { Goal } from './goals';
import { photoCropPng, squarePhotoPng } from './images';
import { measureMemory, type MemoryPoint } from './memory';
import { median, medianBy } from './median';
import { WholeImageSession, planarInput, searchCeiling, type CeilingSearch } from './ort-ceiling';
import { fixed, formatTable } from './table';
import { tileWorkOf, type TileWork } from './tile-work';

const GENERAL = 'realesr-general-x4v3';
const X4PLUS = 'realesrgan-x4plus';
const PHOTO = 'aloeL';
/** The photo's shorter side: larger inputs are the photo enlarged. */
const PHOTO_SIDE = 1110;

export const BUSY_GOALS = {
  /** End to end over the best whole-image run, at every size measured. */
  e2eOverCeilingMin: 0.92,
  /** The 1024² compact job's wall time before this work (issue 28), and the speed-up asked of it. */
  wall1024BeforeMs: 23_900,
  wall1024SpeedUp: 1.8,
  /** Resident peak of a 2000² → 8000² job at the default budget. */
  memoryMaxBytes: 1.5 * 2 ** 30,
} as const;

export interface BusyPlan {
  readonly models: readonly {
    readonly model: string;
    readonly sizes: readonly number[];
    readonly searchSize: number;
  }[];
  /** Alternating end-to-end and ceiling runs per size (the median of each is reported). */
  readonly runs: number;
  /** Runs per configuration in the ceiling search. */
  readonly searchRuns: number;
  /** The memory job's input side (its output is 4 times that). */
  readonly memoryInput: number;
}

export const BUSY_PLAN: BusyPlan = {
  models: [
    { model: GENERAL, sizes: [512, 1024, 2048], searchSize: 512 },
    { model: X4PLUS, sizes: [512], searchSize: 192 },
  ],
  runs: 3,
  searchRuns: 2,
  memoryInput: 2000,
};

/** `--quick`: the same checks on small images, to see the section work (its figures judge nothing). */
export const BUSY_QUICK_PLAN: BusyPlan = {
  models: [
    { model: GENERAL, sizes: [128, 256], searchSize: 128 },
    { model: X4PLUS, sizes: [64], searchSize: 64 },
  ],
  runs: 2,
  searchRuns: 1,
  memoryInput: 256,
};

export interface BusyPoint {
  readonly model: string;
  readonly size: number;
  readonly e2eMs: readonly number[];
  readonly ceilingMs: readonly number[];
  readonly e2eMedianMs: number;
  readonly ceilingMedianMs: number;
  readonly e2eOverCeiling: number;
  /** The daemon's stage timings of the median end-to-end run. */
  readonly timings: UpscaleResult['timings'];
  readonly tileWork: TileWork;
  readonly loadAverage: number;
}

export interface BusyResult {
  readonly cores: number;
  readonly loadAverageAtStart: number;
  readonly loadAverageAtEnd: number;
  readonly searches: readonly CeilingSearch[];
  readonly points: readonly BusyPoint[];
  readonly memory: MemoryPoint | null;
}

async function photoInput(size: number, file: string): Promise<string> {
  return size <= PHOTO_SIDE ? photoCropPng(PHOTO, size, size, file) : squarePhotoPng(PHOTO, size, file);
}

export async function measureBusy(
  daemon: BenchDaemon,
  provider: ExecutionProvider,
  plan: BusyPlan,
  log: (line: string) => void,
): Promise<BusyResult> {
  const dir = benchTempDir('busy');
  const loadAverageAtStart = loadAverage();
  const searches: CeilingSearch[] = [];
  const points: BusyPoint[] = [];
  for (const m of plan.models) {
    const modelPath = path.join(builtinModelsDir(), `${m.model}.onnx`);
    const searchImage = await planarInput(await photoInput(m.searchSize, path.join(dir, `search-${m.model}.png`)));
    log(`busy: the fastest whole-image configuration of ${m.model} on a ${m.searchSize}² photo crop`);
    const search = await searchCeiling(m.model, modelPath, provider, searchImage, plan.searchRuns, log);
    searches.push(search);
    log(`  best: ${search.best.description}; the daemon's takes ${search.daemonOverBest.toFixed(3)}× its time`);
    const ceiling = await WholeImageSession.open(modelPath, provider, search.best.config);
    try {
      for (const size of m.sizes) {
        const input = await photoInput(size, path.join(dir, `in-${size}.png`));
        const output = path.join(dir, `out-${m.model}-${size}.png`);
        const planar = await planarInput(input);
        const load = loadAverage();
        // Warm-up (discarded): the model's session, and onnxruntime's arena for this shape.
        await timedUpscale(daemon, { input, output, model: m.model, scale: 4 });
        await ceiling.timeRun(planar);
        const e2e: { ms: number; result: UpscaleResult }[] = [];
        const ceilingMs: number[] = [];
        for (let r = 0; r < plan.runs; r++) {
          const t = await timedUpscale(daemon, { input, output, model: m.model, scale: 4 });
          e2e.push({ ms: t.wallMs, result: t.result });
          ceilingMs.push(await ceiling.timeRun(planar));
        }
        const mid = medianBy(e2e, (run) => run.ms);
        const point: BusyPoint = {
          model: m.model,
          size,
          e2eMs: e2e.map((run) => run.ms),
          ceilingMs,
          e2eMedianMs: median(e2e.map((run) => run.ms)),
          ceilingMedianMs: median(ceilingMs),
          e2eOverCeiling: median(ceilingMs) / median(e2e.map((run) => run.ms)),
          timings: mid.result.timings,
          tileWork: tileWorkOf(mid.result),
          loadAverage: load,
        };
        points.push(point);
        log(
          `  ${m.model} ${size}²: e2e ${point.e2eMs.map((ms) => ms.toFixed(0)).join('/')} ms, ceiling ${ceilingMs.map((ms) => ms.toFixed(0)).join('/')} ms, ratio ${point.e2eOverCeiling.toFixed(3)}, load ${load.toFixed(1)}`,
        );
      }
    } finally {
      await ceiling.release();
    }
  }
  log(`busy: resident peak of ${plan.memoryInput}² → ${plan.memoryInput * 4}² at the default memory budget`);
  const [memory] = await measureMemory(provider, GENERAL, [plan.memoryInput], log);
  return {
    cores: coreCount(),
    loadAverageAtStart,
    loadAverageAtEnd: loadAverage(),
    searches,
    points,
    memory: memory ?? null,
  };
}

/** The 1024² compact job: its wall time and the encoder's share (its output is 4096²). */
function compactAt1024(result: BusyResult): BusyPoint | undefined {
  return result.points.find((p) => p.model === GENERAL && p.size === 1024);
}

/** Issue 28's done-when checks, judged from the section's figures. */
export function busyGoals(result: BusyResult): Goal[] {
  const goals: Goal[] = result.points.map((p) => ({
    goal: `${p.model} ${p.size}²: end to end ≥ ${BUSY_GOALS.e2eOverCeilingMin} × the best whole-image run`,
    pass: p.e2eOverCeiling >= BUSY_GOALS.e2eOverCeilingMin,
    detail: `${p.e2eOverCeiling.toFixed(3)} (median e2e ${(p.e2eMedianMs / 1000).toFixed(2)} s, ceiling ${(p.ceilingMedianMs / 1000).toFixed(2)} s, ${p.e2eMs.length} alternating runs; ${p.tileWork.tiles} tiles of ${p.tileWork.tileWidth}×${p.tileWork.tileHeight})`,
  }));
  const at1024 = compactAt1024(result);
  if (at1024) {
    const limit = BUSY_GOALS.wall1024BeforeMs / BUSY_GOALS.wall1024SpeedUp;
    goals.push({
      goal: `${GENERAL} 1024²: wall time ≤ ${(limit / 1000).toFixed(1)} s (${BUSY_GOALS.wall1024SpeedUp}× under ${BUSY_GOALS.wall1024BeforeMs / 1000} s)`,
      pass: at1024.e2eMedianMs <= limit,
      detail: `${(at1024.e2eMedianMs / 1000).toFixed(2)} s, ${(BUSY_GOALS.wall1024BeforeMs / at1024.e2eMedianMs).toFixed(2)}× faster`,
    });
  }
  if (result.memory) {
    const m = result.memory;
    goals.push({
      goal: `${m.inputSize}² → ${m.outputSize}² at the default memory budget: resident peak < ${(BUSY_GOALS.memoryMaxBytes / 2 ** 30).toFixed(1)} GiB`,
      pass: m.hwmBytes < BUSY_GOALS.memoryMaxBytes,
      detail: `VmHWM ${(m.hwmBytes / 2 ** 20).toFixed(0)} MiB, ${(m.ms / 1000).toFixed(1)} s`,
    });
  }
  return goals;
}

/** The section's report: issue 28's done-when table, then the ceiling searches. */
export function busyTable(result: BusyResult): string {
  const rows: string[][] = result.points.map((p) => [
    `e2e / best ceiling, ${p.model === GENERAL ? 'compact' : 'x4plus'} ${p.size}²`,
    fixed(p.e2eOverCeiling, 3),
    `≥ ${BUSY_GOALS.e2eOverCeilingMin}`,
    `e2e ${p.e2eMs.map((ms) => fixed(ms / 1000, 2)).join(' / ')} s, ceiling ${p.ceilingMs.map((ms) => fixed(ms / 1000, 2)).join(' / ')} s, ${p.tileWork.tiles}×${p.tileWork.tileWidth}`,
  ]);
  const at1024 = compactAt1024(result);
  if (at1024) {
    rows.push([
      'wall time, compact 1024²',
      `${fixed(at1024.e2eMedianMs / 1000, 2)} s`,
      `≤ ${fixed(BUSY_GOALS.wall1024BeforeMs / BUSY_GOALS.wall1024SpeedUp / 1000, 1)} s`,
      `${fixed(BUSY_GOALS.wall1024BeforeMs / at1024.e2eMedianMs, 2)}× under ${BUSY_GOALS.wall1024BeforeMs / 1000} s`,
    ]);
    const t = at1024.timings;
    rows.push([
      'encoder share of wall time, 4096² output',
      `${fixed((100 * t.encodeMs) / at1024.e2eMedianMs, 1)}%`,
      'reported',
      `encode ${fixed(t.encodeMs, 0)} ms after the last tile (the PNG is written beside inference), infer ${fixed(t.inferMs, 0)} ms, decode ${fixed(t.decodeMs, 0)} ms`,
    ]);
  }
  const m = result.memory;
  if (m) {
    rows.push([
      `resident peak, ${m.inputSize}² → ${m.outputSize}², default budget`,
      `${fixed(m.hwmBytes / 2 ** 20, 0)} MiB`,
      `< ${fixed(BUSY_GOALS.memoryMaxBytes / 2 ** 20, 0)} MiB`,
      `baseline ${fixed(m.baselineBytes / 2 ** 20, 0)} MiB, ${fixed(m.ms / 1000, 1)} s`,
    ]);
  }
  const loaded = Math.max(result.loadAverageAtStart, result.loadAverageAtEnd) > result.cores * 0.75;
  const note = `${result.cores} cores; load average ${result.loadAverageAtStart.toFixed(1)} at the start, ${result.loadAverageAtEnd.toFixed(1)} at the end${loaded ? ': THE MACHINE WAS BUSY, these figures are not final' : ''}`;
  const searches = result.searches
    .map(
      (s) =>
        `${s.model}, ${s.searchSize}² photo crop (the daemon's configuration first; best: ${s.best.description}, the daemon's ${s.daemonOverBest.toFixed(3)}× its time)\n` +
        formatTable(
          ['configuration', 'ms'],
          s.trials.map((t) => [t.description, fixed(t.ms, 0)]),
        ),
    )
    .join('\n\n');
  return `${formatTable(['check', 'measured', 'goal', 'detail'], rows)}\n${note}\n\n${searches}`;
}
