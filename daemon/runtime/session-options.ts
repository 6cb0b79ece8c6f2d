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

/**
 * `cpuFallback: false` makes session creation fail when any node would run on the CPU
 * instead of `provider`: the probes use it to learn whether the device runs a graph whole.
 */
export function sessionOptions(
  provider: ExecutionProvider,
  { cpuFallback = true }: { cpuFallback?: boolean } = {},
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ORT_NAME[provider]],
    graphOptimizationLevel: 'all',
    // onnxruntime-node's own default pool is one thread here; every core nearly halves a
    // compact model's time on two cores (3.7 s -> 2.1 s at 512²).
    intraOpNumThreads: os.availableParallelism(),
    // Warnings (e.g. Vulkan missing for WebGPU) go to stderr, never to the protocol stream.
    logSeverityLevel: 3,
    ...(!cpuFallback && provider !== 'cpu' && { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  };
}
