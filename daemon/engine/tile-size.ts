// Choosing the tile size. An explicit tile is the user's; the automatic one is chosen by
// what it costs: among the tilings whose working memory fits the budget, the one with the
// least estimated time, counting each tile's pixels (context included) at the measured
// time per pixel for a tile of its side. The whole image has the fewest pixels and the
// largest side, so it is chosen whenever it fits. Tiles along an axis are sized evenly to
// the image, so no work is spent on slivers. Pure: no I/O, no clock.

import { axisSpans } from './tiles';
import { fitsDevice, type DeviceTensorLimit } from './device-tile';

/** Largest core an automatic tile decides per axis for a model whose working memory is unknown (the model sees 544 px with the default 16 px of context). */
export const AUTO_MAX_CORE = 512;

/** The budget when the request gives none: this share of the machine's memory. */
export const DEFAULT_BUDGET_SHARE = 1 / 3;

/**
 * onnxruntime's working set per pixel over the graph's peak of live tensors: measured at
 * 2.0 (realesr-general-x4v3, 512²) to 2.9 (realesrgan-x4plus, 532² tiles: layout reorders,
 * and an arena that grows by doubling).
 */
export const RUNTIME_OVERHEAD = 3;

/** The automatic tile core never shrinks below this for memory: smaller tiles waste most of their work on context. */
export const MIN_AUTO_CORE = 64;

/**
 * Time per pixel the model sees, relative to a 544 px tile, by the side of the tile (the
 * square root of its area): small tiles cost more per pixel (each layer's start-up and the
 * threads' split are paid per tile), and the cost keeps falling, more slowly, up to the
 * whole of a 2048² image. realesr-general-x4v3 on a photo, every core of a 2-core machine;
 * 96 to 544: medians of 3 interleaved runs on a loaded machine (load 12; re-measure with
 * `npm run bench -- --only sweep`); 1024 and 2048: a 2048² photo in a warm daemon, the
 * whole image (33.5 s of inference) against 4 tiles of 1056² (35.9 and 36.3 s) and 16 of
 * 544² (39.7 s). (One cold 2000² run had put large tiles at 1.31; warm, they never were.)
 * Between the sides listed it is interpolated on a log scale, beyond them it is the nearest.
 */
export const COST_BY_SIDE: readonly (readonly [side: number, cost: number])[] = [
  [96, 1.57],
  [160, 1.25],
  [288, 1.03],
  [544, 1],
  [1024, 0.96],
  [2048, 0.95],
];

/** The relative time per pixel of a tile whose side is `side` (COST_BY_SIDE). */
export function costPerPixel(side: number): number {
  let [prevSide, prevCost] = COST_BY_SIDE[0] ?? [1, 1];
  if (side <= prevSide) return prevCost;
  for (const [s, c] of COST_BY_SIDE) {
    if (side <= s) return prevCost + ((c - prevCost) * Math.log(side / prevSide)) / Math.log(s / prevSide);
    [prevSide, prevCost] = [s, c];
  }
  return prevCost;
}

/** What the automatic tile is chosen from: the model's working memory per pixel, and the budget for it. */
export interface TileBudget {
  /** Peak activation bytes per input pixel; null when unknown (the tile then keeps to AUTO_MAX_CORE). */
  readonly bytesPerPixel: number | null | undefined;
  readonly budgetBytes: number;
  /** On a GPU provider: what one tensor may take on its device (device-tile.ts). */
  readonly device?: DeviceTensorLimit;
}

/** The budget in bytes: the request's MiB, or (0 or none) DEFAULT_BUDGET_SHARE of `memoryBytes`. */
export function memoryBudgetBytes(requestMib: number | undefined, memoryBytes: number): number {
  return requestMib ? requestMib * 2 ** 20 : memoryBytes * DEFAULT_BUDGET_SHARE;
}

/** The working memory of a `width`×`height` tile of a model with `bytesPerPixel` of activations. */
export function tileWorkingBytes(width: number, height: number, bytesPerPixel: number): number {
  return RUNTIME_OVERHEAD * bytesPerPixel * width * height;
}

export interface TileSize {
  readonly width: number;
  readonly height: number;
}

/** The smallest tile for which `axisSpans` covers `length` with at most `count` tiles overlapping by `overlap`. */
export function evenTile(length: number, count: number, overlap: number): number {
  return overlap + Math.ceil(length / count);
}

/** One way to cut an axis: the tile (0: the whole axis), how many it takes and the side the model sees. */
interface AxisCut {
  readonly tile: number;
  readonly count: number;
  readonly side: number;
}

/** The even cuts of an axis, whole first, down to cores of MIN_AUTO_CORE (or `maxCore` and below). */
function axisCuts(length: number, shared: number, maxCore: number): AxisCut[] {
  const cuts: AxisCut[] = length <= maxCore + shared ? [{ tile: 0, count: 1, side: length }] : [];
  const most = Math.max(2, Math.ceil(length / MIN_AUTO_CORE));
  for (let n = 2; n <= most; n++) {
    const tile = evenTile(length, n, shared);
    if (tile >= length || tile - shared > maxCore) continue;
    const count = axisSpans(length, tile, shared).length;
    if (cuts.some((c) => c.tile === tile)) continue;
    cuts.push({ tile, count, side: tile });
  }
  return cuts;
}

/**
 * The whole image when its working memory fits the budget. Otherwise the fastest tiling
 * that fits, by the estimate (of two as fast, the one needing less memory). The smallest
 * tiling there is when none fits (tiles that run out of memory split further).
 */
function autoTile(width: number, height: number, shared: number, budget: TileBudget): TileSize {
  const { bytesPerPixel } = budget;
  const maxCore = bytesPerPixel ? Infinity : AUTO_MAX_CORE;
  const xs = axisCuts(width, shared, maxCore);
  const ys = axisCuts(height, shared, maxCore);
  const fitting: { x: AxisCut; y: AxisCut; time: number; area: number }[] = [];
  for (const x of xs) {
    for (const y of ys) {
      if (bytesPerPixel && tileWorkingBytes(x.side, y.side, bytesPerPixel) > budget.budgetBytes) continue;
      if (bytesPerPixel && budget.device && !fitsDevice(x.side, y.side, bytesPerPixel, budget.device)) continue;
      // A whole image that fits is taken: no context is computed twice, and a model with
      // global context gives its own output only so.
      if (x.tile === 0 && y.tile === 0) return { width: 0, height: 0 };
      const time = x.count * y.count * x.side * y.side * costPerPixel(Math.sqrt(x.side * y.side));
      fitting.push({ x, y, time, area: x.side * y.side });
    }
  }
  let chosen: (typeof fitting)[number] | null = null;
  for (const c of fitting) {
    if (!chosen || c.time < chosen.time || (c.time === chosen.time && c.area < chosen.area)) chosen = c;
  }
  if (chosen) return { width: chosen.x.tile, height: chosen.y.tile };
  const smallest = (cuts: readonly AxisCut[]) => cuts[cuts.length - 1]?.tile ?? 0;
  return { width: smallest(xs), height: smallest(ys) };
}

/**
 * Processed tile size per axis (the tensor the model sees) for a (padded) image. The
 * user's `core` is what each tile decides, as in Real-ESRGAN's --tile; `context` pixels
 * are added on each side, so neighbours share 2 * context. 0 means one tile spans the
 * axis; undefined means automatic, chosen within `budget`.
 */
export function chooseTile(
  core: number | undefined,
  width: number,
  height: number,
  context: number,
  budget: TileBudget,
): TileSize {
  const shared = 2 * context;
  if (core !== undefined) return core === 0 ? { width: 0, height: 0 } : { width: core + shared, height: core + shared };
  return autoTile(width, height, shared, budget);
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
