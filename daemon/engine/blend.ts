// Blend weights for overlapping tiles. Each tile's output is accumulated as out * w with
// the weight w, and the sum of w divides at the end, so the weights only need to be
// positive where a tile should count and to fade smoothly where tiles meet.
//
// Why a dead zone: a tile's outermost pixels were computed with the network's receptive
// field cut off by the tile edge (zero padding inside the model), so they are the least
// like the whole-image result. The ramp therefore gives them no weight at all and fades
// across the middle of the overlap, where both neighbours have context on both sides.
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
