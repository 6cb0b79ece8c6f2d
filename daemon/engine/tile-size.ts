// Choosing the tile size. A fixed tile wastes work when the image is a little larger than
// a multiple of it (a 528 px side with 512 px tiles needs two full tiles), so the
// automatic size is derived from the image: the fewest tiles per axis under the size
// limit, then the smallest tile that covers the axis with that many.

/**
 * Largest number of input pixels an automatic tile decides per axis; the model sees that
 * plus the context on each side (544 px with the default 16). It bounds a tile's
 * activations, which onnxruntime's CPU arena keeps for as long as the session is
 * resident: a 2000² → 8000² job with realesr-general-x4v3 (4 × 4 tiles of 520 px) peaks
 * near 1030 MiB. A 512² image, 528 px with its border, runs whole, as the model's
 * whole-image pass does: cutting it into 4 tiles of 280 px cost 20% more work.
 */
export const AUTO_MAX_CORE = 512;

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
export function chooseTile(core: number | undefined, width: number, height: number, context: number, maxCore = AUTO_MAX_CORE): TileSize {
  const shared = 2 * context;
  if (core !== undefined) return core === 0 ? { width: 0, height: 0 } : { width: core + shared, height: core + shared };
  return { width: autoAxis(width, shared, maxCore + shared), height: autoAxis(height, shared, maxCore + shared) };
}
