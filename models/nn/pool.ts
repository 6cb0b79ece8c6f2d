// Pooling on NCHW maps: global, fixed-window, and adaptive (PyTorch's AdaptiveAvgPool2d /
// AdaptiveMaxPool2d and their functional forms). Adaptive output cell i along an axis of
// length L and O cells spans [floor(iL/O), ceil((i+1)L/O)); ONNX has no such operator, so
// the cells are gathered from the input's runtime size: each axis separately (a cell is a
// rectangle, so pooling rows then columns gives the same max or mean), with every cell
// padded to the longest one by repeating its last element, which a max ignores and a
// masked mean excludes.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { runtimeDim } from './shape';

export type PoolKind = 'avg' | 'max';

export function globalPool(ctx: GraphContext, x: string, kind: PoolKind): string {
  return ctx.g.op(kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x], {}, `global_${kind}_pool`);
}

export interface PoolWindow {
  readonly kernel: number;
  /** Defaults to the kernel, as in PyTorch. */
  readonly stride?: number;
  readonly padding?: number;
}

/**
 * nn.MaxPool2d / nn.AvgPool2d with a square window (ceil_mode False; the average counts
 * padded zeros, PyTorch's count_include_pad=True).
 */
export function pool2d(ctx: GraphContext, x: string, kind: PoolKind, w: PoolWindow): string {
  const p = w.padding ?? 0;
  return ctx.g.op(
    kind === 'avg' ? 'AveragePool' : 'MaxPool',
    [x],
    {
      kernel_shape: attr.ints([w.kernel, w.kernel]),
      strides: attr.ints([w.stride ?? w.kernel, w.stride ?? w.kernel]),
      pads: attr.ints([p, p, p, p]),
      ...(kind === 'avg' && { count_include_pad: attr.int(1) }),
    },
    `${kind}_pool`,
  );
}

/** Pools axis `axis` (2 or 3) of length `length` into `cells` cells (both int64 [1]). */
function adaptiveAxis(
  ctx: GraphContext,
  x: string,
  kind: PoolKind,
  axis: number,
  length: string,
  cells: string,
): string {
  const g = ctx.g;
  const squeeze = (v: string): string => g.op('Squeeze', [v, ctx.ints([0])]);
  const index = g.op('Range', [ctx.int64Scalar(0), squeeze(cells), ctx.int64Scalar(1)], {}, 'cell_index');
  // Non-negative int64 Div rounds down: start = ⌊iL/O⌋, end = ⌈(i+1)L/O⌉.
  const start = g.op('Div', [g.op('Mul', [index, length]), cells], {}, 'cell_start');
  const next = g.op('Mul', [g.op('Add', [index, ctx.ints([1])]), length]);
  const end = g.op('Div', [g.op('Add', [next, g.op('Sub', [cells, ctx.ints([1])])]), cells], {}, 'cell_end');
  const extent = g.op('Sub', [end, start], {}, 'cell_extent');
  const longest = g.op('ReduceMax', [extent], { keepdims: attr.int(0) });
  const offsets = g.op('Range', [ctx.int64Scalar(0), longest, ctx.int64Scalar(1)], {}, 'cell_offsets');
  // [O, K] source positions; past a cell's end, its last position again.
  const wanted = g.op('Add', [g.op('Unsqueeze', [start, ctx.ints([1])]), g.op('Unsqueeze', [offsets, ctx.ints([0])])]);
  const last = g.op('Unsqueeze', [g.op('Sub', [end, ctx.ints([1])]), ctx.ints([1])]);
  const positions = g.op('Min', [wanted, last], {}, 'cell_positions');
  // Gathering replaces `axis` by [O, K]; the cell axis K then sits at axis + 1.
  const gathered = g.op('Gather', [x, positions], { axis: attr.int(axis) }, 'cells');
  const cellAxis = { axes: attr.ints([axis + 1]), keepdims: attr.int(0) };
  if (kind === 'max') return g.op('ReduceMax', [gathered], cellAxis, 'adaptive_max');
  // A mean over each cell's own extent: the repeated positions are masked out.
  const inside = g.op('Cast', [g.op('Less', [wanted, g.op('Unsqueeze', [end, ctx.ints([1])])])], {
    to: attr.int(1),
  });
  const trailing = 3 - axis; // axes after the cell axis in the gathered rank-5 tensor
  const mask = trailing > 0 ? g.op('Unsqueeze', [inside, ctx.ints([2])]) : inside;
  const sum = g.op('ReduceSum', [g.op('Mul', [gathered, mask]), ctx.ints([axis + 1])], { keepdims: attr.int(0) });
  const count = g.op('Cast', [extent], { to: attr.int(1) });
  const countShaped = trailing > 0 ? g.op('Unsqueeze', [count, ctx.ints([1])]) : count;
  return g.op('Div', [sum, countShaped], {}, 'adaptive_avg');
}

/**
 * F.adaptive_{avg,max}_pool2d(x, (outHeight, outWidth)) on NCHW; the output sizes are
 * numbers or int64 [1] tensors (sizes computed from the input, as SAFMN's H // 2^i).
 */
export function adaptivePool2d(
  ctx: GraphContext,
  x: string,
  kind: PoolKind,
  outHeight: number | string,
  outWidth: number | string,
): string {
  if (outHeight === 1 && outWidth === 1) return globalPool(ctx, x, kind);
  const cells = (v: number | string): string => (typeof v === 'number' ? ctx.ints([v]) : v);
  const rows = adaptiveAxis(ctx, x, kind, 2, runtimeDim(ctx, x, 2), cells(outHeight));
  return adaptiveAxis(ctx, rows, kind, 3, runtimeDim(ctx, rows, 3), cells(outWidth));
}
