// How many pixels the model actually processes for an image, from the daemon's own tile
// planner: the reflected edge pad and the shared overlaps are work the whole-image
// ceiling does not do, so this ratio bounds end-to-end / ceiling from above.
import { chooseTile } from '../daemon/engine/tile-size';
import { passGrid } from '../daemon/engine/tiled-pass';
import { DEFAULT_OVERLAP, edgePadFor } from '../daemon/engine/pipeline';
import { DEFAULT_PADDING } from '../daemon/protocol/protocol';

export interface TileWork {
  readonly tiles: number;
  /** Processed tile side (the tensor the model sees), width × height. */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Pixels run through the model divided by the image's pixels. */
  readonly workRatio: number;
}

export function tileWork(width: number, height: number, tile?: number, overlap = DEFAULT_OVERLAP): TileWork {
  const edgePad = edgePadFor(DEFAULT_PADDING, overlap);
  const size = chooseTile(tile, width + 2 * edgePad, height + 2 * edgePad, overlap);
  const grid = passGrid({ width, height }, { tileWidth: size.width, tileHeight: size.height, overlap: 2 * overlap, edgePad });
  let processed = 0;
  for (const r of grid.rows) for (const c of grid.cols) processed += (r.end - r.start) * (c.end - c.start);
  const first = { w: (grid.cols[0]?.end ?? 0) - (grid.cols[0]?.start ?? 0), h: (grid.rows[0]?.end ?? 0) - (grid.rows[0]?.start ?? 0) };
  return { tiles: grid.rows.length * grid.cols.length, tileWidth: first.w, tileHeight: first.h, workRatio: processed / (width * height) };
}
