// What `auto` makes of its measurements: the first GPU provider, in AUTO_ORDER, that ran
// the probe graph wholly on its device and faster than the CPU. A software adapter (Mesa's
// lavapipe, SwiftShader, WARP) runs on the same CPU with worse kernels and never beats the
// CPU provider (lavapipe: 15-40× slower), so timing rules it out without a list of names;
// onnxruntime-node 1.30 exposes no adapter type, vendor or description to read instead.
import type { ProviderStatus } from '../../contract/protocol';
import type { ExecutionProvider } from '../../contract/vocabulary';

/** The order `auto` tries accelerators in; the CPU always works and is the fallback. */
export const AUTO_ORDER = ['cuda', 'dml', 'coreml', 'webgpu'] as const satisfies readonly ExecutionProvider[];
export type GpuProvider = (typeof AUTO_ORDER)[number];

export function isGpuProvider(name: string): name is GpuProvider {
  return (AUTO_ORDER as readonly string[]).includes(name);
}

export type Measurement =
  | {
      readonly provider: GpuProvider;
      readonly outcome: 'ran';
      readonly ms: number;
      /** Whether the device also ran the fp16 probe (measured only for a provider that beat the CPU). */
      readonly deviceFp16: boolean;
    }
  | {
      readonly provider: GpuProvider;
      readonly outcome: 'failed';
      readonly reason: string;
      /** The probe process was stopped or died: the provider's own verdict is unknown. */
      readonly interrupted?: true;
    };

export interface AutoDecision {
  readonly active: ExecutionProvider;
  readonly reason: string;
  readonly statuses: readonly ProviderStatus[];
  readonly deviceFp16: boolean;
}

export function beatsCpu(ms: number, cpuMs: number): boolean {
  return ms < cpuMs;
}

function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/**
 * `unavailable`: providers not probed because they cannot be candidates here (not in this
 * build, files missing), with the reason; `measured`: the candidates probed, in order;
 * `cpuMs`: the CPU's time on the same probe, or null with `cpuProblem` when it could not be
 * measured.
 */
export function decideAuto(
  unavailable: readonly ProviderStatus[],
  measured: readonly Measurement[],
  cpuMs: number | null,
  cpuProblem?: string,
): AutoDecision {
  const winner = cpuMs === null ? undefined : measured.find((m) => m.outcome === 'ran' && beatsCpu(m.ms, cpuMs));
  const statuses: ProviderStatus[] = [];
  for (const provider of AUTO_ORDER) {
    const skipped = unavailable.find((s) => s.provider === provider);
    const m = measured.find((x) => x.provider === provider);
    if (skipped) statuses.push(skipped);
    else if (!m)
      statuses.push({
        provider,
        available: false,
        reason: winner ? `not probed: ${winner.provider} comes first in auto's order` : 'not probed',
      });
    else if (m.outcome === 'failed') statuses.push({ provider, available: false, reason: m.reason });
    else if (m === winner) statuses.push({ provider, available: true });
    else
      statuses.push({
        provider,
        available: true,
        reason:
          cpuMs === null
            ? 'ran the probe, but the CPU could not be timed to compare'
            : `ran the probe ${(m.ms / cpuMs).toFixed(1)}× slower than the CPU (${duration(m.ms)} against ${duration(cpuMs)}): a software adapter, not chosen`,
      });
  }
  if (winner?.outcome === 'ran' && cpuMs !== null) {
    statuses.push({ provider: 'cpu', available: true, reason: `available; ${winner.provider} is faster` });
    return {
      active: winner.provider,
      reason: `auto: ${winner.provider} ran the probe ${(cpuMs / winner.ms).toFixed(1)}× faster than the CPU (${duration(winner.ms)} against ${duration(cpuMs)})`,
      statuses,
      deviceFp16: winner.deviceFp16,
    };
  }
  statuses.push({ provider: 'cpu', available: true });
  const probed = measured.map((m) =>
    m.outcome === 'failed'
      ? `${m.provider} failed: ${m.reason}`
      : cpuMs === null
        ? `${m.provider} ran`
        : `${m.provider} ran the probe ${(m.ms / cpuMs).toFixed(1)}× slower than the CPU (a software adapter)`,
  );
  const skipped = unavailable.map((s) => s.provider);
  const why =
    measured.length === 0
      ? 'no GPU provider can run here'
      : cpuMs === null
        ? `the probe could not time the CPU (${cpuProblem ?? 'unknown error'})`
        : 'no GPU provider beat the CPU';
  const reason = `auto: ${why}${probed.length > 0 ? `: ${probed.join('; ')}` : ''}${skipped.length > 0 ? ` (${skipped.join(', ')}: not available here)` : ''}`;
  return { active: 'cpu', reason, statuses, deviceFp16: false };
}
