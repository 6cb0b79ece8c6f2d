// FDAT's "lda" head module, LDA_AQU (learnable deformable attention upsampling): each
// output pixel attends over 3 × 3 keys and values sampled bilinearly at learned offsets
// around it, its query the bilinearly upsampled projection of the normalised map. As in
// spandrel's class (FDAT/__arch/fdat.py): one head, two offset groups, reduction 4, a
// kernel of 3, offsets tanh(·) · 11 around a fixed 3 × 3 base, a learned bias on the keys,
// and sampling coordinates normalised against the output's size while sampling the input.
import { attr } from '../../onnx/graph';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { silu, softmax, tanh } from '../../nn/activation';
import { layerNormChannelsFirst } from '../../nn/norm';
import { gridSample } from '../../nn/grid-sample';
import { interpolateTo } from '../../nn/resize';
import { runtimeDim, scaled, shapeVector } from '../../nn/shape';
import type { CheckedTensors } from '../../weights/checked';
import { WeightError } from '../../weights/tensors';

const REDUCTION = 4;
const GROUPS = 2;
const KERNEL = 3;
const TAPS = KERNEL * KERNEL;
const OFFSET_RANGE = 11;
const NORM_EPS = 1e-6;
const FLOAT = 1;

export interface LdaShape {
  /** Channels of the map (in_channels upstream). */
  readonly channels: number;
  /** Query and key width, channels / 4. */
  readonly hidden: number;
}

export function checkLdaUpsampler(check: CheckedTensors, prefix: string, channels: number): LdaShape {
  if (channels % (REDUCTION * GROUPS) !== 0) {
    throw new WeightError(
      `${prefix}.proj_q.weight`,
      `LDA upsampling of ${channels} channels: expected a multiple of ${REDUCTION * GROUPS} (two offset groups of a quarter of them)`,
    );
  }
  const hidden = channels / REDUCTION;
  const groupChannels = hidden / GROUPS;
  check.conv(`${prefix}.proj_q`, { out: hidden, in: channels, kernel: 1, bias: 'none' });
  check.conv(`${prefix}.proj_k`, { out: hidden, in: channels, kernel: 1, bias: 'none' });
  check.conv(`${prefix}.conv_offset.0`, { out: groupChannels, in: 1, kernel: 3, bias: 'none' });
  check.norm(`${prefix}.conv_offset.1`, groupChannels);
  check.conv(`${prefix}.conv_offset.3`, { out: 2 * TAPS, in: groupChannels, kernel: KERNEL });
  check.norm(`${prefix}.layer_norm`, channels);
  check.shape(`${prefix}.relative_position_bias_table`, [1, 1, 1, TAPS, hidden]);
  return { channels, hidden };
}

/** The fixed offsets of the 3 × 3 taps, (dy, dx) per tap row-major: [1, 18, 1, 1]. */
function baseOffsets(): Float32Array {
  const base = new Float32Array(2 * TAPS);
  for (let tap = 0; tap < TAPS; tap++) {
    base[2 * tap] = Math.floor(tap / KERNEL) - 1;
    base[2 * tap + 1] = (tap % KERNEL) - 1;
  }
  return base;
}

/**
 * Sampling grid [groups, 3·oH, 3·oW, (x, y)] from offsets [groups, 18, oH, oW]: each tap's
 * offset plus the output pixel's own row and column, normalised by the output's size.
 */
function samplingGrid(ctx: GraphContext, offsets: string, outHeight: string, outWidth: string): string {
  const g = ctx.g;
  const byTap = g.op('Reshape', [offsets, shapeVector(ctx, [GROUPS, KERNEL, KERNEL, 2, outHeight, outWidth])]);
  const float = (v: string): string => g.op('Cast', [v], { to: attr.int(FLOAT) });
  const positions = (length: string): string =>
    float(g.op('Range', [ctx.int64Scalar(0), g.op('Squeeze', [length, ctx.ints([0])]), ctx.int64Scalar(1)]));
  const normalised = (axis: number, index: string, length: string): string => {
    const d = g.op('Gather', [byTap, ctx.int64Scalar(axis)], { axis: attr.int(3) });
    const twice = g.op('Mul', [g.op('Add', [d, index]), ctx.scalar(2)]);
    const span = float(g.op('Sub', [length, ctx.ints([1])]));
    return g.op('Unsqueeze', [g.op('Sub', [g.op('Div', [twice, span]), ctx.scalar(1)]), ctx.ints([-1])]);
  };
  const rows = g.op('Unsqueeze', [positions(outHeight), ctx.ints([1])]);
  const y = normalised(0, rows, outHeight);
  const x = normalised(1, positions(outWidth), outWidth);
  // [groups, kh, kw, oH, oW, (x, y)] -> rows kh·oH + h, columns kw·oW + w.
  const xy = g.op('Concat', [x, y], { axis: attr.int(-1) });
  const laidOut = g.op('Transpose', [xy], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  const width = scaled(ctx, outWidth, KERNEL);
  return g.op('Reshape', [laidOut, shapeVector(ctx, [GROUPS, -1, width, 2])], {}, 'lda_grid');
}

/**
 * `map` [1, C, H, W] split into the two groups and sampled at the 3 × 3 taps of every
 * output pixel: [oH·oW, 9, C] with the channels group-major, as upstream regroups them.
 */
function sampledTaps(ctx: GraphContext, map: string, channels: number, grid: string, size: Size): string {
  const g = ctx.g;
  const grouped = g.op('Reshape', [map, ctx.ints([GROUPS, channels / GROUPS, 0, 0])]);
  const sampled = gridSample(ctx, grouped, grid, { mode: 'bilinear', padding: 'zeros', alignCorners: true });
  const split = g.op('Reshape', [
    sampled,
    shapeVector(ctx, [GROUPS, channels / GROUPS, KERNEL, size.height, KERNEL, size.width]),
  ]);
  const perPixel = g.op('Transpose', [split], { perm: attr.ints([3, 5, 2, 4, 0, 1]) });
  return g.op('Reshape', [perPixel, ctx.ints([-1, TAPS, channels])], {}, 'lda_taps');
}

interface Size {
  readonly height: string;
  readonly width: string;
}

/** LDA_AQU at `prefix` on x [1, C, H, W], upsampling by `scale`: [1, C, scale·H, scale·W]. */
export function ldaUpsampler(ctx: GraphContext, x: string, prefix: string, scale: number, s: LdaShape): string {
  const g = ctx.g;
  const out: Size = {
    height: scaled(ctx, runtimeDim(ctx, x, 2), scale),
    width: scaled(ctx, runtimeDim(ctx, x, 3), scale),
  };
  const normed = layerNormChannelsFirst(ctx, x, `${prefix}.layer_norm`, NORM_EPS);
  const outSize = g.op('Concat', [out.height, out.width], { axis: attr.int(0) });
  const query = interpolateTo(ctx, conv2d(ctx, normed, `${prefix}.proj_q`), outSize, {
    mode: 'bilinear',
    alignCorners: true,
  });
  const key = conv2d(ctx, normed, `${prefix}.proj_k`);

  const groupChannels = s.hidden / GROUPS;
  const perGroup = g.op('Reshape', [query, ctx.ints([GROUPS, groupChannels, 0, 0])]);
  const depthwise = conv2d(ctx, perGroup, `${prefix}.conv_offset.0`, { groups: groupChannels });
  const offsetFeatures = silu(ctx, layerNormChannelsFirst(ctx, depthwise, `${prefix}.conv_offset.1`, NORM_EPS));
  const predicted = conv2d(ctx, offsetFeatures, `${prefix}.conv_offset.3`);
  const base = ctx.constant('lda_base_offset', () => ({ data: baseOffsets(), dims: [1, 2 * TAPS, 1, 1] }));
  const offsets = g.op('Add', [g.op('Mul', [tanh(ctx, predicted), ctx.scalar(OFFSET_RANGE)]), base]);
  const grid = samplingGrid(ctx, offsets, out.height, out.width);

  const bias = ctx.weightAs(`${prefix}.relative_position_bias_table`, [TAPS, s.hidden]);
  const keys = g.op('Add', [sampledTaps(ctx, key, s.hidden, grid, out), bias]);
  const values = sampledTaps(ctx, x, s.channels, grid, out);
  const queries = g.op('Transpose', [g.op('Reshape', [query, ctx.ints([s.hidden, -1])])], { perm: attr.ints([1, 0]) });
  const q = g.op('Mul', [g.op('Unsqueeze', [queries, ctx.ints([1])]), ctx.scalar(s.hidden ** -0.5)]);
  const scores = g.op('MatMul', [q, g.op('Transpose', [keys], { perm: attr.ints([0, 2, 1]) })]);
  const attended = g.op('MatMul', [softmax(ctx, scores, -1), values]);
  const grid3 = g.op('Reshape', [attended, shapeVector(ctx, [out.height, out.width, s.channels])]);
  const map = g.op('Transpose', [grid3], { perm: attr.ints([2, 0, 1]) });
  return g.op('Unsqueeze', [map, ctx.ints([0])], {}, 'lda_upsampled');
}
