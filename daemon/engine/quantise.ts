import { outside } from '../image/checked';

// Float planes to integer samples, once, at the very end (so 16-bit sources keep 16 bits
// of precision through blending and resizing).

/** Rounds [0, 1] floats to integers in [0, max], clamping out-of-range model output and NaN to 0. */
export function quantiseSample(v: number, max: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return max;
  return Math.round(v * max);
}

/**
 * Writes `count` rows of `planes` planar float planes (each `width` wide) into channels
 * [firstChannel, firstChannel + planes) of an interleaved raster `stride` pixels wide with
 * `channels` channels, at column `x` and row `y`. Other channels are left alone, so colour
 * and alpha can arrive separately, rows at a time, straight into the output raster.
 */
export function quantisePlanes(
  target: Uint8Array | Uint16Array,
  stride: number,
  channels: number,
  x: number,
  y: number,
  width: number,
  count: number,
  data: Float32Array,
  planes: number,
  firstChannel: number,
): void {
  const max = target instanceof Uint16Array ? 65535 : 255;
  const plane = width * count;
  if (data.length < planes * plane) throw new RangeError(`expected ${planes * plane} samples, got ${data.length}`);
  for (let r = 0; r < count; r++) {
    const rowBase = ((y + r) * stride + x) * channels + firstChannel;
    const src = r * width;
    for (let c = 0; c < planes; c++) {
      const from = c * plane + src;
      let o = rowBase + c;
      // quantiseSample, written out: this loop touches every output sample.
      for (let i = 0; i < width; i++, o += channels) {
        const v = data[from + i];
        if (v === undefined) throw outside('quantisePlanes', from + i);
        const q = v * max + 0.5;
        target[o] = q > 0 ? (q < max ? q : max) : 0;
      }
    }
  }
}

/** Fills channel `channel` of a rectangle of an interleaved raster with `value` (an integer sample). */
export function fillChannel(
  target: Uint8Array | Uint16Array,
  stride: number,
  channels: number,
  x: number,
  y: number,
  width: number,
  height: number,
  channel: number,
  value: number,
): void {
  for (let r = 0; r < height; r++) {
    let o = ((y + r) * stride + x) * channels + channel;
    for (let i = 0; i < width; i++, o += channels) target[o] = value;
  }
}
