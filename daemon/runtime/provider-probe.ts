// The small graphs that tell whether a provider runs at all, whether its device runs fp16,
// and how fast it is against the CPU. Every probe session refuses CPU fallback, so "runs"
// means the device ran every node.
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import { convertToFloat16 } from '../../models/convert/fp16';
import type { ExecutionProvider, Precision } from '../../contract/vocabulary';
import { sessionOptions } from './session-options';

/**
 * The timing input's side. Four 3×3 convolutions (3 -> 32 -> 32 -> 32 -> 3 channels, ReLU)
 * at 128² are 0.66 GFLOP: compute-bound on every device tried (16-40 ms on the 2-core CPU
 * this project is developed on, 0.6 s on lavapipe), so dispatch overhead does not decide.
 */
export const TIMING_SIDE = 128;
const CHECK_SIDE = 16;
const TIMED_RUNS = 3;

function probeGraph(): Uint8Array {
  const g = new GraphBuilder('provider-probe');
  let x = g.input('input', [1, 3, 'height', 'width']);
  const channels = [3, 32, 32, 32, 3];
  let seed = 1;
  for (let i = 0; i + 1 < channels.length; i++) {
    const cin = channels[i] ?? 0;
    const cout = channels[i + 1] ?? 0;
    const w = new Float32Array(cout * cin * 9);
    for (let k = 0; k < w.length; k++) {
      seed = (seed * 16807) % 2147483647;
      w[k] = (seed / 2147483647 - 0.5) / Math.sqrt(cin * 9);
    }
    x = g.op('Conv', [x, g.f32(`w${i}`, w, [cout, cin, 3, 3])], { pads: attr.ints([1, 1, 1, 1]) });
    if (i + 2 < channels.length) x = g.op('Relu', [x]);
  }
  g.output(x, 'output', [1, 3, 'height', 'width']);
  return g.toBytes();
}

const graphs = new Map<Precision, Uint8Array>();

function probeModel(precision: Precision): Uint8Array {
  let bytes = graphs.get(precision);
  if (!bytes) {
    const fp32 = probeGraph();
    bytes =
      precision === 'fp32'
        ? fp32
        : onnx.ModelProto.encode(convertToFloat16(onnx.ModelProto.decode(fp32), 'provider probe')).finish();
    graphs.set(precision, bytes);
  }
  return bytes;
}

function input(side: number): ort.Tensor {
  const data = new Float32Array(3 * side * side);
  for (let i = 0; i < data.length; i++) data[i] = (i % 251) / 250;
  return new ort.Tensor('float32', data, [1, 3, side, side]);
}

/**
 * The first line of an error, without onnxruntime's source location and failed check:
 * "/onnxruntime_src/.../webgpu_context.cc:136 <signature> <check> was false. Failed to get a
 * WebGPU adapter: No supported adapters" becomes "Failed to get a WebGPU adapter: ...".
 */
export function errorLine(e: unknown): string {
  let line = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  const location = /^\S+\.(?:cc|cpp|h):\d+ /.exec(line);
  if (location) {
    line = line.slice(location[0].length);
    const check = line.indexOf(' was false. ');
    if (check >= 0) line = line.slice(check + ' was false. '.length);
  }
  return line.trim().slice(0, 300) || 'unknown error';
}

export type ProbeOutcome = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly error: string };

/** Whether `provider` runs the probe graph at `precision` wholly on its device. */
export async function runsOn(provider: ExecutionProvider, precision: Precision): Promise<ProbeOutcome> {
  const start = performance.now();
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(
      probeModel(precision),
      sessionOptions(provider, { cpuFallback: false }),
    );
    await session.run({ input: input(CHECK_SIDE) });
    return { ok: true, ms: performance.now() - start };
  } catch (e) {
    return { ok: false, error: errorLine(e) };
  } finally {
    await session?.release();
  }
}

/**
 * The fastest of a few warm fp32 runs of the timing graph on `provider`, in milliseconds;
 * a run slower than `enoughMs` ends the timing (one such run settles a comparison).
 */
export async function timeOn(provider: ExecutionProvider, enoughMs = Infinity): Promise<number> {
  const session = await ort.InferenceSession.create(
    probeModel('fp32'),
    sessionOptions(provider, { cpuFallback: false }),
  );
  try {
    const feed = { input: input(TIMING_SIDE) };
    await session.run(feed); // compiles kernels and shaders
    let best = Infinity;
    for (let i = 0; i < TIMED_RUNS; i++) {
      const start = performance.now();
      await session.run(feed);
      best = Math.min(best, performance.now() - start);
      if (best > enoughMs) break;
    }
    return best;
  } finally {
    await session.release();
  }
}
