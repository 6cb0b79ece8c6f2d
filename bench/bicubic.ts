// The bicubic baseline, written out: Keys' cubic convolution (a = -0.5, as MATLAB's
// imresize) with pixel centres aligned, (x + 0.5) / s - 0.5, and edge samples repeated.
// sharp cannot serve for enlargement: libvips enlarges through its affine transform,
// which places the output half an output pixel off centre (a one-pixel line at x = 10
// enlarged ×2 peaks at x = 21 instead of straddling 20 and 21), costing the baseline
// decibels it does not deserve.
import type { Raster } from './images';

function keys(x: number, a = -0.5): number {
  const t = Math.abs(x);
  if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

interface AxisTaps {
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** Four taps per output position along one axis of `inLength` → `outLength` (enlargement). */
function axisTaps(inLength: number, outLength: number): AxisTaps {
  const index = new Int32Array(outLength * 4);
  const weight = new Float64Array(outLength * 4);
  const scale = outLength / inLength;
  for (let o = 0; o < outLength; o++) {
    const src = (o + 0.5) / scale - 0.5;
    const left = Math.floor(src) - 1;
    let total = 0;
    for (let k = 0; k < 4; k++) {
      const i = left + k;
      const w = keys(src - i);
      index[o * 4 + k] = Math.min(inLength - 1, Math.max(0, i));
      weight[o * 4 + k] = w;
      total += w;
    }
    for (let k = 0; k < 4; k++) weight[o * 4 + k] = (weight[o * 4 + k] as number) / total;
  }
  return { index, weight };
}

/** Bicubic enlargement of 8-bit RGB to width × height, rounded and clamped to 8 bits. */
export function bicubicEnlarge(src: Raster, width: number, height: number): Raster {
  const tx = axisTaps(src.width, width);
  const ty = axisTaps(src.height, height);
  // Horizontal pass into floats, then vertical pass into bytes.
  const rows = new Float64Array(src.height * width * 3);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++)
          s +=
            (tx.weight[x * 4 + k] as number) *
            (src.data[(y * src.width + (tx.index[x * 4 + k] as number)) * 3 + c] as number);
        rows[(y * width + x) * 3 + c] = s;
      }
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++)
          s +=
            (ty.weight[y * 4 + k] as number) * (rows[((ty.index[y * 4 + k] as number) * width + x) * 3 + c] as number);
        data[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(s)));
      }
    }
  }
  return { width, height, data };
}
