// Lanczos-3 resampling of planar float images, the kernel sharp calls `lanczos3`.
// Done here rather than in libvips because sharp's raw input does not carry float32
// samples through unchanged, and the final resize must run in float so that 16-bit
// sources are quantised once, at the end.
import { outside } from '../image/checked';
import type { PlanarImage } from '../image/types';
import { wrapIndex } from './tiled-pass';

const LOBES = 3;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

export function lanczos3(x: number): number {
  return Math.abs(x) < LOBES ? sinc(x) * sinc(x / LOBES) : 0;
}

/** For each output index: the first input index and the normalised tap weights. */
export interface Taps {
  readonly first: Int32Array;
  readonly count: number;
  readonly weights: Float32Array;
}

/**
 * Taps mapping `outLength` samples onto the input window [start, start + length) of an
 * axis with `inLength` samples (pixel centres aligned, edges clamped).
 */
export function axisTaps(inLength: number, outLength: number, start = 0, length = inLength): Taps {
  const ratio = length / outLength;
  const stretch = Math.max(1, ratio); // widen the kernel when shrinking, to avoid aliasing
  const support = LOBES * stretch;
  const count = Math.ceil(2 * support) + 1;
  const first = new Int32Array(outLength);
  const weights = new Float32Array(outLength * count);
  for (let o = 0; o < outLength; o++) {
    const centre = start + (o + 0.5) * ratio - 0.5;
    const lo = Math.floor(centre - support) + 1;
    first[o] = lo;
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const w = lanczos3((lo + k - centre) / stretch);
      weights[o * count + k] = w;
      sum += w;
    }
    for (let k = o * count; k < (o + 1) * count; k++) {
      const w = weights[k];
      if (w === undefined) throw outside('axisTaps', k);
      weights[k] = w / sum;
    }
  }
  return { first, count, weights };
}

function clampEdge(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** A source window in input pixels (may be fractional), for cropping while resizing. */
export interface Window {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Resizes `img` (or the `window` of it) to width x height. Taps past the edges repeat the
 * edge pixel, or with `wrap` read the opposite edge (tileable textures stay tileable).
 */
export function resizeLanczos(
  img: PlanarImage,
  width: number,
  height: number,
  window?: Window,
  wrap = false,
): PlanarImage {
  const win = window ?? { x: 0, y: 0, width: img.width, height: img.height };
  const clampIndex = wrap ? wrapIndex : clampEdge;
  const tx = axisTaps(img.width, width, win.x, win.width);
  const ty = axisTaps(img.height, height, win.y, win.height);
  const out = new Float32Array(img.channels * width * height);
  const row = new Float32Array(width * img.height); // one channel, resized horizontally
  for (let c = 0; c < img.channels; c++) {
    const src = c * img.width * img.height;
    for (let y = 0; y < img.height; y++) {
      const srcRow = src + y * img.width;
      for (let x = 0; x < width; x++) {
        let acc = 0;
        const lo = tx.first[x];
        if (lo === undefined) throw outside('resizeLanczos', x);
        for (let k = 0; k < tx.count; k++) {
          const w = tx.weights[x * tx.count + k];
          const v = img.data[srcRow + clampIndex(lo + k, img.width)];
          if (w === undefined || v === undefined) throw outside('resizeLanczos', x);
          acc += w * v;
        }
        row[y * width + x] = acc;
      }
    }
    const dst = c * width * height;
    for (let y = 0; y < height; y++) {
      const lo = ty.first[y];
      if (lo === undefined) throw outside('resizeLanczos', y);
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let k = 0; k < ty.count; k++) {
          const w = ty.weights[y * ty.count + k];
          const v = row[clampIndex(lo + k, img.height) * width + x];
          if (w === undefined || v === undefined) throw outside('resizeLanczos', y);
          acc += w * v;
        }
        out[dst + y * width + x] = acc;
      }
    }
  }
  return { width, height, channels: img.channels, data: out };
}

/**
 * The source window that `cover` fit uses: scale so the target is filled, centre, crop.
 * `fill` uses the whole image (stretching when the aspect differs).
 */
export function fitWindow(
  inWidth: number,
  inHeight: number,
  outWidth: number,
  outHeight: number,
  fit: 'cover' | 'fill',
): Window {
  if (fit === 'fill') return { x: 0, y: 0, width: inWidth, height: inHeight };
  const f = Math.max(outWidth / inWidth, outHeight / inHeight);
  const w = outWidth / f;
  const h = outHeight / f;
  return { x: (inWidth - w) / 2, y: (inHeight - h) / 2, width: w, height: h };
}
