// The tile grid: where tiles sit along each axis. Pure functions, no pixels.

/** A half-open range [start, end) of input pixels along one axis. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Spans of `tile` pixels covering [0, length) with at least `overlap` pixels shared
 * between neighbours. The count is Real-ESRGAN's: one tile per `tile - overlap` pixels
 * (what a tile decides), rounded up, so every decided pixel keeps at least half the
 * overlap as context; fewer, larger steps would leave pixels near a seam with a quarter
 * of it. Every tile has the same size (one tensor shape per pass, which onnxruntime
 * handles best) and the slack is spread evenly over the gaps, so no tile is a thin sliver
 * at the edge. `tile` 0, or a tile as large as the image, gives one span.
 */
export function axisSpans(length: number, tile: number, overlap: number): Span[] {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (tile <= 0 || tile >= length) return [{ start: 0, end: length }];
  if (overlap < 0 || overlap >= tile)
    throw new RangeError(`overlap must be from 0 to tile - 1 (${tile - 1}), got ${overlap}`);
  const count = Math.ceil(length / (tile - overlap));
  const spans: Span[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.round((i * (length - tile)) / (count - 1));
    spans.push({ start, end: start + tile });
  }
  return spans;
}
