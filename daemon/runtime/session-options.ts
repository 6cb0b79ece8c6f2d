// How every onnxruntime session of the daemon is created, for a provider.
import * as os from 'node:os';
import type * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../contract/vocabulary';

/** What onnxruntime-node calls each provider. */
const ORT_NAME: Record<ExecutionProvider, string> = {
  cpu: 'cpu',
  cuda: 'cuda',
  webgpu: 'webgpu',
  dml: 'dml',
  coreml: 'coreml',
};

export function ortName(provider: ExecutionProvider): string {
  return ORT_NAME[provider];
}

/** The threads a request's `threads` asks for: 0 (or none) is every core. */
export function intraOpThreads(threads: number | undefined): number {
  return threads ? threads : os.availableParallelism();
}

export interface SessionChoices {
  /** onnxruntime's intra-op threads; 0 (the default) is every core. */
  readonly threads?: number;
  /**
   * false makes session creation fail when any node would run on the CPU instead of
   * `provider`: the probes use it to learn whether the device runs a graph whole.
   */
  readonly cpuFallback?: boolean;
}

/**
 * The daemon's session options. `threads` sizes onnxruntime's intra-op pool (0: every
 * core): onnxruntime-node's own default pool was one thread on some 2-core machines, and
 * every core nearly halves a compact model's time there (3.7 s -> 2.1 s at 512²). On the
 * CPU the graph runs on the parallel executor with one inter-op thread: the bench's
 * ceiling search (`npm run bench -- --only busy`) found it 1.03 to 1.05 times faster than
 * the sequential executor in each of its runs, for the compact model and x4plus alike,
 * with the operators' own threads as many; more inter-op threads than one were 1.7 times
 * slower (they take cores from the operators, and these networks are one chain of
 * convolutions with nothing to run side by side). GPU providers keep the sequential
 * executor, which DirectML requires.
 */
export function sessionOptions(
  provider: ExecutionProvider,
  { threads = 0, cpuFallback = true }: SessionChoices = {},
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ORT_NAME[provider]],
    graphOptimizationLevel: 'all',
    ...(provider === 'cpu' ? { executionMode: 'parallel', interOpNumThreads: 1 } : { executionMode: 'sequential' }),
    intraOpNumThreads: intraOpThreads(threads),
    // Warnings (e.g. Vulkan missing for WebGPU) go to stderr, never to the protocol stream.
    logSeverityLevel: 3,
    ...(!cpuFallback && provider !== 'cpu' && { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  };
}
