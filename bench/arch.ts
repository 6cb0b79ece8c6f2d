// `--only arch`: each model of bench/arch-models.json (an architecture at spandrel's default
// configuration) converted from the full-size random weights bench/make_arch_weights.py
// writes to the cache, and timed whole-image on a 256² photo crop through onnxruntime with
// the daemon's session options: the ceiling any tiling of it can reach. Its rate in
// GFLOP/s (2 × the multiply-accumulates the graph does, counted by macs.ts) set against
// the machine's MatMul rate says how well the graph's operators use the CPU, and the
// profiler's three most expensive operator types say where the rest goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionProvider } from '../contract/vocabulary';
import { detectArchitecture, describeArch } from '../models/architectures/detect';
import { readSafetensors } from '../models/readers/safetensors';
import { cacheRoot } from '../models/paths';
import { benchTempDir } from './daemon-client';
import { squarePhotoPng } from './images';
import { countMacs } from './macs';
import { median } from './median';
import { WholeImageSession, planarInput } from './ort-ceiling';
import { profileOperators, type OpShare } from './ort-profile';
import { loadAverage, selfCpuMs } from './cpu';

const MODELS_FILE = path.join(__dirname, '..', '..', 'bench', 'arch-models.json');
const WEIGHTS_SCRIPT = 'bench/make_arch_weights.py';
const TOP_OPS = 3;

interface Entry {
  readonly name: string;
}

export interface ArchSpeed {
  readonly name: string;
  /** The model as the registry describes it, e.g. "PLKSR / RealPLKSR x4 — RealPLKSR (GroupNorm, width 64, …)". */
  readonly model: string;
  readonly size: number;
  /** Milliseconds of each timed whole-image run, after one warm-up. */
  readonly runsMs: readonly number[];
  readonly medianMs: number;
  readonly bestMs: number;
  readonly macsPerPixel: number;
  /** 2 × MACs per second at the median run, and at the best. */
  readonly gflops: number;
  readonly bestGflops: number;
  /** CPU milliseconds (all threads) of the run with the fewest, and the rate per CPU-second. */
  readonly bestCpuMs: number;
  readonly gflopsPerCpuSecond: number;
  readonly topOps: readonly OpShare[];
  readonly loadAverage: number;
}

export interface ArchBench {
  readonly measured: readonly ArchSpeed[];
  /** Entries whose weights are not in the cache, and the command that writes them. */
  readonly missing: readonly string[];
  readonly weightsCommand: string;
}

export function archWeightsDir(): string {
  return path.join(cacheRoot(), 'bench');
}

function entries(): Entry[] {
  const json = JSON.parse(fs.readFileSync(MODELS_FILE, 'utf8')) as { models?: readonly Entry[] };
  if (!json.models?.length) throw new Error(`${MODELS_FILE} lists no models`);
  return [...json.models];
}

async function measureOne(
  entry: Entry,
  weights: string,
  provider: ExecutionProvider,
  size: number,
  runs: number,
  dirs: { temp: string; out: string },
): Promise<ArchSpeed> {
  const sd = readSafetensors(new Uint8Array(fs.readFileSync(weights)), weights);
  const { module, config, info } = detectArchitecture(sd, weights);
  const channels = info.traits?.channels.input ?? 3;
  if (channels !== 3)
    throw new Error(`${entry.name}: the bench feeds RGB photos, the model takes ${channels} channels`);
  const modelPath = path.join(dirs.temp, `${entry.name}.onnx`);
  fs.writeFileSync(modelPath, module.build(sd, config));
  const image = await planarInput(await squarePhotoPng('baboon', size, path.join(dirs.temp, `baboon-${size}.png`)));
  const load = loadAverage();
  const session = await WholeImageSession.open(modelPath, provider);
  const runsMs: number[] = [];
  const cpuMs: number[] = [];
  try {
    await session.timeRun(image);
    for (let r = 0; r < runs; r++) {
      const cpuStart = selfCpuMs();
      runsMs.push(await session.timeRun(image));
      cpuMs.push(selfCpuMs() - cpuStart);
    }
  } finally {
    await session.release();
  }
  const macs = await countMacs(modelPath, channels, size, dirs.temp);
  const profile = await profileOperators(modelPath, `arch-${entry.name}`, provider, size, dirs.out);
  const medianMs = median(runsMs);
  const bestMs = Math.min(...runsMs);
  const rate = (ms: number): number => (2 * macs) / (ms / 1000) / 1e9;
  const bestCpuMs = Math.min(...cpuMs);
  return {
    name: entry.name,
    model: describeArch(info),
    size,
    runsMs,
    medianMs,
    bestMs,
    macsPerPixel: macs / (size * size),
    gflops: rate(medianMs),
    bestGflops: rate(bestMs),
    bestCpuMs,
    gflopsPerCpuSecond: rate(bestCpuMs),
    topOps: profile.ops.slice(0, TOP_OPS),
    loadAverage: load,
  };
}

export async function measureArchitectures(
  provider: ExecutionProvider,
  size: number,
  runs: number,
  outDir: string,
  log: (line: string) => void,
): Promise<ArchBench> {
  const dir = archWeightsDir();
  const temp = benchTempDir('arch');
  const measured: ArchSpeed[] = [];
  const missing: string[] = [];
  for (const entry of entries()) {
    const weights = path.join(dir, `${entry.name}.safetensors`);
    if (!fs.existsSync(weights)) {
      missing.push(entry.name);
      continue;
    }
    log(`arch: ${entry.name} at ${size}², ${runs} runs`);
    const result = await measureOne(entry, weights, provider, size, runs, { temp, out: outDir });
    log(
      `  ${result.model}: median ${result.medianMs.toFixed(0)} ms, best ${result.bestMs.toFixed(0)} ms, ` +
        `${(result.macsPerPixel / 1e3).toFixed(1)} kMAC/px, ${result.gflops.toFixed(1)} GFLOP/s`,
    );
    measured.push(result);
  }
  fs.rmSync(temp, { recursive: true, force: true });
  return {
    measured,
    missing,
    weightsCommand: `python ${WEIGHTS_SCRIPT} (torch and spandrel 0.4.2, as for the fixtures)`,
  };
}
