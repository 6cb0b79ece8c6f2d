// Float planes to integer samples, once, at the very end (so 16-bit sources keep 16 bits
// of precision through blending and resizing).

/** Rounds [0, 1] floats to integers in [0, max], clamping out-of-range model output and NaN to 0. */
export function quantiseSample(v: number, max: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return max;
  return Math.round(v * max);
}

/**
 * Writes `count` rows of planar RGB (and an optional alpha plane) into an interleaved
 * raster starting at row `y`.
 */
export function quantiseRows(
  target: Uint8Array | Uint16Array,
  width: number,
  channels: 3 | 4,
  y: number,
  count: number,
  rgb: Float32Array,
  alpha: Float32Array | null,
): void {
  const max = target instanceof Uint16Array ? 65535 : 255;
  const plane = width * count;
  for (let i = 0; i < plane; i++) {
    const o = (y * width + i) * channels;
    target[o] = quantiseSample(rgb[i] as number, max);
    target[o + 1] = quantiseSample(rgb[plane + i] as number, max);
    target[o + 2] = quantiseSample(rgb[2 * plane + i] as number, max);
    if (channels === 4) target[o + 3] = alpha ? quantiseSample(alpha[i] as number, max) : max;
  }
}
