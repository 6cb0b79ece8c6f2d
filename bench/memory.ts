// Peak resident memory of the daemon's process tree during one job, sampled from
// /proc/<pid>/status (VmRSS every few milliseconds, and VmHWM, the kernel's own peak,
// at the end). Each size runs in a fresh daemon so VmHWM belongs to that job alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionProviderChoice } from '../contract/vocabulary';
import { benchTempDir, startBenchDaemon, timedUpscale } from './daemon-client';
import { squarePhotoPng } from './images';
import { Requests } from '../contract/methods';
import type { UpscalePlan } from '../contract/protocol';

const MIB = 1024 * 1024;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process has ended
  }
}

/** The process and all its descendants (onnxruntime and sharp use threads, but be sure). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(/\s+/))
          if (c) out.push(Number(c));
      } catch {
        // the task ended between listing and reading
      }
    }
  }
  return out;
}

export function treeRssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  return processTree(pid).reduce((sum, p) => sum + statusKb(p, field) * 1024, 0);
}

export interface MemoryPoint {
  readonly inputSize: number;
  readonly outputSize: number;
  /** The request's memory budget in MiB; null: the default. */
  readonly budgetMib: number | null;
  /** How the daemon cut the model's pass: "whole", or "4 of 2000×532". */
  readonly tiling: string;
  readonly ms: number;
  /** Tree RSS after initialize and models/load, before the job. */
  readonly baselineBytes: number;
  /** Largest sampled tree VmRSS during the job. */
  readonly sampledPeakBytes: number;
  /** The kernel's VmHWM of the daemon at the end of the job. */
  readonly hwmBytes: number;
  /** The final image as 8-bit RGB, and as the float32 planar buffer the daemon assembles. */
  readonly outputRasterBytes: number;
  readonly outputFloatBytes: number;
  /** VmHWM minus the baseline minus the 8-bit output raster. */
  readonly hwmOverBaselineMinusRaster: number;
  /** The same, also minus the float32 output buffer: what is left should not grow with size. */
  readonly hwmOverBaselineMinusBuffers: number;
}

/**
 * How the peak beyond the baseline and the 8-bit output raster grows with the output, in
 * bytes per output pixel between the smallest and the largest job: what a float32 output
 * buffer would add is 12. Null with fewer than two sizes.
 */
export function growthBeyondRaster(points: readonly MemoryPoint[]): number | null {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last || first === last) return null;
  const pixels = (p: MemoryPoint) => p.outputSize * p.outputSize;
  return (last.hwmOverBaselineMinusRaster - first.hwmOverBaselineMinusRaster) / (pixels(last) - pixels(first));
}

/** The tiling of a job's passes as its plan states it. */
export function describeTiling(plan: Pick<UpscalePlan, 'passes'> | undefined): string {
  if (!plan) return 'unknown';
  return plan.passes
    .map((p) => (p.tiles === 1 ? 'whole' : `${p.tiles} of ${p.tileWidth}×${p.tileHeight}`))
    .join(', then ');
}

export async function measureMemory(
  provider: ExecutionProviderChoice,
  model: string,
  sizes: readonly number[],
  log: (line: string) => void,
  /** MiB for the job's `memoryBudget`; the daemon's default when absent. */
  budgetMib?: number,
): Promise<MemoryPoint[]> {
  const dir = benchTempDir('memory');
  const points: MemoryPoint[] = [];
  for (const size of sizes) {
    const input = await squarePhotoPng('fruits', size, path.join(dir, `in-${size}.png`));
    const daemon = await startBenchDaemon(provider);
    try {
      await daemon.connection.request(Requests.modelsLoad, { id: model });
      const baselineBytes = treeRssBytes(daemon.pid);
      let sampledPeakBytes = baselineBytes;
      const sampler = setInterval(() => {
        sampledPeakBytes = Math.max(sampledPeakBytes, treeRssBytes(daemon.pid));
      }, 20);
      const t = await timedUpscale(daemon, {
        input,
        output: path.join(dir, `out-${size}.png`),
        model,
        scale: 4,
        memoryBudget: budgetMib,
      });
      clearInterval(sampler);
      const hwmBytes = treeRssBytes(daemon.pid, 'VmHWM');
      const outPixels = t.result.width * t.result.height;
      const outputRasterBytes = outPixels * 3;
      const outputFloatBytes = outPixels * 3 * 4;
      const point: MemoryPoint = {
        inputSize: size,
        outputSize: t.result.width,
        budgetMib: budgetMib ?? null,
        tiling: describeTiling(t.result.plan),
        ms: t.wallMs,
        baselineBytes,
        sampledPeakBytes,
        hwmBytes,
        outputRasterBytes,
        outputFloatBytes,
        hwmOverBaselineMinusRaster: hwmBytes - baselineBytes - outputRasterBytes,
        hwmOverBaselineMinusBuffers: hwmBytes - baselineBytes - outputRasterBytes - outputFloatBytes,
      };
      points.push(point);
      log(
        `  ${size}² → ${t.result.width}² (${budgetMib === undefined ? 'default budget' : `budget ${budgetMib} MiB`}, ${point.tiling}): ${(t.wallMs / 1000).toFixed(1)} s, baseline ${(baselineBytes / MIB).toFixed(0)} MiB, ` +
          `peak RSS ${(sampledPeakBytes / MIB).toFixed(0)} MiB, VmHWM ${(hwmBytes / MIB).toFixed(0)} MiB, ` +
          `HWM − baseline − u8 raster ${(point.hwmOverBaselineMinusRaster / MIB).toFixed(0)} MiB, − float buffer too ${(point.hwmOverBaselineMinusBuffers / MIB).toFixed(0)} MiB`,
      );
    } finally {
      await daemon.stop();
    }
  }
  return points;
}
