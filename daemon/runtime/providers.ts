// Execution providers: which ones this platform's onnxruntime-node build has, what each
// needs, and which one runs.
// - A named provider is a promise: it runs, or the daemon refuses it before any work with
//   the reason (not in this build; its files missing, with the command that installs them;
//   the device or driver refused, with what the library said). Only it is probed.
// - `auto` probes only the candidates (GPU providers this build has, whose files are
//   present), in AUTO_ORDER, in a child process, and takes the first that beats the CPU
//   (auto-choice.ts); the decision is remembered per machine identity, so later starts
//   probe nothing (a remembered GPU is checked in-process with one small graph).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DaemonError } from '../../contract/errors';
import type { ProviderStatus } from '../../contract/protocol';
import type { ExecutionProvider, ExecutionProviderChoice } from '../../contract/vocabulary';
import { AUTO_ORDER, decideAuto, type GpuProvider, type Measurement } from './auto-choice';
import { fileStamp, machineIdentity } from './machine-identity';
import { forget, recall, remember } from './provider-memory';
import { runsOn } from './provider-probe';
import { libraryReasons, runProbeChild } from './probe-child';
import { ortName } from './session-options';

/** How long `auto`'s measuring child may take in all (lavapipe's first shader compile takes about 10 s). */
const MEASURE_TIMEOUT_MS = 60_000;
const EXPLAIN_TIMEOUT_MS = 30_000;

/** One of onnxruntime-node's backends, as listSupportedBackends() reports it. */
type Backend = ReturnType<typeof ort.listSupportedBackends>[number];

/** A provider that was asked for by name and cannot run here. */
export class ProviderUnavailable extends DaemonError {
  constructor(
    readonly provider: ExecutionProvider,
    why: string,
  ) {
    super('ProviderUnavailable', `provider '${provider}' cannot run here: ${why}`);
  }
}

export interface ProviderSelection {
  readonly active: ExecutionProvider;
  /** Why it is the active one. */
  readonly reason: string;
  readonly statuses: readonly ProviderStatus[];
  /** Whether the active provider runs fp16 on its device; null while not yet probed. */
  readonly deviceFp16: boolean | null;
  /** One line for the log: which providers exist and which runs. */
  readonly summary: string;
  /** For the debug log: what was probed and what the libraries printed. */
  readonly details: readonly string[];
}

function ortPackageRoot(): string {
  return path.dirname(path.dirname(require.resolve('onnxruntime-node')));
}

function ortBinDir(): string {
  return path.join(ortPackageRoot(), 'bin', 'napi-v6', process.platform, process.arch);
}

/** The files onnxruntime-node downloads separately for CUDA (linux-x64: from NuGet, at install time). */
function cudaFiles(): string[] {
  const names =
    process.platform === 'win32'
      ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll']
      : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
  return names.map((n) => path.join(ortBinDir(), n));
}

/**
 * The command that installs onnxruntime-node's CUDA provider. The install script reads
 * ONNXRUNTIME_NODE_INSTALL: only `1`/`true`/`ON` force the download (any other value, such as
 * `cuda12`, is ignored), and it takes precedence over the `.npmrc` key that skips it. For
 * 1.30.0 it fetches NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, built for CUDA 13.
 */
export function cudaInstallCommand(): string {
  const script = path.join(ortPackageRoot(), 'script', 'install.js');
  return `ONNXRUNTIME_NODE_INSTALL=1 node ${/\s/.test(script) ? JSON.stringify(script) : script}`;
}

const CUDA_NEEDS = 'it needs the CUDA 13 and cuDNN 9 libraries on the library path (LD_LIBRARY_PATH)';

/** Why `provider` cannot even be tried here, or null. */
function precondition(provider: GpuProvider, backends: readonly Backend[]): string | null {
  const listed = backends.find((b) => b.name === ortName(provider));
  if (!listed)
    return `this platform's onnxruntime-node build (${process.platform}-${process.arch}) has no ${provider} provider; it has ${backends
      .filter((b) => b.bundled)
      .map((b) => b.name)
      .join(', ')}`;
  if (provider === 'cuda' && !listed.bundled) {
    const missing = cudaFiles().filter((f) => !fs.existsSync(f));
    if (missing.length > 0)
      return `its files are not installed (${missing.map((f) => path.basename(f)).join(', ')} in ${ortBinDir()}); install them with \`${cudaInstallCommand()}\`; ${CUDA_NEEDS}`;
  }
  return null;
}

/** The libraries the CUDA provider needs that the dynamic linker cannot find (Linux). */
function missingCudaLibraries(): Promise<string[]> {
  const library = cudaFiles()[0];
  if (process.platform !== 'linux' || !library) return Promise.resolve([]);
  return new Promise((resolve) =>
    execFile('ldd', [library], (error, stdout) =>
      resolve(error ? [] : [...stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1] ?? '')),
    ),
  );
}

/** A provider's failure in words a user can act on: the error, what the libraries said, and a hint. */
async function explain(provider: GpuProvider, error: string, printed: readonly string[]): Promise<string> {
  const said = libraryReasons(printed).filter((r) => !error.includes(r));
  let text = said.length > 0 ? `${error}: ${said.join('; ')}` : error;
  if (provider === 'cuda') {
    const missing = await missingCudaLibraries();
    text += missing.length > 0 ? ` (missing: ${missing.join(', ')}; ${CUDA_NEEDS})` : ` (${CUDA_NEEDS})`;
  } else if (provider === 'webgpu' && process.platform === 'linux') {
    text += ' (WebGPU needs a Vulkan driver that Dawn accepts: see the README, "GPU")';
  }
  return text;
}

function backendsLine(backends: readonly Backend[]): string {
  const bundled = backends.filter((b) => b.bundled).map((b) => b.name);
  const separate = backends.filter((b) => !b.bundled).map((b) => b.name);
  return `this build has ${bundled.join(', ')}${separate.length > 0 ? ` (${separate.join(', ')} downloaded separately)` : ''}`;
}

async function selectNamed(provider: GpuProvider, backends: readonly Backend[]): Promise<ProviderSelection> {
  const why = precondition(provider, backends);
  if (why) throw new ProviderUnavailable(provider, why);
  const check = await runsOn(provider, 'fp32');
  if (!check.ok) {
    // A second try in a child, whose stderr holds what the driver and Dawn said.
    const report = await runProbeChild('explain', [provider], EXPLAIN_TIMEOUT_MS);
    const failed = report.measured.find((m) => m.provider === provider && m.outcome === 'failed');
    const error = failed?.outcome === 'failed' ? failed.reason : check.error;
    throw new ProviderUnavailable(provider, await explain(provider, error, report.stderr[provider] ?? []));
  }
  const reason = `${provider} was requested (its probe ran in ${Math.round(check.ms)} ms)`;
  return {
    active: provider,
    reason,
    statuses: [
      ...AUTO_ORDER.map((p): ProviderStatus =>
        p === provider ? { provider, available: true } : { provider: p, available: false, reason: 'not probed' },
      ),
      { provider: 'cpu', available: true, reason: `available; ${provider} was requested` },
    ],
    deviceFp16: null,
    summary: `providers: ${backendsLine(backends)}; running on ${provider}: ${reason}`,
    details: [],
  };
}

async function selectAuto(backends: readonly Backend[], cacheDir: string): Promise<ProviderSelection> {
  const start = performance.now();
  const unavailable: ProviderStatus[] = [];
  const candidates: GpuProvider[] = [];
  for (const p of AUTO_ORDER) {
    const why = precondition(p, backends);
    if (why) unavailable.push({ provider: p, available: false, reason: why });
    else candidates.push(p);
  }
  const summary = (d: { active: ExecutionProvider; reason: string }, how: string) =>
    `providers: ${backendsLine(backends)}; running on ${d.active}: ${d.reason} [${how}]`;
  if (candidates.length === 0) {
    const d = decideAuto(unavailable, [], null);
    return { ...d, deviceFp16: false, summary: summary(d, 'nothing to probe'), details: [] };
  }

  const cuda = candidates.includes('cuda')
    ? await Promise.all(cudaFiles().map(async (f) => `${f} ${await fileStamp(f)}`))
    : [];
  const identity = await machineIdentity([
    `onnxruntime-node ${ort.env.versions.node ?? '?'}`,
    `candidates ${candidates.join(', ')}`,
    ...cuda,
  ]);
  const details: string[] = [];
  const remembered = await recall(cacheDir, identity.key);
  if (remembered) {
    const check = remembered.active === 'cpu' ? null : await runsOn(remembered.active, 'fp32');
    if (check === null || check.ok) {
      const how = `remembered from ${remembered.decidedAt} for this machine, read in ${Math.round(performance.now() - start)} ms`;
      return {
        active: remembered.active,
        reason: remembered.reason,
        statuses: remembered.statuses,
        deviceFp16: remembered.deviceFp16,
        summary: summary(remembered, how),
        details,
      };
    }
    details.push(`the remembered ${remembered.active} no longer runs (${check.error}); measuring again`);
    await forget(cacheDir, identity.key).catch(() => undefined);
  }

  const report = await runProbeChild('measure', candidates, MEASURE_TIMEOUT_MS);
  const measured = await Promise.all(
    report.measured.map(async (m): Promise<Measurement> =>
      m.outcome === 'failed' && !m.interrupted
        ? { ...m, reason: await explain(m.provider, m.reason, report.stderr[m.provider] ?? []) }
        : m,
    ),
  );
  const d = decideAuto(unavailable, measured, report.cpuMs, report.cpuProblem);
  for (const [section, lines] of Object.entries(report.stderr))
    for (const line of lines) details.push(`probe (${section}): ${line}`);
  const probeMs = performance.now() - start;
  // A probe that was stopped or died proves nothing lasting: the next start measures again.
  if (measured.some((m) => m.outcome === 'failed' && m.interrupted))
    details.push('not remembered: a probe was interrupted');
  else
    await remember(cacheDir, identity.key, {
      decidedAt: new Date().toISOString(),
      active: d.active,
      reason: d.reason,
      statuses: d.statuses,
      deviceFp16: d.deviceFp16,
      probeMs: Math.round(probeMs),
      facts: identity.facts,
    }).catch((e: unknown) => details.push(`could not remember the decision: ${(e as Error).message}`));
  return { ...d, summary: summary(d, `measured in ${(probeMs / 1000).toFixed(1)} s`), details };
}

/** Picks the provider for `choice` (see the top of this file); throws ProviderUnavailable for a named one that cannot run. */
export async function selectProvider(
  choice: ExecutionProviderChoice,
  { cacheDir }: { cacheDir: string },
): Promise<ProviderSelection> {
  const backends = ort.listSupportedBackends();
  if (choice === 'auto') return selectAuto(backends, cacheDir);
  if (choice !== 'cpu') return selectNamed(choice, backends);
  const reason = 'cpu was requested';
  return {
    active: 'cpu',
    reason,
    statuses: [
      ...AUTO_ORDER.map((p): ProviderStatus => ({
        provider: p,
        available: false,
        reason: 'not probed: cpu was requested',
      })),
      { provider: 'cpu', available: true },
    ],
    deviceFp16: false,
    summary: `providers: ${backendsLine(backends)}; running on cpu: ${reason}`,
    details: [],
  };
}

/** Whether `provider`'s device runs the fp16 probe graph whole (asked once per daemon, when fp16 is first wanted). */
export async function deviceRunsFp16(provider: ExecutionProvider): Promise<boolean> {
  return provider !== 'cpu' && (await runsOn(provider, 'fp16')).ok;
}
