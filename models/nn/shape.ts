// Shapes known only at run time, layout changes, and padding to a multiple inside the
// graph. Every converted graph takes any input size: the architectures that need a
// multiple (a window, an unshuffle factor) pad in their forward, and so do these graphs,
// with the sizes computed from the input's Shape rather than fixed at conversion.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';

/** One axis of a tensor's runtime shape, as an int64 [1] tensor. */
export function runtimeDim(ctx: GraphContext, x: string, axis: number): string {
  return ctx.g.op('Shape', [x], { start: attr.int(axis), end: attr.int(axis + 1) }, 'dim');
}

/**
 * An int64 shape vector mixing known sizes (numbers) with runtime ones (int64 [1]
 * tensors): what Reshape needs when only some axes are dynamic.
 */
export function shapeVector(ctx: GraphContext, parts: readonly (number | string)[]): string {
  const pieces: string[] = [];
  let constants: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') {
      constants.push(p);
      continue;
    }
    if (constants.length > 0) pieces.push(ctx.ints(constants));
    constants = [];
    pieces.push(p);
  }
  if (constants.length > 0) pieces.push(ctx.ints(constants));
  const [only] = pieces;
  if (pieces.length === 1 && only !== undefined) return only;
  return ctx.g.op('Concat', pieces, { axis: attr.int(0) }, 'shape');
}

/** NCHW feature map -> [B, H, W, C] token grid. */
export function toTokenGrid(ctx: GraphContext, nchw: string): string {
  return ctx.g.op('Transpose', [nchw], { perm: attr.ints([0, 2, 3, 1]) }, 'to_tokens');
}

/** [B, H, W, C] token grid -> NCHW feature map (for convolutions). */
export function toFeatureMap(ctx: GraphContext, tokens: string): string {
  return ctx.g.op('Transpose', [tokens], { perm: attr.ints([0, 3, 1, 2]) }, 'to_nchw');
}

/**
 * How padding fills the added rows and columns: F.pad's 'reflect' (mirror without
 * repeating the edge), 'replicate' (repeat the edge), 'zero', or 'symmetric' (mirror
 * repeating the edge, what torch.flip + cat gives).
 */
export type PadMode = 'reflect' | 'replicate' | 'zero' | 'symmetric';

/** (length + multiple − 1) / multiple · multiple, on an int64 [1] length. */
export function roundUp(ctx: GraphContext, length: string, multiple: number): string {
  const m = ctx.ints([multiple]);
  const blocks = ctx.g.op('Div', [ctx.g.op('Add', [length, ctx.ints([multiple - 1])]), m]);
  return ctx.g.op('Mul', [blocks, m], {}, 'padded_length');
}

/**
 * Mirror indices −before … end − 1 into an axis of `length`: reflection has period
 * 2(L − 1) and skips the edge, symmetric period 2L and repeats it (int64 Mod takes the
 * divisor's sign, so positions before the start mirror too). They keep folding back for
 * pads longer than the axis (where F.pad would refuse), and a one-pixel axis repeats.
 */
function mirrorIndices(
  ctx: GraphContext,
  length: string,
  before: number,
  end: string,
  mode: 'reflect' | 'symmetric',
): string {
  const g = ctx.g;
  const limit = g.op('Squeeze', [end, ctx.ints([0])]);
  const positions = g.op('Range', [ctx.int64Scalar(-before), limit, ctx.int64Scalar(1)], {}, 'pad_positions');
  if (mode === 'reflect') {
    const period = g.op('Max', [g.op('Mul', [g.op('Sub', [length, ctx.ints([1])]), ctx.ints([2])]), ctx.ints([1])]);
    const phase = g.op('Mod', [positions, period]);
    return g.op('Where', [g.op('Less', [phase, length]), phase, g.op('Sub', [period, phase])], {}, 'reflect_source');
  }
  const period = g.op('Mul', [length, ctx.ints([2])]);
  const phase = g.op('Mod', [positions, period]);
  const mirrored = g.op('Sub', [g.op('Sub', [period, ctx.ints([1])]), phase]);
  return g.op('Where', [g.op('Less', [phase, length]), phase, mirrored], {}, 'symmetric_source');
}

/** What F.pad adds along one axis: `before` in front, `after` behind plus what reaches a multiple of `multiple`. */
interface AxisPadding {
  readonly before: number;
  readonly after: number;
  readonly multiple: number;
}

/** Pads `x` along `axis`, whose runtime length is `length` (int64 [1]), on a rank-4 map. */
function padAxis(ctx: GraphContext, x: string, axis: number, length: string, pad: AxisPadding, mode: PadMode): string {
  if (pad.before === 0 && pad.after === 0 && pad.multiple === 1) return x;
  const reached = pad.multiple === 1 ? length : roundUp(ctx, length, pad.multiple);
  const end = pad.after === 0 ? reached : ctx.g.op('Add', [reached, ctx.ints([pad.after])]);
  return padAxisSpan(ctx, x, axis, length, pad.before, end, mode);
}

/** Pads `x` along `axis` (runtime `length`) to positions −before … end − 1, `end` an int64 [1] runtime size. */
function padAxisSpan(
  ctx: GraphContext,
  x: string,
  axis: number,
  length: string,
  before: number,
  end: string,
  mode: PadMode,
): string {
  const g = ctx.g;
  if (mode === 'reflect' || mode === 'symmetric') {
    return g.op('Gather', [x, mirrorIndices(ctx, length, before, end, mode)], { axis: attr.int(axis) }, `pad_${mode}`);
  }
  // ONNX Pad lists every axis' begin, then every axis' end; only `axis` gets pads.
  const begins = [0, 0, 0, 0];
  begins[axis] = before;
  const ends: (number | string)[] = [0, 0, 0, 0];
  ends[axis] = g.op('Sub', [end, length]);
  const pads = shapeVector(ctx, [...begins, ...ends]);
  return g.op('Pad', [x, pads], { mode: attr.string(mode === 'zero' ? 'constant' : 'edge') }, `pad_${mode}`);
}

/**
 * Pads `x` at the end of `axis` (bottom or right) up to the next multiple of `multiple`,
 * as the forwards that pad `(0, pad_w, 0, pad_h)` do, on a rank-4 map (NCHW or NHWC).
 * `length` is the axis' runtime length (int64 [1]). A multiple of 1 returns `x` unchanged.
 */
export function padAxisToMultiple(
  ctx: GraphContext,
  x: string,
  axis: number,
  length: string,
  multiple: number,
  mode: PadMode,
): string {
  return padAxis(ctx, x, axis, length, { before: 0, after: 0, multiple }, mode);
}

/**
 * F.pad(x, (before, after + pad_w, before, after + pad_h), mode) on an NCHW map, pad_h and
 * pad_w bringing each side to a multiple of `multiple`: a border on every side, the bottom
 * and right one widened to the multiple (Real-CUGAN pads this way before its valid convs).
 */
export function padBorder(ctx: GraphContext, x: string, pad: AxisPadding, mode: PadMode): string {
  const rows = padAxis(ctx, x, 2, runtimeDim(ctx, x, 2), pad, mode);
  return padAxis(ctx, rows, 3, runtimeDim(ctx, x, 3), pad, mode);
}

/** F.pad(x, (−k, −k, −k, −k)) on an NCHW map: `k` rows and columns cut from every side. */
export function cropBorder(ctx: GraphContext, x: string, k: number): string {
  if (k === 0) return x;
  return ctx.g.op('Slice', [x, ctx.ints([k, k]), ctx.ints([-k, -k]), ctx.ints([2, 3])], {}, 'crop_border');
}

/**
 * Pads `x` at the end of `axis` from `length` to `padded` rows (both int64 [1] runtime
 * sizes, padded ≥ length), on a rank-4 map: for targets other than the next multiple, as
 * CRAFT's forward pads to ⌊L / 16 + 1⌋ · 16.
 */
export function padAxisToLength(
  ctx: GraphContext,
  x: string,
  axis: number,
  length: string,
  padded: string,
  mode: PadMode,
): string {
  return padAxisSpan(ctx, x, axis, length, 0, padded, mode);
}

/** Both spatial axes of an NCHW (axes 2, 3) or NHWC (axes 1, 2) map padded to a multiple. */
export function padToMultiple(
  ctx: GraphContext,
  x: string,
  layout: 'nchw' | 'nhwc',
  multiple: number,
  mode: PadMode,
): string {
  const [hAxis, wAxis] = layout === 'nchw' ? [2, 3] : [1, 2];
  const height = runtimeDim(ctx, x, hAxis);
  const width = runtimeDim(ctx, x, wAxis);
  const rows = padAxisToMultiple(ctx, x, hAxis, height, multiple, mode);
  return padAxisToMultiple(ctx, rows, wAxis, width, multiple, mode);
}

/**
 * Pads the bottom and right of an NCHW map as spandrel's call API does to meet a model's
 * size requirements (pad_tensor): each axis to at least `minimum`, then up to a multiple
 * of `multiple`, mirrored without repeating the edge for at most length − 1 rows, the rest
 * repeating the last row written (row 0 by then). An axis that already fits is unchanged.
 * For forwards that cannot run below a size (pooling to H / 2^i, strided aggregation).
 */
export function padToRequirement(ctx: GraphContext, x: string, minimum: number, multiple: number): string {
  const along = (input: string, axis: number): string => {
    const length = runtimeDim(ctx, input, axis);
    return padAxisTo(ctx, input, axis, length, roundUp(ctx, atLeast(ctx, length, minimum), multiple));
  };
  return along(along(x, 2), 3);
}

/**
 * `body` run on `x` padded by padToRequirement, its output (`scale` times the input)
 * cropped back to the unpadded size, as spandrel's call API crops after padding.
 */
export function withRequirement(
  ctx: GraphContext,
  x: string,
  requirement: { readonly minimum: number; readonly multiple: number; readonly scale: number },
  body: (padded: string) => string,
): string {
  const height = scaled(ctx, runtimeDim(ctx, x, 2), requirement.scale);
  const width = scaled(ctx, runtimeDim(ctx, x, 3), requirement.scale);
  const out = body(padToRequirement(ctx, x, requirement.minimum, requirement.multiple));
  return cropTo(ctx, out, 2, height, width);
}

/**
 * The top-left `height × width` of `x` along (hAxis, hAxis + 1): the crop back to the
 * input's size (times the scale) after padding. Sizes are int64 [1] tensors.
 */
export function cropTo(ctx: GraphContext, x: string, hAxis: number, height: string, width: string): string {
  const ends = ctx.g.op('Concat', [height, width], { axis: attr.int(0) }, 'crop_ends');
  return ctx.g.op('Slice', [x, ctx.ints([0, 0]), ends, ctx.ints([hAxis, hAxis + 1])], {}, 'crop');
}

/** An int64 [1] size times a constant (the output size of a ×scale network). */
export function scaled(ctx: GraphContext, size: string, factor: number): string {
  return factor === 1 ? size : ctx.g.op('Mul', [size, ctx.ints([factor])]);
}

/**
 * Pads the end of `axis` to `target` rows (int64 [1], at least `length`) as spandrel's
 * descriptor pads an input to its size requirements (pad_tensor): reflected without
 * repeating the edge as far as the axis allows (length − 1), the rest repeating the last
 * row reached. Source row of position p: p inside the axis, else max(2(L − 1) − p, 0).
 */
export function padAxisTo(ctx: GraphContext, x: string, axis: number, length: string, target: string): string {
  const g = ctx.g;
  const positions = g.op('Range', [ctx.int64Scalar(0), g.op('Squeeze', [target, ctx.ints([0])]), ctx.int64Scalar(1)]);
  const mirrored = g.op('Sub', [g.op('Mul', [g.op('Sub', [length, ctx.ints([1])]), ctx.ints([2])]), positions]);
  const source = g.op('Max', [g.op('Min', [positions, mirrored]), ctx.ints([0])], {}, 'descriptor_pad_source');
  return g.op('Gather', [x, source], { axis: attr.int(axis) }, 'descriptor_pad');
}

/** max(length, minimum) on an int64 [1] length: the size an axis is padded to for a minimum. */
export function atLeast(ctx: GraphContext, length: string, minimum: number): string {
  return ctx.g.op('Max', [length, ctx.ints([minimum])]);
}
