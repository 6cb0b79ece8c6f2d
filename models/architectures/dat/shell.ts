// What DAT and RGT share (the same authors; RGT's code builds on DAT's): the shell around
// the residual groups (mean shift, conv_first, the before_RG LayerNorm, groups of blocks
// each closed by a residual conv, the last norm, conv_after_body and the reconstruction
// head), the spatial window attention both run on q, k, v (two branches over halves of the
// channels with transposed rectangular windows, a dynamic position bias and shift masks),
// and the spatially gated feed-forward. Features travel as [1, H, W, C] token grids.
import { attr } from '../../onnx/graph';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { layerNorm } from '../../nn/norm';
import { cropTo, padToMultiple, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  WindowGrid,
  cyclicShift,
  mergeHeads,
  multiHeadAttention,
  positionBias,
  splitHeads,
  swinRelativePositionIndex,
  type WindowShape,
} from '../../nn/window-attention';
import { buildHead, type Head } from '../swin-shell/heads';
import { LAYER_NORM_EPS, residualConv, upstreamMean } from '../swin-shell/shell';
import { positionBiasTable } from './position-bias';

/** The image the blocks work on, as int64 [1] runtime sizes: attention crops its padding back to it. */
export interface ImageSize {
  readonly height: string;
  readonly width: string;
}

/**
 * The spatial window attention of one graph. Window grids over the padded q, k, v are
 * built once per window shape and shared by every block.
 */
export class SpatialWindows {
  private readonly grids = new Map<string, WindowGrid>();

  constructor(
    private readonly ctx: GraphContext,
    /** Channels of the attention (embed_dim); each branch has half. */
    private readonly channels: number,
    private readonly splitSize: readonly [number, number],
    private readonly image: ImageSize,
  ) {}

  private grid(padded: string, window: WindowShape): WindowGrid {
    const key = `${window.height}x${window.width}`;
    let grid = this.grids.get(key);
    if (!grid) {
      grid = new WindowGrid(this.ctx, padded, window);
      this.grids.set(key, grid);
    }
    return grid;
  }

  /**
   * Attention within windows of q, k, v projected as upstream's qkv Linear gives them
   * ([1, H, W, 3C], channels ordered part, branch, branch channel): branch 0 over
   * split_size windows, branch 1 over the transposed ones, `heads` heads each, shifted by
   * half a window when `shifted`. Returns [1, H, W, C], the branches concatenated.
   */
  attend(qkv: string, prefix: string, heads: number, shifted: boolean): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const c = this.channels;
    // Padding comes after the projection, so padded q/k/v are exact zeros (even with a
    // bias), and padded keys still take part in the softmax, as upstream's do.
    const padded = padToMultiple(ctx, qkv, 'nhwc', Math.max(...this.splitSize), 'zero');
    // Channels are (part, branch, branch channel): each branch gathers its half of q, k and v.
    const byBranch = g.op('Reshape', [padded, ctx.ints([0, 0, 0, 3, 2, c / 2])]);
    const [s0, s1] = this.splitSize;
    const windows: readonly WindowShape[] = [
      { height: s0, width: s1 },
      { height: s1, width: s0 },
    ];
    const branches = windows.map((window, b) => {
      const half = g.op('Gather', [byBranch, ctx.int64Scalar(b)], { axis: attr.int(4) });
      const packed = g.op('Reshape', [half, ctx.ints([0, 0, 0, (3 * c) / 2])]);
      return this.branch(packed, `${prefix}.attns.${b}`, window, heads, shifted);
    });
    return g.op('Concat', branches, { axis: attr.int(3) });
  }

  /**
   * One branch on its half of the padded q/k/v ([1, Hp, Wp, 3·C/2]): windowed multi-head
   * attention with the dynamic position bias (and the shift mask when shifted); returns
   * [1, H, W, C/2] cropped to the image.
   */
  private branch(qkv: string, prefix: string, window: WindowShape, heads: number, shifted: boolean): string {
    const ctx = this.ctx;
    const channels = this.channels / 2;
    const headDim = channels / heads;
    const shift = { rows: Math.floor(window.height / 2), cols: Math.floor(window.width / 2) };
    const grid = this.grid(qkv, window);
    const rolled = shifted ? cyclicShift(ctx, qkv, { rows: -shift.rows, cols: -shift.cols }) : qkv;
    const [q, k, v] = splitHeads(ctx, grid.partition(rolled, 3 * channels), 3, heads, headDim);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');

    const n = window.height * window.width;
    const table = positionBiasTable(ctx.sd, `${prefix}.pos`, window.height, window.width);
    const bias = positionBias(ctx, {
      table: ctx.constant(`${prefix}.pos.table`, () => ({ data: table.data, dims: [table.offsets, table.heads] })),
      entries: table.offsets,
      heads: table.heads,
      layout: `dat_${window.height}x${window.width}`,
      index: swinRelativePositionIndex(window),
      queries: n,
      keys: n,
    });
    const biases = shifted ? [bias, grid.shiftMask(shift)] : [bias];
    const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale: headDim ** -0.5, biases });
    const image = grid.reverse(mergeHeads(ctx, attended, channels), channels);
    return cropTo(ctx, shifted ? cyclicShift(ctx, image, shift) : image, 1, this.image.height, this.image.width);
  }
}

/**
 * The spatially gated feed-forward (DAT's SGFN, RGT's MLP): fc1, GELU, then the second
 * half of the channels, normalised and depthwise-convolved, gates the first; fc2.
 */
export function gatedFeedForward(ctx: GraphContext, x: string, prefix: string, hidden: number): string {
  const features = gelu(ctx, linear(ctx, x, `${prefix}.fc1`));
  const [first, second] = ctx.g.opN('Split', [features], 2, { axis: attr.int(-1) });
  if (first === undefined || second === undefined) throw new Error('Split gave too few parts');
  const normed = layerNorm(ctx, second, `${prefix}.sg.norm`, LAYER_NORM_EPS);
  const gate = toTokenGrid(ctx, conv2d(ctx, toFeatureMap(ctx, normed), `${prefix}.sg.conv`, { groups: hidden / 2 }));
  return linear(ctx, ctx.g.op('Mul', [first, gate]), `${prefix}.fc2`);
}

export interface DatShellSpec {
  readonly inChannels: number;
  /** Blocks per residual group. */
  readonly depths: readonly number[];
  readonly resiConnection: '1conv' | '3conv';
  readonly head: Head;
  /** Not stored in the weights; every published model uses 1. */
  readonly imgRange: number;
  /** Block `index` of group `group` on the token grid [1, H, W, C]. */
  readonly block: (tokens: string, group: number, index: number) => string;
}

/** The network from the (normalised) input image to the output image, around the blocks. */
export function buildDatShell(ctx: GraphContext, input: string, spec: DatShellSpec): string {
  const g = ctx.g;
  const rgbMean = upstreamMean(spec.inChannels);
  const mean = g.f32('rgb_mean', rgbMean, [1, rgbMean.length, 1, 1]);
  let x = g.op('Sub', [input, mean]);
  if (spec.imgRange !== 1) x = g.op('Mul', [x, ctx.scalar(spec.imgRange)]);
  const shallow = conv2d(ctx, x, 'conv_first');
  let tokens = layerNorm(ctx, toTokenGrid(ctx, shallow), 'before_RG.1', LAYER_NORM_EPS);
  for (let i = 0; i < spec.depths.length; i++) {
    let y = tokens;
    for (let b = 0; b < (spec.depths[i] ?? 0); b++) y = spec.block(y, i, b);
    const conv = residualConv(ctx, toFeatureMap(ctx, y), `layers.${i}.conv`, spec.resiConnection);
    tokens = g.op('Add', [tokens, toTokenGrid(ctx, conv)]);
  }
  tokens = layerNorm(ctx, tokens, 'norm', LAYER_NORM_EPS);
  const deep = residualConv(ctx, toFeatureMap(ctx, tokens), 'conv_after_body', spec.resiConnection);
  let y = buildHead(ctx, g.op('Add', [deep, shallow]), x, spec.head);
  if (spec.imgRange !== 1) y = g.op('Div', [y, ctx.scalar(spec.imgRange)]);
  return g.op('Add', [y, mean]);
}
