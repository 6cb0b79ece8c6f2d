// OmniSR's forward (spandrel 0.4.2, architectures/OmniSR/__arch/OmniSR.py, OSAG.py, OSA.py,
// esa.py): the input is zero-padded to a multiple of the window, a 3×3 conv, the OSAGs,
// a 3×3 conv with a skip, a pixel shuffle, and the crop back. Each OSA block mixes a
// MBConv with self-attention inside windows (block) and across a window-strided grid
// (grid), each followed by gated conv feed-forwards and a transposed "channel attention"
// (d × d attention between channels, over the same windows or grid).
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, sigmoid, silu, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { layerNorm, layerNormChannelsFirst } from '../../nn/norm';
import { globalPool, pool2d } from '../../nn/pool';
import { interpolateTo } from '../../nn/resize';
import { pixelShuffle } from '../../nn/shuffle';
import { cropTo, padToMultiple, runtimeDim, scaled, shapeVector, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  mergeHeads,
  multiHeadAttention,
  splitHeads,
  squareWindow,
  storedPositionBias,
  swinRelativePositionIndex,
} from '../../nn/window-attention';
import { HEADS, LAYER, groupPrefix, layerPrefix, type OmniSRConfig } from './config';

const LAYER_NORM_EPS = 1e-5; // nn.LayerNorm before the self-attentions
const LAYER_NORM_2D_EPS = 1e-6; // OmniSR's LayerNorm2d before the conv layers
const NORMALIZE_EPS = 1e-12; // F.normalize

/** A padded map's size in windows along each axis, read once per graph. */
interface Windows {
  readonly size: number;
  readonly rows: string;
  readonly cols: string;
}

/**
 * How a map [1, F, H, W] is cut into groups of w × w pixels: `block` takes each window's
 * w × w neighbours (pixel (X·w + i, Y·w + j)); `grid` takes pixels a window apart
 * (pixel (i·H/w + X, j·W/w + Y)), one from each window. Both list groups by (X, Y) and a
 * group's pixels by (i, j), as upstream's rearranges do.
 */
type Layout = 'block' | 'grid';

/** Tokens [1, H, W, C] → [1, groups, w·w, C], grouped by `layout`. */
function partition(ctx: GraphContext, tokens: string, win: Windows, layout: Layout, channels: number): string {
  const w = win.size;
  const g = ctx.g;
  // tokens: [1, H, W, C]
  const dims = layout === 'block' ? [1, win.rows, w, win.cols, w, channels] : [1, w, win.rows, w, win.cols, channels];
  const split = g.op('Reshape', [tokens, shapeVector(ctx, dims)], {}, `${layout}_split`);
  // Both to [1, rows, cols, i, j, C].
  const perm = layout === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 2, 4, 1, 3, 5];
  const grouped = g.op('Transpose', [split], { perm: attr.ints(perm) }, `${layout}_group`);
  return g.op('Reshape', [grouped, ctx.ints([1, -1, w * w, channels])], {}, `${layout}_windows`);
}

/** The inverse of partition: [1, groups, w·w, C] → [1, H, W, C]. */
function unpartition(ctx: GraphContext, windows: string, win: Windows, layout: Layout, channels: number): string {
  const w = win.size;
  const g = ctx.g;
  const split = g.op('Reshape', [windows, shapeVector(ctx, [1, win.rows, win.cols, w, w, channels])]);
  const perm = layout === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 4, 2, 5];
  const placed = g.op('Transpose', [split], { perm: attr.ints(perm) }, `${layout}_ungroup`);
  const height = g.op('Mul', [win.rows, ctx.ints([w])]);
  return g.op('Reshape', [placed, shapeVector(ctx, [1, height, -1, channels])], {}, `${layout}_tokens`);
}

/** PreNormResidual(Attention): x + attention(LayerNorm(x)) within each group of the layout. */
function selfAttention(
  ctx: GraphContext,
  map: string,
  prefix: string,
  layout: Layout,
  win: Windows,
  c: OmniSRConfig,
): string {
  const g = ctx.g;
  const f = c.features;
  const headDim = f / HEADS;
  const n = win.size * win.size;
  const tokens = toTokenGrid(ctx, map);
  const windows = partition(ctx, layerNorm(ctx, tokens, `${prefix}.norm`, LAYER_NORM_EPS), win, layout, f);
  const [q, k, v] = splitHeads(ctx, linear(ctx, windows, `${prefix}.fn.to_qkv`), 3, HEADS, headDim);
  if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
  const biases = c.positionBias
    ? [
        storedPositionBias(
          ctx,
          `${prefix}.fn.rel_pos_bias.weight`,
          'omnisr',
          swinRelativePositionIndex(squareWindow(win.size)),
          n,
          n,
        ),
      ]
    : [];
  const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale: headDim ** -0.5, biases });
  const projected = linear(ctx, mergeHeads(ctx, attended, f), `${prefix}.fn.to_out.0`);
  const back = unpartition(ctx, projected, win, layout, f);
  return toFeatureMap(ctx, g.op('Add', [back, tokens], {}, prefix));
}

/** Conv_PreNormResidual(Gated_Conv_FeedForward): x + out(gelu(a) · b), [a, b] = dwconv(in(LN2d(x))). */
function gatedFeedForward(ctx: GraphContext, x: string, prefix: string, f: number): string {
  const g = ctx.g;
  const normed = layerNormChannelsFirst(ctx, x, `${prefix}.norm`, LAYER_NORM_2D_EPS);
  const widened = conv2d(ctx, conv2d(ctx, normed, `${prefix}.fn.project_in`), `${prefix}.fn.dwconv`, {
    groups: 2 * f,
  });
  const [a, b] = g.opN('Split', [widened], 2, { axis: attr.int(1) });
  if (a === undefined || b === undefined) throw new Error('Split gave too few outputs');
  const gated = g.op('Mul', [gelu(ctx, a), b]);
  return g.op('Add', [conv2d(ctx, gated, `${prefix}.fn.project_out`), x], {}, prefix);
}

/** F.normalize along the last axis: x / max(‖x‖₂, 1e-12). */
function normalizeLast(ctx: GraphContext, x: string): string {
  const g = ctx.g;
  const norm = g.op('ReduceL2', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  return g.op('Div', [x, g.op('Max', [norm, ctx.scalar(NORMALIZE_EPS)])], {}, 'normalized');
}

/**
 * [1, F, H, W] → [1, groups, heads, d, w·w] for the block layout (each window's pixels as
 * the last axis) or [1, w·w, heads, d, groups] for the grid (each in-window position, the
 * windows as the last axis): the two channel attentions' rearranges.
 */
function channelGroups(ctx: GraphContext, map: string, win: Windows, layout: Layout, f: number): string {
  const g = ctx.g;
  const w = win.size;
  const d = f / HEADS;
  // [1, heads, d, rows, i, cols, j]
  const split = g.op('Reshape', [map, shapeVector(ctx, [1, HEADS, d, win.rows, w, win.cols, w])]);
  const perm = layout === 'block' ? [0, 3, 5, 1, 2, 4, 6] : [0, 4, 6, 1, 2, 3, 5];
  const moved = g.op('Transpose', [split], { perm: attr.ints(perm) });
  const shape = layout === 'block' ? [1, -1, HEADS, d, w * w] : [1, w * w, HEADS, d, -1];
  return g.op('Reshape', [moved, ctx.ints(shape)], {}, `channel_${layout}`);
}

function unchannelGroups(ctx: GraphContext, x: string, win: Windows, layout: Layout, f: number): string {
  const g = ctx.g;
  const w = win.size;
  const d = f / HEADS;
  const dims = layout === 'block' ? [1, win.rows, win.cols, HEADS, d, w, w] : [1, w, w, HEADS, d, win.rows, win.cols];
  const split = g.op('Reshape', [x, shapeVector(ctx, dims)]);
  const perm = layout === 'block' ? [0, 3, 4, 1, 5, 2, 6] : [0, 3, 4, 5, 1, 6, 2];
  const placed = g.op('Transpose', [split], { perm: attr.ints(perm) });
  const height = g.op('Mul', [win.rows, ctx.ints([w])]);
  return g.op('Reshape', [placed, shapeVector(ctx, [1, f, height, -1])], {}, `channel_${layout}_map`);
}

/** Conv_PreNormResidual(Channel_Attention[_grid]): d × d attention between channels, per head and group. */
function channelAttention(
  ctx: GraphContext,
  x: string,
  prefix: string,
  layout: Layout,
  win: Windows,
  f: number,
): string {
  const g = ctx.g;
  const normed = layerNormChannelsFirst(ctx, x, `${prefix}.norm`, LAYER_NORM_2D_EPS);
  const qkv = conv2d(ctx, conv2d(ctx, normed, `${prefix}.fn.qkv`), `${prefix}.fn.qkv_dwconv`, { groups: 3 * f });
  const parts = g.opN('Split', [qkv], 3, { axis: attr.int(1) });
  const [q, k, v] = parts.map((p) => channelGroups(ctx, p, win, layout, f));
  if (q === undefined || k === undefined || v === undefined) throw new Error('Split gave too few outputs');
  const kT = g.op('Transpose', [normalizeLast(ctx, k)], { perm: attr.ints([0, 1, 2, 4, 3]) });
  const logits = g.op('Mul', [g.op('MatMul', [normalizeLast(ctx, q), kT]), ctx.weight(`${prefix}.fn.temperature`)]);
  const attended = g.op('MatMul', [softmax(ctx, logits, -1), v], {}, `${prefix}.attended`);
  const map = unchannelGroups(ctx, attended, win, layout, f);
  return g.op('Add', [conv2d(ctx, map, `${prefix}.fn.project_out`), x], {}, prefix);
}

/** MBConv with its residual: 1×1, GELU, depthwise 3×3, GELU, squeeze-excitation, 1×1. */
function mbconv(ctx: GraphContext, x: string, prefix: string, f: number): string {
  const g = ctx.g;
  const p = `${prefix}.fn`;
  const inner = gelu(ctx, conv2d(ctx, gelu(ctx, conv2d(ctx, x, `${p}.0`)), `${p}.2`, { groups: f }));
  const pooled = g.op('Reshape', [globalPool(ctx, inner, 'avg'), ctx.ints([1, f])]);
  const gate = sigmoid(ctx, linear(ctx, silu(ctx, linear(ctx, pooled, `${p}.4.gate.1`)), `${p}.4.gate.3`));
  const excited = g.op('Mul', [inner, g.op('Reshape', [gate, ctx.ints([1, f, 1, 1])])], {}, `${p}.4`);
  return g.op('Add', [conv2d(ctx, excited, `${p}.5`), x], {}, prefix);
}

function osaBlock(ctx: GraphContext, x: string, group: number, block: number, win: Windows, c: OmniSRConfig): string {
  const f = c.features;
  const layer = (l: number): string => layerPrefix(group, block, l);
  const [ff1, ff2, ff3, ff4] = LAYER.feedForwards.map(layer);
  if (ff1 === undefined || ff2 === undefined || ff3 === undefined || ff4 === undefined) {
    throw new Error('an OSA block has four feed-forwards');
  }
  let y = mbconv(ctx, x, layer(LAYER.mbconv), f);
  y = selfAttention(ctx, y, layer(LAYER.blockAttention), 'block', win, c);
  y = gatedFeedForward(ctx, y, ff1, f);
  y = channelAttention(ctx, y, layer(LAYER.blockChannelAttention), 'block', win, f);
  y = gatedFeedForward(ctx, y, ff2, f);
  y = selfAttention(ctx, y, layer(LAYER.gridAttention), 'grid', win, c);
  y = gatedFeedForward(ctx, y, ff3, f);
  y = channelAttention(ctx, y, layer(LAYER.gridChannelAttention), 'grid', win, f);
  return gatedFeedForward(ctx, y, ff4, f);
}

/** ESA: a spatial gate from a strided conv, a 7×7 max pool (stride 3) and a bilinear upsample. */
function enhancedSpatialAttention(ctx: GraphContext, x: string, prefix: string): string {
  const g = ctx.g;
  const reduced = conv2d(ctx, x, `${prefix}.conv1`);
  const strided = conv2d(ctx, reduced, `${prefix}.conv2`, { stride: 2, padding: 0 });
  const pooled = pool2d(ctx, strided, 'max', { kernel: 7, stride: 3 });
  const size = g.op('Shape', [x], { start: attr.int(2), end: attr.int(4) });
  const upsampled = interpolateTo(ctx, conv2d(ctx, pooled, `${prefix}.conv3`), size, {
    mode: 'bilinear',
    alignCorners: false,
  });
  const summed = g.op('Add', [upsampled, conv2d(ctx, reduced, `${prefix}.conv_f`)]);
  return g.op('Mul', [x, sigmoid(ctx, conv2d(ctx, summed, `${prefix}.conv4`))], {}, prefix);
}

function osag(ctx: GraphContext, x: string, group: number, win: Windows, c: OmniSRConfig): string {
  let y = x;
  for (let b = 0; b < c.blocks; b++) y = osaBlock(ctx, y, group, b, win, c);
  y = conv2d(ctx, y, `${groupPrefix(group)}.residual_layer.${c.blocks}`);
  const residual = ctx.g.op('Add', [y, x], {}, groupPrefix(group));
  return enhancedSpatialAttention(ctx, residual, `${groupPrefix(group)}.esa`);
}

/** ESA's stride-2 3×3 conv and 7×7 pool need 15 px; spandrel asks OmniSR for 16. */
const ESA_SIDE = 15;
const MINIMUM_SIDE = 16;

/**
 * The forward fails when an axis, padded to the window, is under 15 px: ESA finds nothing
 * to pool (and onnxruntime's blocked MaxPool then kills the process instead of failing the
 * run). For those sizes the image is padded as spandrel's descriptor pads OmniSR to its
 * minimum of 16 on each axis: mirrored up to length − 1, then the edge repeated (source
 * index max(min(i, 2L − 2 − i), 0)). Sizes the forward accepts are gathered unchanged.
 */
function padTooSmall(ctx: GraphContext, x: string, lengths: readonly [string, string], window: number): string {
  const g = ctx.g;
  const tooSmall = lengths.map((length) => {
    const blocks = g.op('Div', [g.op('Add', [length, ctx.ints([window - 1])]), ctx.ints([window])]);
    return g.op('Less', [g.op('Mul', [blocks, ctx.ints([window])]), ctx.ints([ESA_SIDE])]);
  });
  const [h, w] = tooSmall;
  if (h === undefined || w === undefined) throw new Error('two axes');
  const pad = g.op('Or', [h, w], {}, 'below_minimum');
  let y = x;
  lengths.forEach((length, i) => {
    const target = g.op('Where', [pad, g.op('Max', [length, ctx.ints([MINIMUM_SIDE])]), length]);
    const positions = g.op('Range', [ctx.int64Scalar(0), g.op('Squeeze', [target, ctx.ints([0])]), ctx.int64Scalar(1)]);
    const mirrored = g.op('Sub', [g.op('Sub', [g.op('Mul', [length, ctx.ints([2])]), ctx.ints([2])]), positions]);
    const source = g.op('Max', [g.op('Min', [positions, mirrored]), ctx.ints([0])], {}, 'minimum_source');
    y = g.op('Gather', [y, source], { axis: attr.int(2 + i) }, 'pad_to_minimum');
  });
  return y;
}

export function buildOmniSR(sd: StateDict, c: OmniSRConfig): Uint8Array {
  const spec = {
    name: 'omnisr',
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    description: `OmniSR x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const height = runtimeDim(ctx, input, 2);
    const width = runtimeDim(ctx, input, 3);
    const large = padTooSmall(ctx, input, [height, width], c.windowSize);
    const padded = padToMultiple(ctx, large, 'nchw', c.windowSize, 'zero');
    const w = c.windowSize;
    const win: Windows = {
      size: w,
      rows: g.op('Div', [runtimeDim(ctx, padded, 2), ctx.ints([w])], {}, 'window_rows'),
      cols: g.op('Div', [runtimeDim(ctx, padded, 3), ctx.ints([w])], {}, 'window_cols'),
    };
    const residual = conv2d(ctx, padded, 'input');
    let x = residual;
    for (let group = 0; group < c.groups; group++) x = osag(ctx, x, group, win, c);
    const body = g.op('Add', [conv2d(ctx, x, 'output'), residual], {}, 'body');
    const up = pixelShuffle(ctx, conv2d(ctx, body, 'up.0'), c.scale);
    return cropTo(ctx, up, 2, scaled(ctx, height, c.scale), scaled(ctx, width, c.scale));
  });
}
