// Choosing the tile size. A fixed tile wastes work when the image is a little larger than
// a multiple of it (a 528 px side with 512 px tiles needs two full tiles), so the
// automatic size is derived from the image: the fewest tiles per axis under the size
// limit, then the smallest tile that covers the axis with that many.

/**
 * Largest automatic tile side the model sees, in input pixels. It bounds a tile's
 * activations, which onnxruntime's CPU arena keeps for as long as the session is
 * resident: at 528 px tiles a 2000² → 8000² job peaked at 1211 MiB, at this limit below
 * 900 MiB. (A 512 px image, 528 px with its border, then runs as 4 tiles.)
 */
export const AUTO_MAX_TILE = 512;

export interface TileSize {
  readonly width: number;
  readonly height: number;
}

/** The smallest tile that covers `length` with `count` tiles overlapping by `overlap`. */
export function evenTile(length: number, count: number, overlap: number): number {
  return Math.ceil((length + (count - 1) * overlap) / count);
}

function autoAxis(length: number, overlap: number, maxTile: number): number {
  if (length <= maxTile) return 0;
  const count = Math.ceil((length - overlap) / (maxTile - overlap));
  return evenTile(length, count, overlap);
}

/**
 * Processed tile size per axis (the tensor the model sees) for a (padded) image. The
 * user's `core` is what each tile decides, as in Real-ESRGAN's --tile; `context` pixels
 * are added on each side, so neighbours share 2 * context. 0 means one tile spans the
 * axis; undefined means automatic.
 */
export function chooseTile(core: number | undefined, width: number, height: number, context: number, maxTile = AUTO_MAX_TILE): TileSize {
  const shared = 2 * context;
  if (core !== undefined) return core === 0 ? { width: 0, height: 0 } : { width: core + shared, height: core + shared };
  return { width: autoAxis(width, shared, maxTile), height: autoAxis(height, shared, maxTile) };
}
