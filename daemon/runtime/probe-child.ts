// Probes that run in a child process (`upscale probe-providers MODE LIST`, the daemon's own
// entry): `auto`'s measurements, and the second look at a named provider that failed. In a
// child, what the native libraries print on stderr (Dawn's adapter warnings and rejection
// reasons, onnxruntime's colour-coded errors, the Vulkan loader) is captured instead of
// reaching the daemon's log, and a driver that crashes or hangs takes only the child down.
// The two sides speak one JSON object per stdout line.
import { spawn } from 'node:child_process';
import { AUTO_ORDER, beatsCpu, isGpuProvider, type GpuProvider, type Measurement } from './auto-choice';
import { errorLine, runsOn, timeOn } from './provider-probe';

export type ChildMode = 'measure' | 'explain';

const SECTION = '[probe-providers] ';

type Line =
  | { readonly cpuMs: number }
  | { readonly cpuProblem: string }
  | { readonly measurement: Measurement }
  | { readonly done: true };

export interface ChildReport {
  readonly cpuMs: number | null;
  readonly cpuProblem?: string;
  readonly measured: readonly Measurement[];
  /** What the libraries printed while each provider was probed, one line each, escape codes removed. */
  readonly stderr: Readonly<Partial<Record<GpuProvider | 'cpu', readonly string[]>>>;
  readonly ms: number;
}

// ---------------------------------------------------------------------------------------
// The child

/** A GPU run slower than this many times the CPU's is not timed again: one run shows it loses. */
const CLEARLY_SLOWER = 4;

async function measure(provider: GpuProvider, cpuMs: number | null): Promise<Measurement> {
  if (cpuMs === null) {
    const check = await runsOn(provider, 'fp32');
    return check.ok
      ? { provider, outcome: 'ran', ms: check.ms, deviceFp16: false }
      : { provider, outcome: 'failed', reason: check.error };
  }
  try {
    const ms = await timeOn(provider, cpuMs * CLEARLY_SLOWER);
    const deviceFp16 = beatsCpu(ms, cpuMs) && (await runsOn(provider, 'fp16')).ok;
    return { provider, outcome: 'ran', ms, deviceFp16 };
  } catch (e) {
    return { provider, outcome: 'failed', reason: errorLine(e) };
  }
}

/** The child's main: `mode` and a comma-separated list of providers from AUTO_ORDER. */
export async function probeChildMain(mode: string, list: string): Promise<number> {
  const emit = (line: Line) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const providers = list.split(',').filter(isGpuProvider);
  if ((mode !== 'measure' && mode !== 'explain') || providers.length === 0) {
    process.stderr.write(`probe-providers: expected measure|explain and providers from ${AUTO_ORDER.join(',')}\n`);
    return 2;
  }
  let cpuMs: number | null = null;
  if (mode === 'measure') {
    try {
      cpuMs = await timeOn('cpu');
      emit({ cpuMs });
    } catch (e) {
      emit({ cpuProblem: errorLine(e) });
    }
  }
  for (const provider of providers) {
    // Marks where this provider's library output starts on stderr (see splitByProvider).
    process.stderr.write(`${SECTION}${provider}\n`);
    const m = await measure(provider, cpuMs);
    emit({ measurement: m });
    if (cpuMs !== null && m.outcome === 'ran' && beatsCpu(m.ms, cpuMs)) break;
  }
  emit({ done: true });
  return 0;
}

// ---------------------------------------------------------------------------------------
// The parent

/** The child's stderr in sections: what was printed before the first provider (loading, the CPU) and during each. */
export function splitByProvider(text: string): Partial<Record<GpuProvider | 'cpu', string[]>> {
  const sections: Partial<Record<GpuProvider | 'cpu', string[]>> = {};
  let current: GpuProvider | 'cpu' = 'cpu';
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION)) {
      const name = line.slice(SECTION.length).trim();
      if (isGpuProvider(name)) current = name;
    } else if (line.trim() !== '') (sections[current] ??= []).push(line);
  }
  return sections;
}

const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

/**
 * The reasons the libraries gave, from the child's stderr: Dawn's and the Vulkan loader's
 * "Warning: ..." lines with their " - While ..." context, and onnxruntime's "[E:...]"
 * errors; source locations ("at Fn (file.cpp:12)") are dropped.
 */
export function libraryReasons(stderr: readonly string[]): string[] {
  const reasons: string[] = [];
  for (const raw of stderr) {
    const line = raw.trim();
    // Dawn notes the limits it lowers for working adapters too: never a reason.
    if (/artificially reduced/.test(line)) continue;
    const warning = /^Warning: (.*)$/.exec(line);
    const ortError = /^\S+ \S+ \[E:onnxruntime:[^\]]*\] (.*)$/.exec(line);
    const context = /^- (While .*)$/.exec(line);
    if (warning?.[1]) reasons.push(warning[1]);
    else if (ortError?.[1]) reasons.push(ortError[1].replace(/^\S+\.(?:cc|cpp|h):\d+ \S+ /, '').slice(0, 300));
    else if (context?.[1] && reasons.length > 0) {
      const last = (reasons.pop() ?? '').replace(/\.$/, '');
      reasons.push(`${last} (${context[1].charAt(0).toLowerCase()}${context[1].slice(1)})`);
    }
  }
  return [...new Set(reasons)];
}

/**
 * Runs the probes in a child of this same entry script (the daemon always runs as
 * `node ENTRY daemon`) and collects what it reports; stopped after `timeoutMs`, when the
 * provider it was on counts as failed.
 */
export function runProbeChild(
  mode: ChildMode,
  providers: readonly GpuProvider[],
  timeoutMs: number,
): Promise<ChildReport> {
  const start = performance.now();
  const entry = process.argv[1];
  if (!entry) throw new Error('the daemon was not started from a script; cannot start the provider probe');
  const child = spawn(process.execPath, [entry, 'probe-providers', mode, providers.join(',')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let cpuMs: number | null = null;
  let cpuProblem: string | undefined;
  const measured: Measurement[] = [];
  let done = false;
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const text = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        const line = JSON.parse(text) as Line;
        if ('cpuMs' in line) cpuMs = line.cpuMs;
        else if ('cpuProblem' in line) cpuProblem = line.cpuProblem;
        else if ('measurement' in line) measured.push(line.measurement);
        else if ('done' in line) done = true;
      } catch {
        err += `${text}\n`;
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let stopped = false;
  const timer = setTimeout(() => {
    stopped = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  let finished = false;
  return new Promise<ChildReport>((resolve) => {
    const finish = (why: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const inProgress = providers.find((p) => !measured.some((m) => m.provider === p));
      const winner = measured.some((m) => cpuMs !== null && m.outcome === 'ran' && beatsCpu(m.ms, cpuMs));
      if (!done && why !== null && inProgress && !winner && (mode === 'explain' || cpuMs !== null))
        measured.push({ provider: inProgress, outcome: 'failed', reason: why, interrupted: true });
      if (!done && why !== null && mode === 'measure' && cpuMs === null) cpuProblem ??= why;
      resolve({
        cpuMs,
        ...(cpuProblem !== undefined && { cpuProblem }),
        measured,
        stderr: splitByProvider(err.replace(ESCAPES, '')),
        ms: performance.now() - start,
      });
    };
    child.on('error', (e) => finish(`the probe process could not start: ${e.message}`));
    child.on('close', (code, signal) =>
      finish(
        stopped
          ? `no answer within ${Math.round(timeoutMs / 1000)} s (the probe was stopped)`
          : done
            ? null
            : `the probe process ended (${signal ?? `exit code ${code}`})`,
      ),
    );
  });
}
