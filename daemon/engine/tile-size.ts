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

/**
 * The overlap for a model that takes one input size: the one asked for, when neighbours can
 * share twice it inside such a tile; by default DEFAULT_OVERLAP, or a quarter of the side
 * when that would leave a tile deciding less than half of itself.
 */
export function fixedSizeOverlap(requested: number | undefined, fixed: TileSize, defaultOverlap: number): number {
  const side = Math.min(fixed.width, fixed.height);
  if (requested === undefined) return Math.min(defaultOverlap, Math.floor(side / 4));
  if (2 * requested >= side) {
    throw new RangeError(
      `'overlap' is ${requested}, but the model takes a fixed ${fixed.width}x${fixed.height} input, so neighbouring tiles can share less than ${side} px; expected an overlap below ${Math.ceil(side / 2)}`,
    );
  }
  return requested;
}

/**
 * The tile for a model that takes one input size (an ONNX export with fixed height and
 * width): exactly that size, so that every full tile is one run of the model, the last ones
 * and an image smaller than the size padded up to it. An explicit tile is honoured when the
 * tensor it makes fits the size (it is padded up too) and refused when it does not.
 */
export function fixedSizeTile(
  fixed: TileSize,
  core: number | undefined,
  width: number,
  height: number,
  context: number,
): TileSize {
  if (core === undefined) return fixed;
  const tensor = core === 0 ? { width, height } : { width: core + 2 * context, height: core + 2 * context };
  if (tensor.width > fixed.width || tensor.height > fixed.height) {
    const largest = fixed.width > 2 * context && fixed.height > 2 * context;
    throw new RangeError(
      `'tile' is ${core}, but the model takes a fixed ${fixed.width}x${fixed.height} input and ${core === 0 ? `the whole ${width}x${height} image` : `a ${core} px tile with overlap ${context} (${tensor.width} px)`} does not fit it; ` +
        (largest
          ? `expected a tile of at most ${Math.min(fixed.width, fixed.height) - 2 * context}, or leave it automatic`
          : 'leave it automatic'),
    );
  }
  return tensor;
}
