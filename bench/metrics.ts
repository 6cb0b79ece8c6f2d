// Image fidelity metrics as the super-resolution literature computes them: PSNR and SSIM
// on the luma (Y) of ITU-R BT.601 YCbCr, with a border cropped, in 8-bit units.
import type { Raster } from './images';

/** BT.601 luma in [16, 235] from 8-bit RGB, as MATLAB's rgb2ycbcr (kept in float). */
export function lumaBt601(raster: Raster, border: number): { width: number; height: number; y: Float64Array } {
  const width = raster.width - 2 * border;
  const height = raster.height - 2 * border;
  if (width <= 0 || height <= 0)
    throw new Error(`border ${border} leaves nothing of a ${raster.width}x${raster.height} image`);
  const y = new Float64Array(width * height);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const o = ((j + border) * raster.width + i + border) * 3;
      const r = raster.data[o] as number;
      const g = raster.data[o + 1] as number;
      const b = raster.data[o + 2] as number;
      y[j * width + i] = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
    }
  }
  return { width, height, y };
}

function sameSize(a: Raster, b: Raster): void {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
}

export function psnrFromMse(mse: number, peak = 255): number {
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/** PSNR over all RGB samples (for tiled vs whole-image fidelity, where luma would hide colour seams). */
export function psnrRgb(a: Raster, b: Raster): number {
  sameSize(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = (a.data[i] as number) - (b.data[i] as number);
    sum += d * d;
  }
  return psnrFromMse(sum / a.data.length);
}

export function psnrY(a: Raster, b: Raster, border: number): number {
  sameSize(a, b);
  const ya = lumaBt601(a, border).y;
  const yb = lumaBt601(b, border).y;
  let sum = 0;
  for (let i = 0; i < ya.length; i++) {
    const d = (ya[i] as number) - (yb[i] as number);
    sum += d * d;
  }
  return psnrFromMse(sum / ya.length);
}

/** 11-tap Gaussian, sigma 1.5 (Wang et al. 2004). */
function gaussianTaps(): Float64Array {
  const taps = new Float64Array(11);
  let total = 0;
  for (let i = 0; i < 11; i++) total += taps[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
  for (let i = 0; i < 11; i++) taps[i] = (taps[i] as number) / total;
  return taps;
}

/** Separable 'valid' filtering: the output is (w-10)×(h-10). */
function filterValid(src: Float64Array, w: number, h: number, taps: Float64Array): Float64Array {
  const ow = w - 10;
  const oh = h - 10;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += (taps[k] as number) * (src[y * w + x + k] as number);
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += (taps[k] as number) * (rows[(y + k) * ow + x] as number);
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of the luma with the standard constants (K1 0.01, K2 0.03, L 255). */
export function ssimY(a: Raster, b: Raster, border: number): number {
  sameSize(a, b);
  const la = lumaBt601(a, border);
  const lb = lumaBt601(b, border);
  const { width: w, height: h } = la;
  const taps = gaussianTaps();
  const product = (p: Float64Array, q: Float64Array): Float64Array => p.map((v, i) => v * (q[i] as number));
  const mu1 = filterValid(la.y, w, h, taps);
  const mu2 = filterValid(lb.y, w, h, taps);
  const s11 = filterValid(product(la.y, la.y), w, h, taps);
  const s22 = filterValid(product(lb.y, lb.y), w, h, taps);
  const s12 = filterValid(product(la.y, lb.y), w, h, taps);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i] as number;
    const m2 = mu2[i] as number;
    const v1 = (s11[i] as number) - m1 * m1;
    const v2 = (s22[i] as number) - m2 * m2;
    const cov = (s12[i] as number) - m1 * m2;
    sum += ((2 * m1 * m2 + c1) * (2 * cov + c2)) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2));
  }
  return sum / mu1.length;
}
