// Window-attention machinery shared by the Swin-style families (SwinIR, HAT, and any
// later one built the same way). Everything here works on token grids laid out
// [B, H, W, C] with H and W only known at run time, so one ONNX graph serves every
// input size: window counts, the shifted-window mask and the overlapping-window indices
// are all computed inside the graph from Shape ops rather than baked in for one size.
import { attr } from './graph';
import type { LayerBuilder } from './layers';
import type { Tensor } from '../readers/state-dict';

/** Slice bounds meaning "to the end"; ONNX clamps it to the axis length. */
const TO_END = Number.MAX_SAFE_INTEGER;

/**
 * Value of the mask added to attention logits between tokens that came from different
 * regions after the cyclic shift. Swin/SwinIR/HAT use -100, not -inf, and the exact
 * value matters to the last few ulps of the softmax, so it is reproduced as is.
 */
export const SHIFT_MASK_VALUE = -100;

/** One axis of a tensor's runtime shape, as an int64 [1] tensor. */
export function runtimeDim(lb: LayerBuilder, x: string, axis: number): string {
  return lb.g.op('Shape', [x], { start: attr.int(axis), end: attr.int(axis + 1) }, 'dim');
}

/**
 * An int64 shape vector mixing known sizes (numbers) with runtime ones (int64 [1]
 * tensors): what Reshape needs when only some axes are dynamic.
 */
export function shapeVector(lb: LayerBuilder, parts: readonly (number | string)[]): string {
  const pieces: string[] = [];
  let constants: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') {
      constants.push(p);
      continue;
    }
    if (constants.length > 0) pieces.push(lb.ints(constants));
    constants = [];
    pieces.push(p);
  }
  if (constants.length > 0) pieces.push(lb.ints(constants));
  if (pieces.length === 1) return pieces[0] as string;
  return lb.g.op('Concat', pieces, { axis: attr.int(0) }, 'shape');
}

/** ONNX TensorProto element type for Cast's `to`. */
const FLOAT_ELEMENT_TYPE = 1;

const int64Scalars = new WeakMap<LayerBuilder, Map<number, string>>();

/** A 0-d int64 constant (Range bounds, Gather indices that drop an axis), shared per graph. */
export function int64Scalar(lb: LayerBuilder, value: number): string {
  let perGraph = int64Scalars.get(lb);
  if (!perGraph) int64Scalars.set(lb, (perGraph = new Map<number, string>()));
  let name = perGraph.get(value);
  if (!name) {
    name = lb.g.i64(`i64_${value}`, [value], []);
    perGraph.set(value, name);
  }
  return name;
}

/** NCHW feature map -> [B, H, W, C] token grid. */
export function toTokenGrid(lb: LayerBuilder, nchw: string): string {
  return lb.g.op('Transpose', [nchw], { perm: attr.ints([0, 2, 3, 1]) }, 'to_tokens');
}

/** [B, H, W, C] token grid -> NCHW feature map (for convolutions). */
export function toFeatureMap(lb: LayerBuilder, tokens: string): string {
  return lb.g.op('Transpose', [tokens], { perm: attr.ints([0, 3, 1, 2]) }, 'to_nchw');
}

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
export function cyclicShift(lb: LayerBuilder, x: string, shift: GridShift): string {
  let y = x;
  for (const [axis, amount] of [
    [1, shift.rows],
    [2, shift.cols],
  ] as const) {
    if (amount === 0) continue;
    // roll by +s puts x[-s:] first; roll by -s puts x[s:] first: both cut at -amount.
    const cut = lb.ints([-amount]);
    const axes = lb.ints([axis]);
    const head = lb.g.op('Slice', [y, cut, lb.ints([TO_END]), axes], {}, 'roll_head');
    const tail = lb.g.op('Slice', [y, lb.ints([0]), cut, axes], {}, 'roll_tail');
    y = lb.g.op('Concat', [head, tail], { axis: attr.int(axis) }, 'roll');
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
    private readonly lb: LayerBuilder,
    grid: string,
    readonly window: WindowShape,
  ) {
    this.height = runtimeDim(lb, grid, 1);
    this.width = runtimeDim(lb, grid, 2);
    this.windowRows = lb.g.op('Div', [this.height, lb.ints([window.height])], {}, 'window_rows');
    this.windowCols = lb.g.op('Div', [this.width, lb.ints([window.width])], {}, 'window_cols');
  }

  /** [B, H, W, C] -> [B, nWindows, wh*ww, C]. */
  partition(x: string, channels: number): string {
    const { height: wh, width: ww } = this.window;
    const lb = this.lb;
    const split = lb.g.op(
      'Reshape',
      [x, shapeVector(lb, [0, this.windowRows, wh, this.windowCols, ww, channels])],
      {},
      'win_split',
    );
    const grouped = lb.g.op('Transpose', [split], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'win_group');
    return lb.g.op('Reshape', [grouped, lb.ints([0, -1, wh * ww, channels])], {}, 'windows');
  }

  /** [B, nWindows, wh*ww, C] -> [B, H, W, C]; the inverse of partition. */
  reverse(windows: string, channels: number): string {
    const { height: wh, width: ww } = this.window;
    const lb = this.lb;
    const split = lb.g.op(
      'Reshape',
      [windows, shapeVector(lb, [0, this.windowRows, this.windowCols, wh, ww, channels])],
      {},
      'win_unsplit',
    );
    const ungrouped = lb.g.op('Transpose', [split], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'win_ungroup');
    return lb.g.op('Reshape', [ungrouped, shapeVector(lb, [0, this.height, -1, channels])], {}, 'grid');
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
    const lb = this.lb;
    const padded =
      padRows === 0 && padCols === 0
        ? x
        : lb.g.op(
            'Pad',
            [x, lb.ints([0, padRows, padCols, 0, 0, padRows, padCols, 0])],
            { mode: attr.string('constant') },
            'overlap_pad',
          );
    const { rows, cols } = this.overlapIndexTensors(overlap);
    // [B, nRows, oh, W + 2pc, C], then [B, nRows, oh, nCols, ow, C]
    const byRow = lb.g.op('Gather', [padded, rows], { axis: attr.int(1) }, 'overlap_rows');
    const byCol = lb.g.op('Gather', [byRow, cols], { axis: attr.int(3) }, 'overlap_cols');
    const grouped = lb.g.op('Transpose', [byCol], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }, 'overlap_group');
    return lb.g.op(
      'Reshape',
      [grouped, lb.ints([0, -1, overlap.height * overlap.width, channels])],
      {},
      'overlap_windows',
    );
  }

  /** Padded-grid indices [windows along the axis, overlap extent]: start·stride + offset. */
  private overlapIndexTensors(overlap: WindowShape): { rows: string; cols: string } {
    const cacheKey = `${overlap.height}x${overlap.width}`;
    const cached = this.overlapIndices.get(cacheKey);
    if (cached) return cached;
    const lb = this.lb;
    const along = (count: string, stride: number, extent: number, hint: string): string => {
      const offsets = lb.g.i64(
        `${hint}_offsets`,
        Array.from({ length: extent }, (_, i) => i),
        [1, extent],
      );
      const countScalar = lb.g.op('Squeeze', [count, lb.ints([0])], {}, `${hint}_count`);
      const starts = lb.g.op('Range', [int64Scalar(lb, 0), countScalar, int64Scalar(lb, 1)], {}, `${hint}_range`);
      const scaled = lb.g.op('Mul', [starts, lb.ints([stride])], {}, `${hint}_starts`);
      const column = lb.g.op('Unsqueeze', [scaled, lb.ints([1])], {}, `${hint}_col`);
      return lb.g.op('Add', [column, offsets], {}, `${hint}_index`);
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
   * the last window row/column mixes tokens from up to three image regions; tokens may
   * only attend within their own region. Regions along an axis of length L, window w
   * and shift s are [0, L−w), [L−w, L−s) and [L−s, L), as Swin's calculate_mask labels
   * them; masked pairs get SHIFT_MASK_VALUE.
   */
  shiftMask(shift: GridShift): string {
    const cacheKey = `${shift.rows},${shift.cols}`;
    const cached = this.masks.get(cacheKey);
    if (cached) return cached;
    const lb = this.lb;
    const regionLabels = (length: string, windowExtent: number, shiftAmount: number, hint: string): string => {
      const lengthScalar = lb.g.op('Squeeze', [length, lb.ints([0])], {}, `${hint}_len`);
      const positions = lb.g.op('Range', [int64Scalar(lb, 0), lengthScalar, int64Scalar(lb, 1)], {}, `${hint}_pos`);
      const boundary = (fromEnd: number): string => {
        const edge = lb.g.op('Sub', [lengthScalar, int64Scalar(lb, fromEnd)]);
        const past = lb.g.op('GreaterOrEqual', [positions, edge]);
        return lb.g.op('Cast', [past], { to: attr.int(FLOAT_ELEMENT_TYPE) });
      };
      // An unshifted axis is one region: labelling it 0 everywhere keeps the mask exact.
      if (shiftAmount === 0) return lb.g.op('Mul', [boundary(0), lb.scalar(0)], {}, `${hint}_region`);
      return lb.g.op('Add', [boundary(windowExtent), boundary(shiftAmount)], {}, `${hint}_region`);
    };
    const rowRegion = lb.g.op('Unsqueeze', [
      regionLabels(this.height, this.window.height, shift.rows, 'mask_row'),
      lb.ints([1]),
    ]);
    const colRegion = lb.g.op('Unsqueeze', [
      regionLabels(this.width, this.window.width, shift.cols, 'mask_col'),
      lb.ints([0]),
    ]);
    // A distinct label per (row region, column region) pair, as Swin's cnt counter gives.
    const labels = lb.g.op('Add', [lb.g.op('Mul', [rowRegion, lb.scalar(3)]), colRegion], {}, 'mask_labels');
    const labelGrid = lb.g.op('Reshape', [labels, shapeVector(lb, [1, this.height, this.width, 1])]);
    const labelWindows = lb.g.op('Reshape', [
      this.partition(labelGrid, 1),
      lb.ints([-1, this.window.height * this.window.width]),
    ]);
    const keyLabels = lb.g.op('Unsqueeze', [labelWindows, lb.ints([1])]);
    const queryLabels = lb.g.op('Unsqueeze', [labelWindows, lb.ints([2])]);
    const differs = lb.g.op('Not', [lb.g.op('Equal', [keyLabels, queryLabels])]);
    const penalty = lb.g.op('Where', [differs, lb.scalar(SHIFT_MASK_VALUE), lb.scalar(0)]);
    const mask = lb.g.op('Unsqueeze', [penalty, lb.ints([1])], {}, 'shift_mask');
    this.masks.set(cacheKey, mask);
    return mask;
  }
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

/**
 * Checks a stored relative-position-index buffer against the one the architecture
 * defines; a mismatch means the weights come from a variant this code does not know.
 */
export function checkStoredIndex(
  key: string,
  stored: Tensor | undefined,
  expected: Int32Array,
  rows: number,
  cols: number,
): void {
  if (!stored) return;
  if (stored.shape.length !== 2 || stored.shape[0] !== rows || stored.shape[1] !== cols) {
    throw new Error(`'${key}' has shape [${stored.shape.join(', ')}], expected [${rows}, ${cols}]`);
  }
  for (let i = 0; i < expected.length; i++) {
    if (Number(stored.data[i]) !== expected[i]) {
      throw new Error(
        `'${key}' entry ${i} is ${Number(stored.data[i])}, expected ${expected[i]} (unknown relative-position layout)`,
      );
    }
  }
}

/** One index initializer per (graph, layout): every block of a family shares it. */
const sharedIndices = new WeakMap<LayerBuilder, Map<string, string>>();

/**
 * The relative position bias [heads, queries, keys] for one block: its learned table
 * [entries, heads] gathered in-graph by a relative-position index [queries × keys]
 * (row-major). The index is stored once per `layout` name and shared, so the model holds
 * the small tables rather than a gathered copy per block; ONNX Runtime folds the Gather
 * at load. Negative indices count from the table's end, as PyTorch indexing does (HAT's
 * overlapping-attention index has some); they are wrapped here once.
 */
export function relativePositionBias(
  lb: LayerBuilder,
  tableKey: string,
  layout: string,
  index: Int32Array,
  queries: number,
  keys: number,
): string {
  const table = lb.sd.get(tableKey);
  if (!table) throw new Error(`the weights have no tensor '${tableKey}' (relative position bias table)`);
  if (!(table.data instanceof Float32Array) || table.shape.length !== 2) {
    throw new Error(`'${tableKey}' must be a float [entries, heads] table, found shape [${table.shape.join(', ')}]`);
  }
  const [entries, heads] = table.shape as [number, number];
  if (index.length !== queries * keys) {
    throw new Error(`relative position index '${layout}' has ${index.length} entries, expected ${queries} × ${keys}`);
  }
  let perGraph = sharedIndices.get(lb);
  if (!perGraph) sharedIndices.set(lb, (perGraph = new Map<string, string>()));
  const cacheKey = `${layout}:${entries}`;
  let indexName = perGraph.get(cacheKey);
  if (!indexName) {
    const wrapped = index.map((row) => {
      if (row < -entries || row >= entries)
        throw new Error(`relative position index ${row} is outside '${tableKey}' (${entries} entries)`);
      return row < 0 ? row + entries : row;
    });
    indexName = lb.g.initializer(`relative_position_index_${layout}`, wrapped, [queries * keys]);
    perGraph.set(cacheKey, indexName);
  }
  const rows = lb.g.op('Gather', [lb.weight(tableKey), indexName], { axis: attr.int(0) }, `${tableKey}.gather`);
  const grid = lb.g.op('Reshape', [rows, lb.ints([queries, keys, heads])]);
  return lb.g.op('Transpose', [grid], { perm: attr.ints([2, 0, 1]) }, `${tableKey}.bias`);
}

/**
 * Splits packed projections [B, nW, N, parts*C] (PyTorch's qkv Linear, channels
 * ordered part, head, head-channel) into `parts` tensors [B, nW, heads, N, headDim].
 */
export function splitHeads(lb: LayerBuilder, packed: string, parts: number, heads: number, headDim: number): string[] {
  const split = lb.g.op('Reshape', [packed, lb.ints([0, 0, 0, parts, heads, headDim])], {}, 'heads_split');
  const byPart = lb.g.op('Transpose', [split], { perm: attr.ints([3, 0, 1, 4, 2, 5]) }, 'heads_by_part');
  return Array.from({ length: parts }, (_, i) =>
    lb.g.op('Gather', [byPart, int64Scalar(lb, i)], { axis: attr.int(0) }, `part_${i}`),
  );
}

/** [B, nW, heads, N, headDim] -> [B, nW, N, heads*headDim]. */
export function mergeHeads(lb: LayerBuilder, x: string, channels: number): string {
  const tokensFirst = lb.g.op('Transpose', [x], { perm: attr.ints([0, 1, 3, 2, 4]) }, 'heads_merge');
  return lb.g.op('Reshape', [tokensFirst, lb.ints([0, 0, 0, channels])], {}, 'heads_merged');
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
export function multiHeadAttention(lb: LayerBuilder, a: AttentionInputs): string {
  const q = lb.g.op('Mul', [a.query, lb.scalar(a.scale)], {}, 'q_scaled');
  const kT = lb.g.op('Transpose', [a.key], { perm: attr.ints([0, 1, 2, 4, 3]) }, 'k_t');
  let logits = lb.g.op('MatMul', [q, kT], {}, 'logits');
  for (const b of a.biases) logits = lb.g.op('Add', [logits, b], {}, 'logits_biased');
  const weights = lb.g.op('Softmax', [logits], { axis: attr.int(-1) }, 'attn');
  return lb.g.op('MatMul', [weights, a.value], {}, 'attended');
}

export interface WindowSelfAttentionSpec {
  readonly channels: number;
  readonly heads: number;
  /** How far the grid is rolled back before partitioning (NO_SHIFT for a plain block). */
  readonly shift: GridShift;
  /** Prefix of the Linear producing packed q, k, v ([3C, C] weight). */
  readonly qkvPrefix: string;
  /** Prefix of the output projection Linear. */
  readonly projPrefix: string;
  /** [heads, N, N] from relativePositionBias. */
  readonly positionBias: string;
}

/**
 * (Shifted-)window multi-head self-attention on a [B, H, W, C] grid: roll by -shift,
 * attend within each window with the relative position bias (and the region mask when
 * shifted), project, and roll back. Returns [B, H, W, C].
 */
export function windowSelfAttention(
  lb: LayerBuilder,
  grid: WindowGrid,
  x: string,
  spec: WindowSelfAttentionSpec,
): string {
  const headDim = spec.channels / spec.heads;
  const windows = grid.partition(cyclicShift(lb, x, negated(spec.shift)), spec.channels);
  const [q, k, v] = splitHeads(lb, lb.linear(windows, spec.qkvPrefix), 3, spec.heads, headDim) as [
    string,
    string,
    string,
  ];
  const biases = isShifted(spec.shift) ? [spec.positionBias, grid.shiftMask(spec.shift)] : [spec.positionBias];
  const attended = multiHeadAttention(lb, { query: q, key: k, value: v, scale: headDim ** -0.5, biases });
  const projected = lb.linear(mergeHeads(lb, attended, spec.channels), spec.projPrefix);
  return cyclicShift(lb, grid.reverse(projected, spec.channels), spec.shift);
}
