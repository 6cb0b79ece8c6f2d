// Assembling output rows from tile outputs. Where one tile alone counts (most of the
// image) its rows are copied as they are; only where tiles mix is each pixel computed, as
// the weighted sum of the tiles divided by the sum of their weights. So no float
// accumulator of the output's size, or of a band's, is needed: the tiles themselves are.
import type { AxisBlend, BlendRun } from './blend';
import { item, outside } from '../image/checked';
import type { PlanarImage } from '../image/types';

/** A tile's output and the output row its first row is. */
export interface HeldTile extends PlanarImage {
  readonly firstRow: number;
}

/** The held output of tile (row `r`, column `c`); it must hold every row asked of it. */
export type TileLookup = (r: number, c: number) => HeldTile;

/** Column runs clipped to [x0, x1). */
function clipRuns(runs: readonly BlendRun[], x0: number, x1: number): BlendRun[] {
  const clipped: BlendRun[] = [];
  for (const run of runs) {
    const start = Math.max(run.start, x0);
    const end = Math.min(run.end, x1);
    if (end > start) clipped.push({ start, end, tiles: run.tiles });
  }
  return clipped;
}

function sourceOffset(tile: HeldTile, channel: number, y: number, x: number): number {
  const row = y - tile.firstRow;
  if (row < 0 || row >= tile.height)
    throw new RangeError(
      `output row ${y} is not held for this tile (rows ${tile.firstRow}..${tile.firstRow + tile.height - 1})`,
    );
  return (channel * tile.height + row) * tile.width + x;
}

/**
 * Writes the blended output rows [y0, y1), columns [x0, x0 + width), into `dst`: planar,
 * `channels` planes of (y1 - y0) rows of `width`.
 */
export function blendRows(
  dst: Float32Array,
  rows: AxisBlend,
  cols: AxisBlend,
  tileAt: TileLookup,
  channels: number,
  y0: number,
  y1: number,
  x0: number,
  width: number,
): void {
  const count = y1 - y0;
  const colRuns = clipRuns(cols.runs, x0, x0 + width);
  let ri = 0;
  let rowRun = item(rows.runs, ri);
  for (let y = y0; y < y1; y++) {
    while (rowRun.end <= y) rowRun = item(rows.runs, ++ri);
    const dy = y - y0;
    const [r] = rowRun.tiles;
    for (const run of colRuns) {
      const [c] = run.tiles;
      if (r !== undefined && c !== undefined && rowRun.tiles.length === 1 && run.tiles.length === 1) {
        const tile = tileAt(r, c);
        const tx = run.start - item(cols.starts, c);
        for (let ch = 0; ch < channels; ch++) {
          const from = sourceOffset(tile, ch, y, tx);
          dst.set(tile.data.subarray(from, from + run.end - run.start), (ch * count + dy) * width + run.start - x0);
        }
      } else {
        mixRun(dst, rows, cols, tileAt, channels, count, width, x0, y, dy, rowRun, run);
      }
    }
  }
}

/** Where several tiles count: the weighted sum over them, divided by the total weight. */
function mixRun(
  dst: Float32Array,
  rows: AxisBlend,
  cols: AxisBlend,
  tileAt: TileLookup,
  channels: number,
  count: number,
  width: number,
  x0: number,
  y: number,
  dy: number,
  rowRun: BlendRun,
  run: BlendRun,
): void {
  const len = run.end - run.start;
  const rowTotal = rows.total[y];
  if (rowTotal === undefined) throw outside('mixRun', y);
  for (let ch = 0; ch < channels; ch++)
    dst.fill(0, (ch * count + dy) * width + run.start - x0, (ch * count + dy) * width + run.end - x0);
  for (const r of rowRun.tiles) {
    const wy = item(rows.weights, r)[y - item(rows.starts, r)];
    if (wy === undefined) throw outside('mixRun', y);
    for (const c of run.tiles) {
      const tile = tileAt(r, c);
      const wx = item(cols.weights, c);
      const tx = run.start - item(cols.starts, c);
      for (let ch = 0; ch < channels; ch++) {
        const from = sourceOffset(tile, ch, y, tx);
        const to = (ch * count + dy) * width + run.start - x0;
        for (let i = 0; i < len; i++) {
          const sum = dst[to + i];
          const w = wx[tx + i];
          const v = tile.data[from + i];
          if (sum === undefined || w === undefined || v === undefined) throw outside('mixRun', i);
          dst[to + i] = sum + wy * w * v;
        }
      }
    }
  }
  for (let ch = 0; ch < channels; ch++) {
    const to = (ch * count + dy) * width + run.start - x0;
    for (let i = 0; i < len; i++) {
      const sum = dst[to + i];
      const colTotal = cols.total[run.start + i];
      if (sum === undefined || colTotal === undefined) throw outside('mixRun', i);
      dst[to + i] = sum / (rowTotal * colTotal);
    }
  }
}
