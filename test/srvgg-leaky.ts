// A tiny SRVGGNetCompact built as upstream builds it with act_type 'leakyrelu' (slope 0.1),
// which no upstream fixture covers (they use PReLU): deterministic weights, written as
// .safetensors with upstream's key names, and an independent forward pass in float64 (zero-
// padded 3x3 convs, the activation, PixelShuffle, the nearest-upsampled input added) that
// the converted ONNX is checked against. Its weights hold no activation tensors, so the
// importer cannot tell it from a ReLU model.
import * as fs from 'node:fs';
import { safetensorsWith } from './hostile/craft';

export const TINY = { numFeat: 8, numConv: 2, scale: 2, height: 10, width: 12 } as const;
export const LEAKY_SLOPE = 0.1;

interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Mulberry32: seeded, the same numbers on every platform. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** body.0, body.2, ... convs at trained-like magnitudes: weights of std 1/sqrt(fan_in), biases of std 0.1. */
export function tinyWeights(): Map<string, Tensor> {
  const next = uniform(2024);
  // Three uniforms summed: mean 1.5, variance 1/4, near enough to a normal for weights.
  const normal = (): number => (next() + next() + next() - 1.5) * 2;
  const channels = [3, ...Array.from({ length: TINY.numConv + 1 }, () => TINY.numFeat), 3 * TINY.scale * TINY.scale];
  const weights = new Map<string, Tensor>();
  for (let i = 0; i + 1 < channels.length; i++) {
    const [inCh, outCh] = [channels[i] as number, channels[i + 1] as number];
    const std = 1 / Math.sqrt(inCh * 9);
    weights.set(`body.${2 * i}.weight`, {
      shape: [outCh, inCh, 3, 3],
      data: Float32Array.from({ length: outCh * inCh * 9 }, () => normal() * std),
    });
    weights.set(`body.${2 * i}.bias`, {
      shape: [outCh],
      data: Float32Array.from({ length: outCh }, () => normal() * 0.1),
    });
  }
  return weights;
}

/** The weights as a standard .safetensors file (F32, state-dict order). */
export function writeTinySafetensors(file: string, weights: ReadonlyMap<string, Tensor> = tinyWeights()): void {
  const entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [key, t] of weights) {
    entries[key] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const bytes = safetensorsWith(entries, offset);
  Buffer.concat(
    [...weights.values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
  ).copy(bytes, bytes.length - offset);
  fs.writeFileSync(file, bytes);
}

/** A smooth gradient with some texture, in [0, 1], NCHW [1, 3, TINY.height, TINY.width]. */
export function tinyInput(): Float32Array {
  const { height: h, width: w } = TINY;
  return Float32Array.from({ length: 3 * h * w }, (_, i) => {
    const [c, y, x] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
    return 0.5 + 0.3 * Math.sin(0.7 * x + 1.3 * c) * Math.cos(0.5 * y) + 0.15 * Math.sin(3.1 * x * y + c);
  });
}

function conv3x3(x: Float64Array, inCh: number, h: number, w: number, weight: Tensor, bias: Tensor): Float64Array {
  const outCh = weight.shape[0] as number;
  const out = new Float64Array(outCh * h * w);
  for (let o = 0; o < outCh; o++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let sum = bias.data[o] as number;
        for (let c = 0; c < inCh; c++) {
          for (let ky = 0; ky < 3; ky++) {
            const sy = y + ky - 1;
            if (sy < 0 || sy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const sx = xx + kx - 1;
              if (sx < 0 || sx >= w) continue;
              sum += (weight.data[((o * inCh + c) * 3 + ky) * 3 + kx] as number) * (x[(c * h + sy) * w + sx] as number);
            }
          }
        }
        out[(o * h + y) * w + xx] = sum;
      }
    }
  }
  return out;
}

/**
 * Upstream's forward: body convs with the activation (negative slope `slope`; 0 is ReLU)
 * after all but the last, PixelShuffle(scale), plus the nearest-upsampled input.
 */
export function referenceOutput(
  weights: ReadonlyMap<string, Tensor>,
  input: Float32Array,
  slope: number,
): Float64Array {
  const { height: h, width: w, scale: s } = TINY;
  const last = 2 * (TINY.numConv + 1);
  let x: Float64Array = Float64Array.from(input);
  let channels = 3;
  for (let i = 0; i <= last; i += 2) {
    const weight = weights.get(`body.${i}.weight`) as Tensor;
    x = conv3x3(x, channels, h, w, weight, weights.get(`body.${i}.bias`) as Tensor);
    channels = weight.shape[0] as number;
    if (i < last) x = x.map((v) => (v >= 0 ? v : v * slope));
  }
  const [oh, ow] = [h * s, w * s];
  const out = new Float64Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        // PixelShuffle: output (c, y, x) comes from channel c*s*s + (y%s)*s + (x%s) at (y/s, x/s).
        const [sy, sx] = [Math.floor(y / s), Math.floor(xx / s)];
        const shuffled = x[((c * s * s + (y % s) * s + (xx % s)) * h + sy) * w + sx] as number;
        out[(c * oh + y) * ow + xx] = shuffled + (input[(c * h + sy) * w + sx] as number);
      }
    }
  }
  return out;
}
