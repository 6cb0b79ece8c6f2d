// The goals the defaults must meet on the machine the bench runs on, each judged from
// the measured numbers and reported PASS/FAIL with them.
import { WARM_LOADS, type LifecycleResult } from './lifecycle';
import type { MatmulRate } from './ort-ceiling';
import type { SpeedSeries } from './speed';

export interface Goal {
  readonly goal: string;
  readonly pass: boolean;
  readonly detail: string;
}

export const E2E_OVER_CEILING_MIN = 0.85;
export const E2E_GOAL_MIN_SIZE = 512;
export const CEILING_OVER_MATMUL_MIN = 0.6;
export const WARM_LOAD_MAX_MS = 5;

export function judgeGoals(
  speed: readonly SpeedSeries[],
  matmul: MatmulRate | null,
  lifecycle: LifecycleResult | null,
): Goal[] {
  const goals: Goal[] = [];
  for (const s of speed) {
    for (const p of s.points.filter((q) => q.size >= E2E_GOAL_MIN_SIZE)) {
      // On a shared machine one wall-clock run can land in a quiet or a busy moment, so a
      // pass needs the CPU-time ratio too. 1 / work ratio is shown, not enforced: smaller
      // tiles can be cheaper per pixel than a whole-image pass (cache), so it is no hard cap.
      const bound = 1 / p.tileWork.workRatio;
      goals.push({
        goal: `${s.model} ${p.size}²: end to end ≥ ${E2E_OVER_CEILING_MIN} × ceiling`,
        pass: Math.min(p.e2eOverCeiling, p.cpuTimeRatio) >= E2E_OVER_CEILING_MIN,
        detail:
          `wall ${p.e2eOverCeiling.toFixed(3)}, CPU time ${p.cpuTimeRatio.toFixed(3)} (${p.e2eMpixPerS.toFixed(4)} vs ${p.ceilingMpixPerS.toFixed(4)} MP/s; load ${p.loadAverage.toFixed(1)}; ` +
          `${p.tileWork.tiles} tiles of ${p.tileWork.tileWidth}², ${p.tileWork.workRatio.toFixed(3)}× the pixels, 1 / work = ${bound.toFixed(3)})`,
      });
    }
    const largest = s.points[s.points.length - 1];
    if (matmul && largest && largest.ceilingGflops !== null) {
      const ratio = largest.ceilingGflops / matmul.gflops;
      goals.push({
        goal: `${s.model}: ceiling ≥ ${CEILING_OVER_MATMUL_MIN * 100}% of the MatMul rate`,
        pass: ratio >= CEILING_OVER_MATMUL_MIN,
        detail: `${(ratio * 100).toFixed(1)}% (${largest.ceilingGflops.toFixed(1)} of ${matmul.gflops.toFixed(1)} GFLOP/s, at ${largest.size}²)`,
      });
    }
  }
  if (lifecycle) {
    for (const l of lifecycle.loads) {
      goals.push({
        goal: `${l.model}: warm model load < ${WARM_LOAD_MAX_MS} ms`,
        // The round trip too: a job pays the daemon's lookup of the model as well as the cache hit.
        pass: l.warmMs < WARM_LOAD_MAX_MS && l.warmRoundTripMs < WARM_LOAD_MAX_MS && l.warmCached,
        detail: `${l.warmMs.toFixed(3)} ms in the daemon, ${l.warmRoundTripMs.toFixed(2)} ms round trip (median of ${WARM_LOADS}; cold ${l.coldMs.toFixed(0)} ms)`,
      });
    }
    for (const c of lifecycle.cancels) {
      goals.push({
        goal: `cancel within one tile (${c.when})`,
        pass: c.withinOneTile,
        detail: `${c.cancelLatencyMs.toFixed(0)} ms after $/cancelRequest; one tile takes ${c.tileMs.toFixed(0)} ms (${c.tiles} tiles, ${c.inputSize}² input)`,
      });
    }
  }
  return goals;
}
