// Swin2SR's forward as ONNX. The shell is SwinIR's (mean shift, reflect padding to the
// window, shallow conv, residual groups, conv after the body, head), with Swin2SR's own
// 1×1 patch-embedding convs and Swin V2 blocks inside: x + norm1(attention(x)), then
// + norm2(mlp(·)), the attention cosine-similarity with a continuous position bias.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { floatTensor } from '../../weights/tensors';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { layerNorm } from '../../nn/norm';
import { linear } from '../../nn/linear';
import { interpolateTo } from '../../nn/resize';
import { cropTo, padToMultiple, runtimeDim, scaled, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  NO_SHIFT,
  WindowGrid,
  cyclicShift,
  mergeHeads,
  splitHeads,
  squareWindow,
  swinRelativePositionIndex,
  type GridShift,
} from '../../nn/window-attention';
import { continuousPositionBias, cosineAttention, logSpacedCoordinates } from '../../nn/cosine-attention';
import { buildHead, shuffleStages } from '../swin-shell/heads';
import { LAYER_NORM_EPS, residualConv } from '../swin-shell/shell';
import { mlp } from '../swin-shell/blocks';
import { blockPrefix, type Swin2SRConfig } from './config';

class Swin2SRGraph {
  constructor(
    private readonly ctx: GraphContext,
    private readonly c: Swin2SRConfig,
  ) {}

  /** The window attention of the block at `prefix` on a [B, H, W, C] grid, rolled by `shift`. */
  private attention(grid: WindowGrid, x: string, prefix: string, heads: number, shift: GridShift): string {
    const { ctx, c } = this;
    const channels = c.embedDim;
    const w = c.windowSize;
    const windows = grid.partition(cyclicShift(ctx, x, { rows: -shift.rows, cols: -shift.cols }), channels);
    let qkv = linear(ctx, windows, `${prefix}.attn.qkv`);
    if (c.qkvBias) {
      // Upstream's qkv bias is cat(q_bias, zeros, v_bias): keys have none.
      const bias = ctx.constant(`${prefix}.attn.qkv_bias`, () => {
        const data = new Float32Array(3 * channels);
        data.set(floatTensor(ctx.sd, `${prefix}.attn.q_bias`).data, 0);
        data.set(floatTensor(ctx.sd, `${prefix}.attn.v_bias`).data, 2 * channels);
        return { data, dims: [3 * channels] };
      });
      qkv = ctx.g.op('Add', [qkv, bias]);
    }
    const [q, k, v] = splitHeads(ctx, qkv, 3, heads, channels / heads);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    const bias = continuousPositionBias(ctx, {
      mlpPrefix: `${prefix}.attn.cpb_mlp`,
      coordinates: logSpacedCoordinates(
        { from: 1 - w, to: w - 1, divisor: w - 1 },
        { from: 1 - w, to: w - 1, divisor: w - 1 },
      ),
      layout: `swin_v2_${w}`,
      heads,
      index: swinRelativePositionIndex(squareWindow(w)),
      queries: w * w,
      keys: w * w,
    });
    const shifted = shift.rows !== 0 || shift.cols !== 0;
    const biases = shifted ? [bias, grid.shiftMask(shift)] : [bias];
    const attended = cosineAttention(ctx, {
      query: q,
      key: k,
      value: v,
      logitScale: `${prefix}.attn.logit_scale`,
      biases,
    });
    const projected = linear(ctx, mergeHeads(ctx, attended, channels), `${prefix}.attn.proj`);
    return cyclicShift(ctx, grid.reverse(projected, channels), shift);
  }

  /** Swin V2's post-norm block. */
  private block(grid: WindowGrid, x: string, prefix: string, heads: number, shift: GridShift): string {
    const { ctx } = this;
    const attended = layerNorm(ctx, this.attention(grid, x, prefix, heads, shift), `${prefix}.norm1`, LAYER_NORM_EPS);
    const afterAttention = ctx.g.op('Add', [x, attended]);
    const fed = layerNorm(ctx, mlp(ctx, afterAttention, `${prefix}.mlp`), `${prefix}.norm2`, LAYER_NORM_EPS);
    return ctx.g.op('Add', [afterAttention, fed]);
  }

  /** forward_features (or forward_features_hf with layers 'layers_hf') on an NCHW map of embed_dim channels. */
  features(x: string, layers: string): string {
    const { ctx, c } = this;
    let tokens = toTokenGrid(ctx, conv2d(ctx, x, 'patch_embed.proj'));
    if (c.patchNorm) tokens = layerNorm(ctx, tokens, 'patch_embed.norm', LAYER_NORM_EPS);
    const grid = new WindowGrid(ctx, tokens, squareWindow(c.windowSize));
    const half = Math.floor(c.windowSize / 2);
    c.depths.forEach((depth, layer) => {
      let y = tokens;
      for (let b = 0; b < depth; b++) {
        const shift = c.shifted && b % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT;
        y = this.block(grid, y, blockPrefix(layers, layer, b), c.numHeads[layer] ?? 0, shift);
      }
      const conv = residualConv(ctx, toFeatureMap(ctx, y), `${layers}.${layer}.conv`, c.resiConnection);
      const embedded = toTokenGrid(ctx, conv2d(ctx, conv, `${layers}.${layer}.patch_embed.proj`));
      tokens = ctx.g.op('Add', [embedded, tokens]);
    });
    return toFeatureMap(ctx, layerNorm(ctx, tokens, 'norm', LAYER_NORM_EPS));
  }

  /** conv_first, the body and conv_after_body with its residual: what every head starts from. */
  private body(x: string): string {
    const shallow = conv2d(this.ctx, x, 'conv_first');
    const deep = residualConv(this.ctx, this.features(shallow, 'layers'), 'conv_after_body', this.c.resiConnection);
    return this.ctx.g.op('Add', [deep, shallow]);
  }

  /**
   * The head on the normalised, padded input `x`; `height` and `width` are the output's
   * (scale × the unpadded input), which the aux head crops to before its last conv.
   */
  head(x: string, height: string, width: string): string {
    const { ctx, c } = this;
    const g = ctx.g;
    const lrelu = (v: string, prefix: string): string => leakyRelu(ctx, conv2d(ctx, v, prefix), 0.01);
    const stages = (v: string, prefix: string): string => shuffleStages(ctx, v, prefix, c.head.stages);
    switch (c.upsampler) {
      case 'pixelshuffle_aux': {
        const size = g.op('Concat', [height, width], { axis: attr.int(0) });
        const bicubic = conv2d(
          ctx,
          interpolateTo(ctx, x, size, { mode: 'bicubic', alignCorners: false }),
          'conv_bicubic',
        );
        const aux = conv2d(ctx, lrelu(this.body(x), 'conv_before_upsample.0'), 'conv_aux');
        const upsampled = stages(lrelu(aux, 'conv_after_aux.0'), 'upsample');
        return conv2d(ctx, g.op('Add', [cropTo(ctx, upsampled, 2, height, width), bicubic]), 'conv_last');
      }
      case 'pixelshuffle_hf': {
        const before = lrelu(this.body(x), 'conv_before_upsample.0');
        const out = conv2d(ctx, stages(before, 'upsample'), 'conv_last');
        const shallow = lrelu(before, 'conv_first_hf.0');
        const deep = conv2d(ctx, this.features(shallow, 'layers_hf'), 'conv_after_body_hf');
        const hf = lrelu(g.op('Add', [deep, shallow]), 'conv_before_upsample_hf.0');
        return g.op('Add', [out, conv2d(ctx, stages(hf, 'upsample_hf'), 'conv_last_hf')]);
      }
      default:
        return buildHead(ctx, this.body(x), x, c.head);
    }
  }
}

/**
 * The whole network. As upstream's forward, the input is reflect-padded on the bottom and
 * right to a multiple of the window and the output cropped back to scale × the input
 * size. The hf head's forward returns three images; this is the second, its result.
 */
export function buildSwin2SRGraph(sd: StateDict, c: Swin2SRConfig): Uint8Array {
  const spec = {
    name: 'swin2sr',
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.inChannels,
    description: `Swin2SR x${c.head.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const padded = padToMultiple(ctx, input, 'nchw', c.windowSize, 'reflect');
    const mean = g.f32('rgb_mean', c.rgbMean, [1, c.rgbMean.length, 1, 1]);
    let x = g.op('Sub', [padded, mean], {}, 'mean_shift');
    if (c.imgRange !== 1) x = g.op('Mul', [x, ctx.scalar(c.imgRange)]);
    const height = scaled(ctx, runtimeDim(ctx, input, 2), c.head.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), c.head.scale);
    let y = new Swin2SRGraph(ctx, c).head(x, height, width);
    if (c.imgRange !== 1) y = g.op('Div', [y, ctx.scalar(c.imgRange)]);
    y = g.op('Add', [y, mean]);
    return cropTo(ctx, y, 2, height, width);
  });
}
