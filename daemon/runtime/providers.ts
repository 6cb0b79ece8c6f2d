// Execution providers: which ones this platform's onnxruntime-node build can run, which
// one `auto` picks, and why the others were passed over. Availability is decided by
// actually creating a one-layer session on the provider, since a listed backend can still
// lack its driver (no GPU adapter, CUDA libraries not installed).
//
// Probing is quiet unless an accelerator was asked for: a missing CUDA library or Vulkan
// loader is the normal state of most machines, and onnxruntime (with Dawn, which reports
// through it) would print each as a red error on stderr at every start. The reasons come
// back in the statuses instead, and the log gets one line (providerSummary).
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import type { ProviderStatus } from '../../contract/protocol';
import type { ExecutionProvider, ExecutionProviderChoice } from '../../contract/vocabulary';

/** The order `auto` tries accelerators in; CPU always works and comes last. */
const AUTO_ORDER: readonly ExecutionProvider[] = ['cuda', 'dml', 'coreml', 'webgpu'];

/** What onnxruntime-node calls each provider. */
const ORT_NAME: Record<ExecutionProvider, string> = {
  cpu: 'cpu',
  cuda: 'cuda',
  webgpu: 'webgpu',
  dml: 'dml',
  coreml: 'coreml',
};

function probeModel(): Uint8Array {
  const g = new GraphBuilder('probe');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const w = g.f32('weight', new Float32Array(3 * 3 * 3 * 3).fill(1 / 27), [3, 3, 3, 3]);
  g.output(g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]) }), 'output', [1, 3, 'height', 'width']);
  return g.toBytes();
}

/** The threads a request's `threads` asks for: 0 (or none) is every core. */
export function intraOpThreads(threads: number | undefined): number {
  return threads ? threads : os.availableParallelism();
}

/**
 * The daemon's session options. `threads` sizes onnxruntime's intra-op pool (0: every
 * core): onnxruntime-node's own default pool was one thread on some 2-core machines, and
 * every core nearly halves a compact model's time there (3.7 s -> 2.1 s at 512²). The
 * graph runs sequentially: the bench's ceiling search (`npm run bench -- --only busy`)
 * times the parallel executor and the lower optimisation levels against this, and the
 * super-resolution networks are one chain of convolutions with nothing to run side by side.
 */
export function sessionOptions(provider: ExecutionProvider, threads = 0): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ORT_NAME[provider]],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: intraOpThreads(threads),
    // Warnings (e.g. Vulkan missing for WebGPU) go to stderr, never to the protocol stream.
    logSeverityLevel: 3,
  };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 200) ?? 'unknown error';
}

/** Why a provider that this platform's build lacks is not available. */
function notInBuild(provider: ExecutionProvider): string {
  return `this platform's onnxruntime-node build has no ${provider} provider`;
}

async function probe(provider: ExecutionProvider, model: Uint8Array): Promise<ProviderStatus> {
  const listed = ort.listSupportedBackends().some((b) => b.name === ORT_NAME[provider]);
  if (!listed) return { provider, available: false, reason: notInBuild(provider) };
  try {
    const session = await ort.InferenceSession.create(model, sessionOptions(provider));
    await session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 8 * 8), [1, 3, 8, 8]) });
    await session.release();
    return { provider, available: true };
  } catch (e) {
    const hint = provider === 'cuda' ? ' (install the CUDA provider: see the README, "GPU (CUDA)")' : '';
    return { provider, available: false, reason: `${firstLine(e)}${hint}` };
  }
}

export interface ProviderSelection {
  readonly active: ExecutionProvider;
  readonly statuses: readonly ProviderStatus[];
}

/**
 * onnxruntime's own log threshold, for the process: it is read once, when the first session
 * is made. With `auto` or the CPU only fatal errors print; with an accelerator asked for,
 * its warnings too, since they say why it does not run.
 */
export function runtimeLogLevel(choice: ExecutionProviderChoice): 'fatal' | 'warning' {
  return choice === 'auto' || choice === 'cpu' ? 'fatal' : 'warning';
}

/** Probes the providers and picks the active one for `choice`. */
export async function selectProvider(choice: ExecutionProviderChoice): Promise<ProviderSelection> {
  ort.env.logLevel = runtimeLogLevel(choice);
  const model = probeModel();
  const statuses: ProviderStatus[] = [];
  for (const p of AUTO_ORDER) statuses.push(await probe(p, model));
  statuses.push({ provider: 'cpu', available: true });
  let active: ExecutionProvider = 'cpu';
  if (choice === 'auto') {
    active = statuses.find((s) => s.available)?.provider ?? 'cpu';
  } else if (statuses.find((s) => s.provider === choice)?.available) {
    active = choice;
  }
  const marked = statuses.map((s): ProviderStatus => {
    if (s.provider === active || !s.available) return s;
    return {
      ...s,
      reason: choice === 'auto' ? `available; ${active} was preferred` : `available; ${choice} was requested`,
    };
  });
  return { active, statuses: marked };
}

/** A log line: its level and text. */
export interface ProviderLogLine {
  readonly level: 'warn' | 'info' | 'debug';
  readonly message: string;
}

/**
 * What probing found, for the log: one info line saying which provider runs and which
 * others exist; each one passed over with its reason at debug level, except an accelerator
 * that was asked for and does not run, which is a warning.
 */
export function providerSummary(selection: ProviderSelection, choice: ExecutionProviderChoice): ProviderLogLine[] {
  const { active, statuses } = selection;
  const notBuilt = (s: ProviderStatus) => s.reason === notInBuild(s.provider);
  const names = (keep: (s: ProviderStatus) => boolean) =>
    statuses
      .filter((s) => s.provider !== active && keep(s))
      .map((s) => s.provider)
      .join(', ');
  const parts = [`${active} runs`];
  const idle = names((s) => s.available);
  const unusable = names((s) => !s.available && !notBuilt(s));
  const absent = names(notBuilt);
  if (idle !== '') parts.push(`also available: ${idle}`);
  if (unusable !== '') parts.push(`not usable here: ${unusable}`);
  if (absent !== '') parts.push(`not in this build: ${absent}`);
  const lines: ProviderLogLine[] = [{ level: 'info', message: `providers: ${parts.join('; ')}` }];
  for (const s of statuses) {
    if (s.provider === active || s.reason === undefined) continue;
    const asked = s.provider === choice;
    lines.push({ level: asked ? 'warn' : 'debug', message: `${asked ? 'asked for ' : ''}${s.provider}: ${s.reason}` });
  }
  return lines;
}
