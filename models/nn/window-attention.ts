// Window-attention machinery shared by the Swin-style families (SwinIR, HAT, and any
// later one built the same way). Everything here works on token grids laid out
// [B, H, W, C] with H and W only known at run time, so one ONNX graph serves every
// input size: window counts, the shifted-window mask and the overlapping-window indices
// are all computed inside the graph from Shape ops rather than baked in for one size.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';
import { linear } from './linear';
import { softmax } from './activation';
import { runtimeDim, shapeVector } from './shape';

/** Slice bounds meaning "to the end"; ONNX clamps it to the axis length. */
const TO_END = Number.MAX_SAFE_INTEGER;

/**
 * Value of the mask added to attention logits between tokens that came from different
 * regions after the cyclic shift. Swin/SwinIR/HAT/DAT use -100, not -inf, and the exact
 * value matters to the last few ulps of the softmax, so it is reproduced as is.
 */
export const SHIFT_MASK_VALUE = -100;

/** ONNX TensorProto element type for Cast's `to`. */
const FLOAT_ELEMENT_TYPE = 1;

/** Window extent in tokens: square for Swin, SwinIR and HAT; rectangles elsewhere. */
export interface WindowShape {
  readonly height: number;
  readonly width: number;
}

export function squareWindow(size: number): WindowShape {
  return { height: size, width: size };
}

/** A cyclic shift of a token grid, in tokens along H and W (torch.roll's sign). */
export interface GridShift {
  readonly rows: number;
  readonly cols: number;
}

export const NO_SHIFT: GridShift = { rows: 0, cols: 0 };

function isShifted(shift: GridShift): boolean {
  return shift.rows !== 0 || shift.cols !== 0;
}

/**
 * torch.roll of a [B, H, W, C] grid by `shift` over H and W (positive moves content
 * towards higher indices). Two slices and a concat per axis, so no runtime sizes.
 */
export function cyclicShift(ctx: GraphContext, x: string, shift: GridShift): string {
  let y = x;
  for (const [axis, amount] of [
    [1, shift.rows],
    [2, shift.cols],
  ] as const) {
    if (amount === 0) continue;
    // roll by +s puts x[-s:] first; roll by -s puts x[s:] first: both cut at -amount.
    const cut = ctx.ints([-amount]);
    const axes = ctx.ints([axis]);
    const head = ctx.g.op('Slice', [y, cut, ctx.ints([TO_END]), axes], {}, 'roll_head');
    const tail = ctx.g.op('Slice', [y, ctx.ints([0]), cut, axes], {}, 'roll_tail');
    y = ctx.g.op('Concat', [head, tail], { axis: attr.int(axis) }, 'roll');
  }
  return y;
}

function negated(shift: GridShift): GridShift {
  return { rows: -shift.rows, cols: -shift.cols };
}

/**
 * A token grid [B, H, W, C] (H and W multiples of the window) seen as non-overlapping
 * windows, numbered row-major over the grid as Swin's window_partition numbers them.
 * Runtime sizes are read once from `grid` and shared by every block that works on a
 * grid of the same size; masks and overlap indices are built once per graph too.
 */
export class WindowGrid {
  readonly height: string;
  readonly width: string;
  private readonly windowRows: string;
  private readonly windowCols: string;
  private readonly masks = new Map<string, string>();
  private readonly overlapIndices = new Map<string, { rows: string; cols: string }>();

  constructor(
    private readonly ctx: GraphContext,
    grid: string,
    readonly window: WindowShape,
  ) {
    this.height = runtimeDim(ctx, grid, 1);
    this.width = runtimeDim(ctx, grid, 2);
    this.windowRows = ctx.g.op('Div', [this.height, ctx.ints([window.height])], {}, 'window_rows');
    this.windowCols = ctx.g.op('Div', [this.width, ctx.ints([window.width])], {}, 'window_cols');
  }

  /** [B, H, W, C] -> [B, nWindows, wh*ww, C]. */
  partition(x: string, channels: number): string {
    const { height: wh, width: ww } = this.window;
    const ctx = this.ctx;
    const split = ctx.g.op(
      'Reshape',
      [x, shapeVector(ctx, [0, this.windowRows, wh, this.windowCols, ww, channels])],
      {},
      'win_split',
    );
    const grouped = ctx.g.op('Transpose', [split], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'win_group');
    return ctx.g.op('Reshape', [grouped, ctx.ints([0, -1, wh * ww, channels])], {}, 'windows');
  }

  /** [B, nWindows, wh*ww, C] -> [B, H, W, C]; the inverse of partition. */
  reverse(windows: string, channels: number): string {
    const { height: wh, width: ww } = this.window;
    const ctx = this.ctx;
    const split = ctx.g.op(
      'Reshape',
      [windows, shapeVector(ctx, [0, this.windowRows, this.windowCols, wh, ww, channels])],
      {},
      'win_unsplit',
    );
    const ungrouped = ctx.g.op('Transpose', [split], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'win_ungroup');
    return ctx.g.op('Reshape', [ungrouped, shapeVector(ctx, [0, this.height, -1, channels])], {}, 'grid');
  }

  /**
   * Larger windows centred on each window, over the grid zero-padded by half the
   * difference on every side: what nn.Unfold(kernel overlap, stride window,
   * padding (overlap − window) / 2) gathers (HAT's OCAB), regrouped to
   * [B, nWindows, oh*ow, C] with each window's tokens row-major.
   */
  overlappingWindows(x: string, channels: number, overlap: WindowShape): string {
    const padRows = (overlap.height - this.window.height) / 2;
    const padCols = (overlap.width - this.window.width) / 2;
    if (!Number.isInteger(padRows) || !Number.isInteger(padCols) || padRows < 0 || padCols < 0) {
      throw new Error(
        `overlapping window ${overlap.height}×${overlap.width} must exceed window ` +
          `${this.window.height}×${this.window.width} by an even amount on each axis`,
      );
    }
    const ctx = this.ctx;
    const padded =
      padRows === 0 && padCols === 0
        ? x
        : ctx.g.op(
            'Pad',
            [x, ctx.ints([0, padRows, padCols, 0, 0, padRows, padCols, 0])],
            { mode: attr.string('constant') },
            'overlap_pad',
          );
    const { rows, cols } = this.overlapIndexTensors(overlap);
    // [B, nRows, oh, W + 2pc, C], then [B, nRows, oh, nCols, ow, C]
    const byRow = ctx.g.op('Gather', [padded, rows], { axis: attr.int(1) }, 'overlap_rows');
    const byCol = ctx.g.op('Gather', [byRow, cols], { axis: attr.int(3) }, 'overlap_cols');
    const grouped = ctx.g.op('Transpose', [byCol], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'overlap_group');
    return ctx.g.op(
      'Reshape',
      [grouped, ctx.ints([0, -1, overlap.height * overlap.width, channels])],
      {},
      'overlap_windows',
    );
  }

  /** Padded-grid indices [windows along the axis, overlap extent]: start·stride + offset. */
  private overlapIndexTensors(overlap: WindowShape): { rows: string; cols: string } {
    const cacheKey = `${overlap.height}x${overlap.width}`;
    const cached = this.overlapIndices.get(cacheKey);
    if (cached) return cached;
    const ctx = this.ctx;
    const along = (count: string, stride: number, extent: number, hint: string): string => {
      const offsets = ctx.g.i64(
        `${hint}_offsets`,
        Array.from({ length: extent }, (_, i) => i),
        [1, extent],
      );
      const countScalar = ctx.g.op('Squeeze', [count, ctx.ints([0])], {}, `${hint}_count`);
      const starts = ctx.g.op('Range', [ctx.int64Scalar(0), countScalar, ctx.int64Scalar(1)], {}, `${hint}_range`);
      const scaled = ctx.g.op('Mul', [starts, ctx.ints([stride])], {}, `${hint}_starts`);
      const column = ctx.g.op('Unsqueeze', [scaled, ctx.ints([1])], {}, `${hint}_col`);
      return ctx.g.op('Add', [column, offsets], {}, `${hint}_index`);
    };
    const result = {
      rows: along(this.windowRows, this.window.height, overlap.height, 'overlap_row'),
      cols: along(this.windowCols, this.window.width, overlap.width, 'overlap_col'),
    };
    this.overlapIndices.set(cacheKey, result);
    return result;
  }

  /**
   * The shifted-window attention mask for this grid's actual size, [nWindows, 1, N, N]
   * (broadcasts against logits [B, nWindows, heads, N, N]). After rolling by -shift,
   * the last window row/column mixes tokens from up to three image regions
   * (regionLabels); tokens may only attend within their own region.
   */
  shiftMask(shift: GridShift): string {
    const cacheKey = `${shift.rows},${shift.cols}`;
    const cached = this.masks.get(cacheKey);
    if (cached) return cached;
    const labels = this.regionLabels(shift);
    const mask = regionMask(this.ctx, labels, labels);
    this.masks.set(cacheKey, mask);
    return mask;
  }

  /**
   * Each token's region after the roll by −shift, per window: [nWindows, wh*ww] (float
   * labels, equal within a region). Regions along an axis of length L, window w and shift
   * s are [0, L−w), [L−w, L−s) and [L−s, L), as Swin's calculate_mask labels them.
   */
  regionLabels(shift: GridShift): string {
    const ctx = this.ctx;
    const regionLabels = (length: string, windowExtent: number, shiftAmount: number, hint: string): string => {
      const lengthScalar = ctx.g.op('Squeeze', [length, ctx.ints([0])], {}, `${hint}_len`);
      const positions = ctx.g.op('Range', [ctx.int64Scalar(0), lengthScalar, ctx.int64Scalar(1)], {}, `${hint}_pos`);
      const boundary = (fromEnd: number): string => {
        const edge = ctx.g.op('Sub', [lengthScalar, ctx.int64Scalar(fromEnd)]);
        const past = ctx.g.op('GreaterOrEqual', [positions, edge]);
        return ctx.g.op('Cast', [past], { to: attr.int(FLOAT_ELEMENT_TYPE) });
      };
      // An unshifted axis is one region: labelling it 0 everywhere keeps the mask exact.
      if (shiftAmount === 0) return ctx.g.op('Mul', [boundary(0), ctx.scalar(0)], {}, `${hint}_region`);
      return ctx.g.op('Add', [boundary(windowExtent), boundary(shiftAmount)], {}, `${hint}_region`);
    };
    const rowRegion = ctx.g.op('Unsqueeze', [
      regionLabels(this.height, this.window.height, shift.rows, 'mask_row'),
      ctx.ints([1]),
    ]);
    const colRegion = ctx.g.op('Unsqueeze', [
      regionLabels(this.width, this.window.width, shift.cols, 'mask_col'),
      ctx.ints([0]),
    ]);
    // A distinct label per (row region, column region) pair, as Swin's cnt counter gives.
    const labels = ctx.g.op('Add', [ctx.g.op('Mul', [rowRegion, ctx.scalar(3)]), colRegion], {}, 'mask_labels');
    const labelGrid = ctx.g.op('Reshape', [labels, shapeVector(ctx, [1, this.height, this.width, 1])]);
    return ctx.g.op(
      'Reshape',
      [this.partition(labelGrid, 1), ctx.ints([-1, this.window.height * this.window.width])],
      {},
      'region_labels',
    );
  }
}

/**
 * The attention mask [nWindows, 1, Nq, Nk] between queries and keys labelled by region
 * ([nWindows, Nq] and [nWindows, Nk], from regionLabels): SHIFT_MASK_VALUE where the regions
 * differ. Queries and keys may come from different grids with the same window count (GRL's
 * anchors attend to a finer grid's windows).
 */
export function regionMask(ctx: GraphContext, queryLabels: string, keyLabels: string): string {
  const queries = ctx.g.op('Unsqueeze', [queryLabels, ctx.ints([2])]);
  const keys = ctx.g.op('Unsqueeze', [keyLabels, ctx.ints([1])]);
  const differs = ctx.g.op('Not', [ctx.g.op('Equal', [queries, keys])]);
  const penalty = ctx.g.op('Where', [differs, ctx.scalar(SHIFT_MASK_VALUE), ctx.scalar(0)]);
  return ctx.g.op('Unsqueeze', [penalty, ctx.ints([1])], {}, 'shift_mask');
}

/**
 * Swin's relative_position_index for a window: entry [i, j] (query i, key j, both
 * row-major in the window) is the bias-table row for their offset d = query − key,
 * (dy + wh − 1)·(2ww − 1) + (dx + ww − 1).
 */
export function swinRelativePositionIndex(window: WindowShape): Int32Array {
  const { height: wh, width: ww } = window;
  const n = wh * ww;
  const index = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    const yi = Math.floor(i / ww);
    const xi = i % ww;
    for (let j = 0; j < n; j++) {
      const yj = Math.floor(j / ww);
      const xj = j % ww;
      index[i * n + j] = (yi - yj + wh - 1) * (2 * ww - 1) + (xi - xj + ww - 1);
    }
  }
  return index;
}

/** A bias table [entries, heads] already in the graph, and how to index it. */
export interface PositionBiasTable {
  /** The table's value name: a weight, or a table computed at conversion. */
  readonly table: string;
  readonly entries: number;
  readonly heads: number;
  /** Names the index initializer; blocks with the same layout and table size share it. */
  readonly layout: string;
  /** Row of the table for each (query, key) pair, row-major [queries × keys]. */
  readonly index: Int32Array;
  readonly queries: number;
  readonly keys: number;
  /**
   * An int32 [1] zero computed from a runtime size, added to the index so that the bias is
   * gathered at every run. Without it onnxruntime folds the gather into a [heads, queries,
   * keys] constant per block when it loads the model, which for large windows (GRL's 32²
   * windows and 64² stripes: 4 MB per head, block and direction) outweighs the network.
   */
  readonly runtimeZero?: string;
}

/**
 * The relative position bias [heads, queries, keys] for one block: the table gathered
 * in-graph by a relative-position index. The index is stored once per layout and shared,
 * so the model holds the small tables rather than a gathered copy per block; ONNX Runtime
 * folds the Gather at load. Negative indices count from the table's end, as PyTorch
 * indexing does (HAT's overlapping-attention index has some); they are wrapped here once.
 */
export function positionBias(ctx: GraphContext, t: PositionBiasTable): string {
  if (t.index.length !== t.queries * t.keys) {
    throw new Error(
      `relative position index '${t.layout}' has ${t.index.length} entries, expected ${t.queries} × ${t.keys}`,
    );
  }
  const index = ctx.constant(`relative_position_index_${t.layout}:${t.entries}`, () => ({
    data: t.index.map((row) => {
      if (row < -t.entries || row >= t.entries) {
        throw new Error(`relative position index ${row} is outside a table of ${t.entries} entries ('${t.layout}')`);
      }
      return row < 0 ? row + t.entries : row;
    }),
    dims: [t.queries * t.keys],
  }));
  const at = t.runtimeZero === undefined ? index : ctx.g.op('Add', [index, t.runtimeZero], {}, 'index_at_run');
  const rows = ctx.g.op('Gather', [t.table, at], { axis: attr.int(0) }, 'position_bias_rows');
  const grid = ctx.g.op('Reshape', [rows, ctx.ints([t.queries, t.keys, t.heads])]);
  return ctx.g.op('Transpose', [grid], { perm: attr.ints([2, 0, 1]) }, 'position_bias');
}

/** positionBias for a learned table stored in the weights under `tableKey` ([entries, heads]). */
export function storedPositionBias(
  ctx: GraphContext,
  tableKey: string,
  layout: string,
  index: Int32Array,
  queries: number,
  keys: number,
): string {
  const what = 'a relative position bias table [entries, heads]';
  const entries = dimOf(ctx.sd, tableKey, 2, 0, what);
  const heads = dimOf(ctx.sd, tableKey, 2, 1, what);
  return positionBias(ctx, { table: ctx.weight(tableKey), entries, heads, layout, index, queries, keys });
}

/**
 * Splits packed projections [B, nW, N, parts*C] (PyTorch's qkv Linear, channels
 * ordered part, head, head-channel) into `parts` tensors [B, nW, heads, N, headDim].
 */
export function splitHeads(ctx: GraphContext, packed: string, parts: number, heads: number, headDim: number): string[] {
  const split = ctx.g.op('Reshape', [packed, ctx.ints([0, 0, 0, parts, heads, headDim])], {}, 'heads_split');
  const byPart = ctx.g.op('Transpose', [split], { perm: attr.ints([3, 0, 1, 4, 2, 5]) }, 'heads_by_part');
  return Array.from({ length: parts }, (_, i) =>
    ctx.g.op('Gather', [byPart, ctx.int64Scalar(i)], { axis: attr.int(0) }, `part_${i}`),
  );
}

/** [B, nW, heads, N, headDim] -> [B, nW, N, heads*headDim]. */
export function mergeHeads(ctx: GraphContext, x: string, channels: number): string {
  const tokensFirst = ctx.g.op('Transpose', [x], { perm: attr.ints([0, 1, 3, 2, 4]) }, 'heads_merge');
  return ctx.g.op('Reshape', [tokensFirst, ctx.ints([0, 0, 0, channels])], {}, 'heads_merged');
}

export interface AttentionInputs {
  /** [B, nW, heads, Nq, d] */
  readonly query: string;
  /** [B, nW, heads, Nk, d] */
  readonly key: string;
  /** [B, nW, heads, Nk, d] */
  readonly value: string;
  /** Multiplies the queries before the dot product (head_dim ** -0.5 in Swin). */
  readonly scale: number;
  /** Added to the logits; broadcastable to [B, nW, heads, Nq, Nk]. */
  readonly biases: readonly string[];
}

/** softmax(q·scale @ kᵀ + biases) @ v over the last axis: [B, nW, heads, Nq, d]. */
export function multiHeadAttention(ctx: GraphContext, a: AttentionInputs): string {
  const q = ctx.g.op('Mul', [a.query, ctx.scalar(a.scale)], {}, 'q_scaled');
  const kT = ctx.g.op('Transpose', [a.key], { perm: attr.ints([0, 1, 2, 4, 3]) }, 'k_t');
  let logits = ctx.g.op('MatMul', [q, kT], {}, 'logits');
  for (const b of a.biases) logits = ctx.g.op('Add', [logits, b], {}, 'logits_biased');
  const weights = softmax(ctx, logits, -1);
  return ctx.g.op('MatMul', [weights, a.value], {}, 'attended');
}

export interface WindowAttentionSpec {
  readonly channels: number;
  readonly heads: number;
  /** How far the grid is rolled back before partitioning (NO_SHIFT for a plain block). */
  readonly shift: GridShift;
  /** Prefix of the output projection Linear. */
  readonly projPrefix: string;
  /** [heads, N, N] from relativePositionBias. */
  readonly positionBias: string;
}

export interface WindowSelfAttentionSpec extends WindowAttentionSpec {
  /** Prefix of the Linear producing packed q, k, v ([3C, C] weight). */
  readonly qkvPrefix: string;
}

/**
 * Attention within each window on packed q, k, v windows [B, nW, N, 3C] of the rolled
 * grid, with the relative position bias (and the region mask when shifted), projected,
 * merged back into the grid and rolled back. Returns [B, H, W, C].
 */
function attendWithinWindows(ctx: GraphContext, grid: WindowGrid, packed: string, spec: WindowAttentionSpec): string {
  const headDim = spec.channels / spec.heads;
  const [q, k, v] = splitHeads(ctx, packed, 3, spec.heads, headDim) as [string, string, string];
  const biases = isShifted(spec.shift) ? [spec.positionBias, grid.shiftMask(spec.shift)] : [spec.positionBias];
  const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale: headDim ** -0.5, biases });
  const projected = linear(ctx, mergeHeads(ctx, attended, spec.channels), spec.projPrefix);
  return cyclicShift(ctx, grid.reverse(projected, spec.channels), spec.shift);
}

/**
 * (Shifted-)window multi-head self-attention on a [B, H, W, C] grid: roll by -shift,
 * attend within each window with the relative position bias (and the region mask when
 * shifted), project, and roll back. Returns [B, H, W, C].
 */
export function windowSelfAttention(
  ctx: GraphContext,
  grid: WindowGrid,
  x: string,
  spec: WindowSelfAttentionSpec,
): string {
  const windows = grid.partition(cyclicShift(ctx, x, negated(spec.shift)), spec.channels);
  return attendWithinWindows(ctx, grid, linear(ctx, windows, spec.qkvPrefix), spec);
}

/**
 * The same attention where q, k and v were projected before (ATD shares one projection
 * between its window and category attentions): `qkv` is the packed [B, H, W, 3C] grid,
 * channels ordered part, head, head-channel as PyTorch's qkv Linear gives them.
 */
export function packedWindowAttention(
  ctx: GraphContext,
  grid: WindowGrid,
  qkv: string,
  spec: WindowAttentionSpec,
): string {
  const windows = grid.partition(cyclicShift(ctx, qkv, negated(spec.shift)), 3 * spec.channels);
  return attendWithinWindows(ctx, grid, windows, spec);
}
