// Choosing the tile size. A fixed tile wastes work when the image is a little larger than
// a multiple of it (a 528 px side with 512 px tiles needs two full tiles), so the
// automatic size is derived from the image: the fewest tiles per axis under the size
// limit, then the smallest tile that covers the axis with that many.

import { axisSpans } from './tiles';

/**
 * Largest number of input pixels an automatic tile decides per axis; the model sees that
 * plus the context on each side (544 px with the default 16). It bounds a tile's
 * activations, which onnxruntime's CPU arena keeps for as long as the session is
 * resident: a 2048² → 8192² job with realesr-general-x4v3 (4 × 4 tiles of 544 px) peaked
 * at 1099 MiB. A 512² image runs whole, as the model's whole-image pass does: cut into 4
 * tiles it cost about 20% more work.
 */
export const AUTO_MAX_CORE = 512;

/** Share of the machine's memory an automatic tile's activations may take. */
export const TILE_MEMORY_SHARE = 1 / 3;

/**
 * onnxruntime's working set per pixel over the graph's peak of live tensors: measured at
 * 2.0 (realesr-general-x4v3, 512²) to 2.9 (realesrgan-x4plus, 532² tiles: layout reorders,
 * and an arena that grows by doubling).
 */
export const RUNTIME_OVERHEAD = 3;

/** The automatic tile core never shrinks below this for memory: smaller tiles waste most of their work on context. */
export const MIN_AUTO_CORE = 64;

/**
 * The automatic tile's core limit for a model whose activations take `bytesPerPixel` per
 * input pixel (null: unknown, the plain limit), on a machine with `memoryBytes`, so that a
 * heavy model on a small machine gets tiles it can hold.
 */
export function autoMaxCore(bytesPerPixel: number | null | undefined, memoryBytes: number, context: number): number {
  if (!bytesPerPixel) return AUTO_MAX_CORE;
  const side = Math.floor(Math.sqrt((memoryBytes * TILE_MEMORY_SHARE) / (RUNTIME_OVERHEAD * bytesPerPixel)));
  return Math.max(MIN_AUTO_CORE, Math.min(AUTO_MAX_CORE, side - 2 * context));
}

/**
 * Whether a whole `width` × `height` image fits the memory an automatic tile may take, for
 * a model whose activations take `bytesPerPixel` per input pixel (null: unknown, no).
 */
export function wholeImageFits(
  bytesPerPixel: number | null | undefined,
  memoryBytes: number,
  width: number,
  height: number,
): boolean {
  if (!bytesPerPixel) return false;
  return width * height * RUNTIME_OVERHEAD * bytesPerPixel <= memoryBytes * TILE_MEMORY_SHARE;
}

export interface TileSize {
  readonly width: number;
  readonly height: number;
}

/** The smallest tile for which `axisSpans` covers `length` with at most `count` tiles overlapping by `overlap`. */
export function evenTile(length: number, count: number, overlap: number): number {
  return overlap + Math.ceil(length / count);
}

function autoAxis(length: number, overlap: number, maxTile: number): number {
  if (length <= maxTile) return 0;
  return evenTile(length, axisSpans(length, maxTile, overlap).length, overlap);
}

/**
 * Processed tile size per axis (the tensor the model sees) for a (padded) image. The
 * user's `core` is what each tile decides, as in Real-ESRGAN's --tile; `context` pixels
 * are added on each side, so neighbours share 2 * context. 0 means one tile spans the
 * axis; undefined means automatic.
 */
export function chooseTile(
  core: number | undefined,
  width: number,
  height: number,
  context: number,
  maxCore = AUTO_MAX_CORE,
): TileSize {
  const shared = 2 * context;
  if (core !== undefined) return core === 0 ? { width: 0, height: 0 } : { width: core + shared, height: core + shared };
  return { width: autoAxis(width, shared, maxCore + shared), height: autoAxis(height, shared, maxCore + shared) };
}
