// Blend weights for overlapping tiles. Each output pixel is the sum of the tiles' values
// times their weights, divided by the sum of the weights, so the weights only need to be
// positive where a tile should count and to fade smoothly where tiles meet.
//
// Why a dead zone: a tile's outermost pixels were computed with the network's receptive
// field cut off by the tile edge (zero padding inside the model), so they are the least
// like the whole-image result. The ramp therefore gives them no weight at all and fades
// across the middle of the overlap, where both neighbours have context on both sides.
import { item } from '../image/checked';
import type { Span } from './tiles';

/** Fraction of the overlap, at each end, where the nearer tile's edge gets zero weight. */
export const DEAD_ZONE = 0.25;

/** Weight for a position `t` in [0, 1] across an overlap, 0 at the tile's edge side. */
export function ramp(t: number, deadZone = DEAD_ZONE): number {
  if (t <= deadZone) return 0;
  if (t >= 1 - deadZone) return 1;
  const u = (t - deadZone) / (1 - 2 * deadZone);
  // Raised cosine: zero slope at both ends, so the fade has no visible corner.
  return 0.5 - 0.5 * Math.cos(Math.PI * u);
}

/**
 * Per-output-pixel weights along one axis for tile `index` of `spans`, at `scale` output
 * pixels per input pixel. Sides that touch the image border keep full weight.
 */
export function axisWeights(spans: readonly Span[], index: number, scale: number, deadZone = DEAD_ZONE): Float32Array {
  const span = spans[index];
  if (!span) throw new RangeError(`tile ${index} is outside 0..${spans.length - 1}`);
  const prev = spans[index - 1];
  const next = spans[index + 1];
  const overlapBefore = prev ? prev.end - span.start : 0;
  const overlapAfter = next ? span.end - next.start : 0;
  const n = Math.round((span.end - span.start) * scale);
  const w = new Float32Array(n);
  for (let q = 0; q < n; q++) {
    // Distances, in input pixels, from the pixel centre to each edge of the tile.
    const fromStart = (q + 0.5) / scale;
    const fromEnd = n / scale - fromStart;
    const a = overlapBefore > 0 ? ramp(fromStart / overlapBefore, deadZone) : 1;
    const b = overlapAfter > 0 ? ramp(fromEnd / overlapAfter, deadZone) : 1;
    w[q] = a * b;
  }
  return w;
}

/** A run of output coordinates [start, end) where the same tiles have non-zero weight. */
export interface BlendRun {
  readonly start: number;
  readonly end: number;
  readonly tiles: readonly number[];
}

/** How the tiles along one axis combine in the output. */
export interface AxisBlend {
  /** Output coordinate of each tile's first sample. */
  readonly starts: readonly number[];
  /** Each tile's weight per output sample (length: the tile's output extent). */
  readonly weights: readonly Float32Array[];
  /** The sum of all tiles' weights per output coordinate: the blend's divisor. */
  readonly total: Float32Array;
  /**
   * The axis cut into runs by which tiles count. Most of an image lies in runs with one
   * tile, whose pixels are that tile's own: the blend copies those and computes only
   * where tiles really mix.
   */
  readonly runs: readonly BlendRun[];
}

/** The blend along one axis of `spans` (which cover [0, last end)) at `scale` output samples per input sample. */
export function axisBlend(spans: readonly Span[], scale: number, deadZone = DEAD_ZONE): AxisBlend {
  const starts = spans.map((s) => Math.round(s.start * scale));
  const weights = spans.map((_, i) => axisWeights(spans, i, scale, deadZone));
  const last = spans[spans.length - 1];
  if (!last) throw new RangeError('an axis needs at least one tile');
  const length = Math.round(last.end * scale);
  const total = new Float32Array(length);
  const runs: BlendRun[] = [];
  let current: number[] = [];
  let runStart = 0;
  let first = 0; // the first tile that has not ended before q (tiles start and end in order)
  for (let q = 0; q < length; q++) {
    while (first < spans.length - 1 && item(starts, first) + item(weights, first).length <= q) first++;
    const counting: number[] = [];
    let sum = 0;
    for (let i = first; i < spans.length && item(starts, i) <= q; i++) {
      const w = item(weights, i)[q - item(starts, i)]; // undefined past the tile's end
      if (w !== undefined && w > 0) {
        counting.push(i);
        sum = Math.fround(sum + w); // summed in float32, as the total is kept
      }
    }
    if (counting.length === 0) throw new RangeError(`no tile has weight at output ${q}: the tiles must cover the axis`);
    total[q] = sum;
    if (q > 0 && !sameTiles(counting, current)) {
      runs.push({ start: runStart, end: q, tiles: current });
      runStart = q;
    }
    current = counting;
  }
  runs.push({ start: runStart, end: length, tiles: current });
  return { starts, weights, total, runs };
}

function sameTiles(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
