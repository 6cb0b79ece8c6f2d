// How fast a provider runs convolutions on this machine, measured once so that a model
// that has never run still gets a time estimate: its multiply-accumulates per pixel (read
// from its graph at conversion) times this speed. The graph is a small upscaler's body:
// 3×3 convolutions of 64 channels with ReLU between them, the layers that dominate the
// built-in models. On a loaded 2-core machine it ran at 10 to 16 GMAC/s, and both built-in
// models at 9 to 11.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import type { ExecutionProvider } from '../../contract/vocabulary';
import { sessionOptions } from './session-options';

const CHANNELS = 64;
const BODY = 6;
/** Large enough that the fixed cost of a run is small beside it (about 2.4 GMAC). */
const SIDE = 128;
/** A first run at this size settles onnxruntime's own first-run work before anything is timed. */
const WARM_SIDE = 32;
const TIMED_RUNS = 2;

/** Deterministic small weights (all zeros could meet a shortcut no real model gets). */
function weights(count: number, seed: number): Float32Array {
  const w = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    w[i] = ((s >>> 8) / 2 ** 24 - 0.5) * 0.1;
  }
  return w;
}

function calibrationGraph(): { bytes: Uint8Array; macsPerPixel: number } {
  const g = new GraphBuilder('calibration');
  let x = g.input('input', [1, 3, 'height', 'width']);
  let macsPerPixel = 0;
  const conv = (from: string, inChannels: number, outChannels: number, i: number): string => {
    const w = g.f32(`w${i}`, weights(outChannels * inChannels * 9, i + 1), [outChannels, inChannels, 3, 3]);
    const b = g.f32(`b${i}`, new Float32Array(outChannels), [outChannels]);
    macsPerPixel += outChannels * inChannels * 9;
    return g.op('Conv', [from, w, b], { pads: attr.ints([1, 1, 1, 1]) });
  };
  x = g.op('Relu', [conv(x, 3, CHANNELS, 0)]);
  for (let i = 1; i <= BODY; i++) x = g.op('Relu', [conv(x, CHANNELS, CHANNELS, i)]);
  g.output(conv(x, CHANNELS, 3, BODY + 1), 'output', [1, 3, 'height', 'width']);
  return { bytes: g.toBytes(), macsPerPixel };
}

async function run(session: ort.InferenceSession, side: number): Promise<number> {
  const input = new ort.Tensor('float32', new Float32Array(3 * side * side).fill(0.5), [1, 3, side, side]);
  const start = performance.now();
  await session.run({ input });
  const ms = performance.now() - start;
  input.dispose();
  return ms;
}

/** Times the graph on `provider`: the multiply-accumulates it ran and the milliseconds they took. */
export async function measureSpeed(
  provider: ExecutionProvider,
): Promise<{ readonly macs: number; readonly ms: number }> {
  const { bytes, macsPerPixel } = calibrationGraph();
  const session = await ort.InferenceSession.create(bytes, sessionOptions(provider));
  try {
    await run(session, WARM_SIDE);
    let ms = 0;
    for (let i = 0; i < TIMED_RUNS; i++) ms += await run(session, SIDE);
    return { macs: TIMED_RUNS * macsPerPixel * SIDE * SIDE, ms };
  } finally {
    await session.release();
  }
}
