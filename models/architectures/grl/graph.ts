// GRL's forward as ONNX. Each block projects q, k, v once and splits them between two
// attentions on half the channels each: Swin V2 window attention (shifted every other block,
// with the shift mask) and anchored stripe attention, where a coarse anchor map (the features
// pooled or strided by the anchor factor) first attends to a stripe's keys and values and the
// stripe's queries then attend to the anchors. Both are cosine attentions with continuous
// position biases, whose tables depend only on window shapes; the masks depend on the input
// size and are computed in the graph.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu } from '../../nn/activation';
import { layerNorm } from '../../nn/norm';
import { linear } from '../../nn/linear';
import { pool2d } from '../../nn/pool';
import { channelAttention } from '../../nn/channel-attention';
import { cropTo, padToMultiple, runtimeDim, scaled, shapeVector, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  WindowGrid,
  cyclicShift,
  mergeHeads,
  regionMask,
  splitHeads,
  squareWindow,
  swinRelativePositionIndex,
  type GridShift,
  type WindowShape,
} from '../../nn/window-attention';
import { continuousPositionBias, cosineAttention, logSpacedCoordinates } from '../../nn/cosine-attention';
import { buildHead } from '../swin-shell/heads';
import { residualConv, upstreamMean } from '../swin-shell/shell';
import { mlp } from '../swin-shell/blocks';
import type { GrlConfig } from './config';

const EPS = 1e-5;
/** ONNX TensorProto element type for Cast's `to`: the position indices' type. */
const INT32 = 6;

/**
 * get_relative_position_index_simple between a stripe window and its anchor window: the
 * table row of each (anchor, token) pair, [Na, Nw] when `anchorFirst`, else [Nw, Na].
 */
export function anchorRelativeIndex(window: WindowShape, anchor: WindowShape, anchorFirst: boolean): Int32Array {
  const stride = anchor.width + window.width - 1;
  const cells = (w: WindowShape): [number, number][] =>
    Array.from({ length: w.height * w.width }, (_, i) => [Math.floor(i / w.width), i % w.width]);
  const [outer, inner, offset] = anchorFirst
    ? [cells(anchor), cells(window), window]
    : [cells(window), cells(anchor), anchor];
  const index = new Int32Array(outer.length * inner.length);
  outer.forEach(([y1, x1], i) => {
    inner.forEach(([y2, x2], j) => {
      index[i * inner.length + j] = (y1 - y2 + offset.height - 1) * stride + (x1 - x2 + offset.width - 1);
    });
  });
  return index;
}

/**
 * get_relative_coords_table_all for a stripe and its anchor (`factor` times smaller): per
 * axis the offsets from −(a − 1) − (s − a) // 2 to s − 1 − (s − a) // 2, divided by the latter.
 */
export function stripeCoordinates(stripe: WindowShape, factor: number): Float32Array {
  const axis = (s: number): { from: number; to: number; divisor: number } => {
    const a = Math.floor(s / factor);
    const to = s - 1 - Math.floor((s - a) / 2);
    return { from: -(a - 1) - Math.floor((s - a) / 2), to, divisor: to };
  };
  return logSpacedCoordinates(axis(stripe.height), axis(stripe.width));
}

function transposed(w: WindowShape): WindowShape {
  return { height: w.width, width: w.height };
}

function negated(s: GridShift): GridShift {
  return { rows: -s.rows, cols: -s.cols };
}

class GrlGraph {
  private readonly grids = new Map<string, WindowGrid>();
  private readonly stripeMasks = new Map<string, { anchorToWindow: string; windowToAnchor: string }>();

  constructor(
    private readonly ctx: GraphContext,
    private readonly c: GrlConfig,
    /** Gathers every position bias at run time (PositionBiasTable.runtimeZero). */
    private readonly runtimeZero: string,
  ) {}

  /** One grid per role and window shape: every block's features (or anchors) have the same size. */
  private grid(role: 'features' | 'anchors', tokens: string, window: WindowShape): WindowGrid {
    const key = `${role}:${window.height}x${window.width}`;
    let grid = this.grids.get(key);
    if (!grid) {
      grid = new WindowGrid(this.ctx, tokens, window);
      this.grids.set(key, grid);
    }
    return grid;
  }

  private get half(): number {
    return this.c.embedDim / 2;
  }

  /** QKVProjection: a Linear, or a depthwise 3×3 then a 1×1 conv, to [B, H, W, 3C]. */
  private qkv(x: string, prefix: string): string {
    const { ctx } = this;
    if (this.c.qkvProjection === 'linear') return linear(ctx, x, `${prefix}.body`);
    const depthwise = conv2d(ctx, toFeatureMap(ctx, x), `${prefix}.body.0`, { groups: this.c.embedDim });
    return toTokenGrid(ctx, conv2d(ctx, depthwise, `${prefix}.body.1`));
  }

  /** PatchMerging on [B, H, W, C]: each 2×2 cell's four tokens, column-major, concatenated, then reduced. */
  private patchMerging(x: string, prefix: string, channels: number): string {
    const { ctx } = this;
    const g = ctx.g;
    const halfOf = (axis: number): string => g.op('Div', [runtimeDim(ctx, x, axis), ctx.ints([2])]);
    const rows = halfOf(1);
    const cols = halfOf(2);
    const cells = g.op('Reshape', [x, shapeVector(ctx, [0, rows, 2, cols, 2, channels])]);
    const ordered = g.op('Transpose', [cells], { perm: attr.ints([0, 1, 3, 4, 2, 5]) });
    const merged = g.op('Reshape', [ordered, shapeVector(ctx, [0, rows, cols, 4 * channels])]);
    return linear(ctx, merged, `${prefix}.reduction`);
  }

  /** AnchorProjection: [B, H, W, C] to anchors [B, H / factor, W / factor, C / 2]. */
  private anchors(x: string, prefix: string): string {
    const { ctx, c } = this;
    const f = c.anchorDownFactor;
    const stages = c.anchorOneStage ? 1 : Math.log2(f);
    const kernel = c.anchorOneStage ? f + 1 : 3;
    const stride = c.anchorOneStage ? f : 2;
    if (c.anchorProjection === 'avgpool') {
      const pooled = pool2d(ctx, toFeatureMap(ctx, x), 'avg', { kernel: f });
      return linear(ctx, toTokenGrid(ctx, pooled), `${prefix}.0.reduction`);
    }
    if (c.anchorProjection === 'patchmerging') {
      let y = x;
      for (let i = 0; i < stages; i++) y = this.patchMerging(y, `${prefix}.${i}`, i === 0 ? c.embedDim : this.half);
      return y;
    }
    let y = toFeatureMap(ctx, x);
    for (let i = 0; i < stages; i++) {
      const conv = { stride, padding: Math.floor(kernel / 2) };
      const channels = i === 0 ? c.embedDim : this.half;
      y =
        c.anchorProjection === 'conv2d'
          ? conv2d(ctx, y, `${prefix}.${i}`, conv)
          : conv2d(ctx, conv2d(ctx, y, `${prefix}.${i}.0`, { ...conv, groups: channels }), `${prefix}.${i}.1`);
    }
    return toTokenGrid(ctx, y);
  }

  /** Swin V2 window attention on packed q, k, v [B, H, W, 3C/2]; shifted by half a window. */
  private windowAttention(qkv: string, prefix: string, heads: number, shifted: boolean): string {
    const { ctx } = this;
    const ws = this.c.windowSize;
    const channels = this.half;
    const grid = this.grid('features', qkv, squareWindow(ws));
    const half = Math.floor(ws / 2);
    const shift = shifted ? { rows: half, cols: half } : { rows: 0, cols: 0 };
    const [q, k, v] = splitHeads(
      ctx,
      grid.partition(cyclicShift(ctx, qkv, negated(shift)), 3 * channels),
      3,
      heads,
      channels / heads,
    );
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    const axis = { from: 1 - ws, to: ws - 1, divisor: ws - 1 };
    const bias = continuousPositionBias(ctx, {
      mlpPrefix: `${prefix}.attn_transform.cpb_mlp`,
      coordinates: logSpacedCoordinates(axis, axis),
      layout: `grl_window_${ws}`,
      heads,
      runtimeZero: this.runtimeZero,
      index: swinRelativePositionIndex(squareWindow(ws)),
      queries: ws * ws,
      keys: ws * ws,
    });
    const attended = cosineAttention(ctx, {
      query: q,
      key: k,
      value: v,
      logitScale: `${prefix}.attn_transform.logit_scale`,
      biases: shifted ? [bias, grid.shiftMask(shift)] : [bias],
    });
    return cyclicShift(ctx, grid.reverse(mergeHeads(ctx, attended, channels), channels), shift);
  }

  /** The shift masks between a stripe grid and its anchor grid (anchors to tokens, tokens to anchors). */
  private masks(grid: WindowGrid, anchorGrid: WindowGrid, shift: GridShift, anchorShift: GridShift) {
    const key = `${grid.window.height}x${grid.window.width}`;
    let masks = this.stripeMasks.get(key);
    if (!masks) {
      const tokens = grid.regionLabels(shift);
      const anchors = anchorGrid.regionLabels(anchorShift);
      masks = {
        anchorToWindow: regionMask(this.ctx, anchors, tokens),
        windowToAnchor: regionMask(this.ctx, tokens, anchors),
      };
      this.stripeMasks.set(key, masks);
    }
    return masks;
  }

  /** AnchorStripeAttention on packed q, k, v [B, H, W, 3C/2] and anchors [B, H/f, W/f, C/2]. */
  private stripeAttention(
    qkv: string,
    anchor: string,
    prefix: string,
    heads: number,
    stripe: WindowShape,
    shifted: boolean,
  ): string {
    const { ctx } = this;
    const f = this.c.anchorDownFactor;
    const channels = this.half;
    const headDim = channels / heads;
    const anchorWindow = { height: stripe.height / f, width: stripe.width / f };
    const grid = this.grid('features', qkv, stripe);
    const anchorGrid = this.grid('anchors', anchor, anchorWindow);
    const shift = shifted
      ? { rows: Math.floor(stripe.height / 2), cols: Math.floor(stripe.width / 2) }
      : { rows: 0, cols: 0 };
    const anchorShift = { rows: Math.floor(shift.rows / f), cols: Math.floor(shift.cols / f) };
    const [q, k, v] = splitHeads(
      ctx,
      grid.partition(cyclicShift(ctx, qkv, negated(shift)), 3 * channels),
      3,
      heads,
      headDim,
    );
    const [a] = splitHeads(
      ctx,
      anchorGrid.partition(cyclicShift(ctx, anchor, negated(anchorShift)), channels),
      1,
      heads,
      headDim,
    );
    if (q === undefined || k === undefined || v === undefined || a === undefined)
      throw new Error('splitHeads gave too few parts');
    const n = stripe.height * stripe.width;
    const na = anchorWindow.height * anchorWindow.width;
    const layout = `grl_stripe_${stripe.height}x${stripe.width}`;
    const coordinates = stripeCoordinates(stripe, f);
    const masks = shifted ? this.masks(grid, anchorGrid, shift, anchorShift) : null;
    // Anchors to the stripe's tokens (attn_transform1), then tokens to the anchors' summary (attn_transform2).
    const attend = (query: string, key: string, value: string, anchorFirst: boolean): string => {
      const transform = `${prefix}.attn_transform${anchorFirst ? 1 : 2}`;
      const bias = continuousPositionBias(ctx, {
        mlpPrefix: `${transform}.cpb_mlp`,
        coordinates,
        layout: `${layout}_${anchorFirst ? 'a2w' : 'w2a'}`,
        heads,
        runtimeZero: this.runtimeZero,
        index: anchorRelativeIndex(stripe, anchorWindow, anchorFirst),
        queries: anchorFirst ? na : n,
        keys: anchorFirst ? n : na,
      });
      const mask = masks && (anchorFirst ? masks.anchorToWindow : masks.windowToAnchor);
      const biases = mask ? [bias, mask] : [bias];
      return cosineAttention(ctx, { query, key, value, logitScale: `${transform}.logit_scale`, biases });
    };
    const attended = attend(q, a, attend(a, k, v, true), false);
    return cyclicShift(ctx, grid.reverse(mergeHeads(ctx, attended, channels), channels), shift);
  }

  /** CAB: conv, GELU, conv, channel attention, on the block's input (NCHW in, tokens out). */
  private localBranch(x: string, prefix: string): string {
    const { ctx } = this;
    const features = conv2d(ctx, gelu(ctx, conv2d(ctx, toFeatureMap(ctx, x), `${prefix}.cab.0`)), `${prefix}.cab.2`);
    return toTokenGrid(
      ctx,
      channelAttention(ctx, features, {
        squeeze: `${prefix}.cab.3.attention.1`,
        excite: `${prefix}.cab.3.attention.3`,
      }),
    );
  }

  /** EfficientMixAttnTransformerBlock `b` of stage `layer`, post-norm, on tokens. */
  private block(x: string, layer: number, b: number): string {
    const { ctx, c } = this;
    const g = ctx.g;
    const p = `layers.${layer}.blocks.${b}`;
    const [windowPart, stripePart] = g.opN('Split', [this.qkv(x, `${p}.attn.qkv`)], 2, { axis: attr.int(3) });
    if (windowPart === undefined || stripePart === undefined) throw new Error('Split gave too few parts');
    const anchor = this.anchors(x, `${p}.attn.anchor.body`);
    const stripe = { height: c.stripeSize[0], width: c.stripeSize[1] };
    const windowed = this.windowAttention(windowPart, `${p}.attn.window_attn`, c.headsWindow[layer] ?? 0, b % 2 === 0);
    const striped = this.stripeAttention(
      stripePart,
      anchor,
      `${p}.attn.stripe_attn`,
      c.headsStripe[layer] ?? 0,
      b % 2 === 0 ? stripe : transposed(stripe),
      b % 4 >= 2,
    );
    const mixed = linear(ctx, g.op('Concat', [windowed, striped], { axis: attr.int(3) }), `${p}.attn.proj`);
    let y = g.op('Add', [x, layerNorm(ctx, mixed, `${p}.norm1`, EPS)]);
    if (c.localConnection) y = g.op('Add', [y, this.localBranch(x, `${p}.conv`)]);
    return g.op('Add', [y, layerNorm(ctx, mlp(ctx, y, `${p}.mlp`), `${p}.norm2`, EPS)]);
  }

  /** build_last_conv on an NCHW map. */
  lastConv(x: string, prefix: string): string {
    const { ctx } = this;
    if (this.c.convType === 'linear') return toFeatureMap(ctx, linear(ctx, toTokenGrid(ctx, x), prefix));
    return residualConv(ctx, x, prefix, this.c.convType === '3conv' ? '3conv' : '1conv');
  }

  /** forward_features on an NCHW map. */
  features(x: string): string {
    const { ctx, c } = this;
    let tokens = layerNorm(ctx, toTokenGrid(ctx, x), 'norm_start', EPS);
    c.depths.forEach((depth, layer) => {
      let y = tokens;
      for (let b = 0; b < depth; b++) y = this.block(y, layer, b);
      tokens = ctx.g.op('Add', [toTokenGrid(ctx, this.lastConv(toFeatureMap(ctx, y), `layers.${layer}.conv`)), tokens]);
    });
    return toFeatureMap(ctx, layerNorm(ctx, tokens, 'norm_end', EPS));
  }
}

/**
 * check_image_size: reflect padding to the multiple, except where torch refuses it (a pad
 * as long as the axis), where the forward falls back to zeros on both axes.
 */
function padInput(ctx: GraphContext, input: string, multiple: number): string {
  const g = ctx.g;
  const reflected = padToMultiple(ctx, input, 'nchw', multiple, 'reflect');
  const zeroed = padToMultiple(ctx, input, 'nchw', multiple, 'zero');
  const fits = (axis: number): string => {
    const length = runtimeDim(ctx, input, axis);
    return g.op('Less', [g.op('Sub', [runtimeDim(ctx, zeroed, axis), length]), length]);
  };
  return g.op('Where', [g.op('And', [fits(2), fits(3)]), reflected, zeroed], {}, 'pad_input');
}

/** The whole network: padded input, mean shift, shallow conv, body, head, output cropped to scale × the input. */
export function buildGrlGraph(sd: StateDict, c: GrlConfig): Uint8Array {
  const spec = {
    name: 'grl',
    sd,
    inputChannels: c.channels,
    outputChannels: c.channels,
    description: `GRL x${c.head.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const padded = padInput(ctx, input, c.padSize);
    const rgbMean = upstreamMean(c.channels);
    const mean = g.f32('rgb_mean', rgbMean, [1, rgbMean.length, 1, 1]);
    const x = g.op('Sub', [padded, mean], {}, 'mean_shift');
    // Its windows and stripes are large enough that folded biases would outweigh the network.
    const rows = runtimeDim(ctx, padded, 2);
    const zero = g.op('Cast', [g.op('Sub', [rows, rows])], { to: attr.int(INT32) }, 'runtime_zero');
    const network = new GrlGraph(ctx, c, zero);
    const shallow = conv2d(ctx, x, 'conv_first');
    const body = g.op('Add', [network.lastConv(network.features(shallow), 'conv_after_body'), shallow]);
    const y = g.op('Add', [buildHead(ctx, body, x, c.head), mean]);
    const height = scaled(ctx, runtimeDim(ctx, input, 2), c.head.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), c.head.scale);
    return cropTo(ctx, y, 2, height, width);
  });
}
