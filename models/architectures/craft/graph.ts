// CRAFT's forward as ONNX. Each cross-refinement fusion block runs two shifted-rectangle
// window-attention blocks (SRWAB: the channels split between an H window and its transpose,
// dynamic position bias, a depthwise-conv locality term; shifted blocks use no mask), a
// high-frequency enhancement block (HFERB: conv on half the channels, max-pool + 1×1 on the
// other) on the block's input, and fuses the two in a hybrid block (HFB: channel attention
// with the high-frequency queries over the whole image, then a gated depthwise feed-forward).
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, softmax } from '../../nn/activation';
import { l2Normalize, layerNorm, layerNormChannelsFirst } from '../../nn/norm';
import { linear } from '../../nn/linear';
import { pool2d } from '../../nn/pool';
import { pixelShuffle } from '../../nn/shuffle';
import { cropTo, padAxisToLength, runtimeDim, scaled, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  WindowGrid,
  cyclicShift,
  mergeHeads,
  multiHeadAttention,
  splitHeads,
  type GridShift,
  type WindowShape,
} from '../../nn/window-attention';
import { upstreamMean } from '../swin-shell/shell';
import { mlp } from '../swin-shell/blocks';
import { dynamicPositionBias } from '../dat/position-bias';
import { PAD_UNIT, blockKeys, type CraftConfig } from './config';

const EPS = 1e-5;

class CraftGraph {
  /** One grid per window shape (H-Rwin, V-Rwin); every block sees the same padded size. */
  private readonly grids = new Map<string, WindowGrid>();

  constructor(
    private readonly ctx: GraphContext,
    private readonly c: CraftConfig,
  ) {}

  private grid(tokens: string, window: WindowShape): WindowGrid {
    const key = `${window.height}x${window.width}`;
    let grid = this.grids.get(key);
    if (!grid) {
      grid = new WindowGrid(this.ctx, tokens, window);
      this.grids.set(key, grid);
    }
    return grid;
  }

  /** One window branch (Attention_regular) on packed q, k, v [B, H, W, 3·C/2], rolled by −shift and back. */
  private branch(qkv: string, prefix: string, window: WindowShape, heads: number, shift: GridShift): string {
    const { ctx } = this;
    const channels = this.c.embedDim / 2;
    const headDim = channels / heads;
    const grid = this.grid(qkv, window);
    const rolled = cyclicShift(ctx, qkv, { rows: -shift.rows, cols: -shift.cols });
    const [q, k, v] = splitHeads(ctx, grid.partition(rolled, 3 * channels), 3, heads, headDim);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    const bias = dynamicPositionBias(ctx, `${prefix}.pos`, window, 'craft');
    const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale: headDim ** -0.5, biases: [bias] });
    return cyclicShift(ctx, grid.reverse(mergeHeads(ctx, attended, channels), channels), shift);
  }

  /** SRWAB on tokens [B, H, W, C]. */
  private windowBlock(x: string, prefix: string, heads: number, shifted: boolean): string {
    const { ctx } = this;
    const g = ctx.g;
    const c = this.c.embedDim;
    const [s0, s1] = this.c.splitSize;
    const qkv = linear(ctx, layerNorm(ctx, x, `${prefix}.norm1`, EPS), `${prefix}.qkv`);
    // Channels are (part, branch, branch channel): each branch takes its half of q, k and v.
    const byBranch = g.op('Reshape', [qkv, ctx.ints([0, 0, 0, 3, 2, c / 2])]);
    const half = (b: number): string =>
      g.op('Reshape', [
        g.op('Gather', [byBranch, ctx.int64Scalar(b)], { axis: attr.int(4) }),
        ctx.ints([0, 0, 0, (3 * c) / 2]),
      ]);
    const h0 = shifted ? Math.floor(s0 / 2) : 0;
    const h1 = shifted ? Math.floor(s1 / 2) : 0;
    const branchHeads = Math.floor(heads / 2);
    const attended = g.op(
      'Concat',
      [
        this.branch(half(0), `${prefix}.attns.0`, { height: s0, width: s1 }, branchHeads, { rows: h0, cols: h1 }),
        this.branch(half(1), `${prefix}.attns.1`, { height: s1, width: s0 }, branchHeads, { rows: h1, cols: h0 }),
      ],
      { axis: attr.int(3) },
    );
    // Locality complementary module: a depthwise conv of the (unshifted) values.
    const v = g.op('Slice', [qkv, ctx.ints([2 * c]), ctx.ints([3 * c]), ctx.ints([3])]);
    const lcm = toTokenGrid(ctx, conv2d(ctx, toFeatureMap(ctx, v), `${prefix}.get_v`, { groups: c }));
    const afterAttention = g.op('Add', [x, linear(ctx, g.op('Add', [attended, lcm]), `${prefix}.proj`)]);
    return g.op('Add', [
      afterAttention,
      mlp(ctx, layerNorm(ctx, afterAttention, `${prefix}.norm2`, EPS), `${prefix}.mlp`),
    ]);
  }

  /** HFERB on NCHW. */
  private highFrequency(x: string, prefix: string): string {
    const { ctx } = this;
    const g = ctx.g;
    const [low, high] = g.opN('Split', [x], 2, { axis: attr.int(1) });
    if (low === undefined || high === undefined) throw new Error('Split gave too few parts');
    const local = gelu(ctx, conv2d(ctx, low, `${prefix}.conv`));
    const enhanced = gelu(
      ctx,
      conv2d(ctx, pool2d(ctx, high, 'max', { kernel: 3, stride: 1, padding: 1 }), `${prefix}.fc`),
    );
    const mixed = conv2d(ctx, g.op('Concat', [local, enhanced], { axis: attr.int(1) }), `${prefix}.last_fc`);
    return g.op('Add', [x, mixed]);
  }

  /** HFB's attention: queries from `high`, keys and values from the normalised `low`, across channels. */
  private fusionAttention(low: string, high: string, prefix: string, heads: number): string {
    const { ctx } = this;
    const g = ctx.g;
    const c = this.c.embedDim;
    const depthwise = (x: string, key: string, channels: number): string => conv2d(ctx, x, key, { groups: channels });
    const q = depthwise(conv2d(ctx, high, `${prefix}.q`), `${prefix}.q_dwconv`, c);
    const kv = depthwise(conv2d(ctx, low, `${prefix}.kv`), `${prefix}.kv_dwconv`, 2 * c);
    const [k, v] = g.opN('Split', [kv], 2, { axis: attr.int(1) });
    if (k === undefined || v === undefined) throw new Error('Split gave too few parts');
    // [B, (head c), H, W] -> [B, head, c, H·W]
    const perHead = (x: string): string => g.op('Reshape', [x, ctx.ints([0, heads, c / heads, -1])]);
    const kT = g.op('Transpose', [l2Normalize(ctx, perHead(k))], { perm: attr.ints([0, 1, 3, 2]) });
    const scores = g.op('Mul', [
      g.op('MatMul', [l2Normalize(ctx, perHead(q)), kT]),
      ctx.weight(`${prefix}.temperature`),
    ]);
    const out = g.op('MatMul', [softmax(ctx, scores, -1), perHead(v)]);
    return conv2d(ctx, g.op('Reshape', [out, g.op('Shape', [q])]), `${prefix}.project_out`);
  }

  /** HFB's feed-forward: 1×1 to twice the width, depthwise 3×3, GELU(first half) · second half, 1×1. */
  private feedForward(x: string, prefix: string): string {
    const { ctx } = this;
    const wide = conv2d(ctx, conv2d(ctx, x, `${prefix}.project_in`), `${prefix}.dwconv`, {
      groups: 2 * this.c.ffnHidden,
    });
    const [a, b] = ctx.g.opN('Split', [wide], 2, { axis: attr.int(1) });
    if (a === undefined || b === undefined) throw new Error('Split gave too few parts');
    return conv2d(ctx, ctx.g.op('Mul', [gelu(ctx, a), b]), `${prefix}.project_out`);
  }

  /** HFB on NCHW maps. */
  private fusion(low: string, high: string, prefix: string, heads: number): string {
    const { ctx } = this;
    const g = ctx.g;
    const normed = layerNormChannelsFirst(ctx, low, `${prefix}.norm1.body`, EPS);
    const x = g.op('Add', [low, this.fusionAttention(normed, high, `${prefix}.attn`, heads)]);
    return g.op('Add', [
      x,
      this.feedForward(layerNormChannelsFirst(ctx, x, `${prefix}.norm2.body`, EPS), `${prefix}.ffn`),
    ]);
  }

  /** RCRFG: the group's fusion blocks, its conv, and the residual, on NCHW. */
  private group(x: string, layer: number): string {
    const heads = this.c.numHeads[layer] ?? 0;
    let y = x;
    for (let j = 0; j < (this.c.depths[layer] ?? 0); j++) {
      const keys = blockKeys(layer, j);
      const tokens = this.windowBlock(
        this.windowBlock(toTokenGrid(this.ctx, y), keys.windows[0], heads, false),
        keys.windows[1],
        heads,
        true,
      );
      y = this.fusion(toFeatureMap(this.ctx, tokens), this.highFrequency(y, keys.hfer), keys.hf, heads);
    }
    return this.ctx.g.op('Add', [conv2d(this.ctx, y, `layers.${layer}.conv`), x]);
  }

  /** From the padded, mean-shifted input to the upscaled image before the mean is added back. */
  body(x: string): string {
    const { ctx } = this;
    const shallow = conv2d(ctx, x, 'conv_first');
    let y = shallow;
    for (let layer = 0; layer < this.c.depths.length; layer++) y = this.group(y, layer);
    y = layerNormChannelsFirst(ctx, y, 'norm.body', EPS);
    if (this.c.resiConnection === '1conv') y = conv2d(ctx, y, 'conv_after_body');
    return pixelShuffle(ctx, conv2d(ctx, ctx.g.op('Add', [y, shallow]), 'upsample.0'), this.c.scale);
  }
}

/** (L // 16 + 1) · 16: the forward always adds rows, a whole 16 when L is already a multiple. */
function paddedLength(ctx: GraphContext, length: string): string {
  const unit = ctx.ints([PAD_UNIT]);
  return ctx.g.op('Mul', [ctx.g.op('Add', [ctx.g.op('Div', [length, unit]), ctx.ints([1])]), unit]);
}

/**
 * The whole network. As the forward does, the input is mirrored by torch.flip + cat (the
 * edge row repeated) to (L // 16 + 1) · 16 on each axis and the output cropped to scale × the
 * input size.
 */
export function buildCraftGraph(sd: StateDict, c: CraftConfig): Uint8Array {
  const channels = c.inChannels;
  const spec = {
    name: 'craft',
    sd,
    inputChannels: channels,
    outputChannels: channels,
    description: `CRAFT x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const height = runtimeDim(ctx, input, 2);
    const width = runtimeDim(ctx, input, 3);
    const rows = padAxisToLength(ctx, input, 2, height, paddedLength(ctx, height), 'symmetric');
    const padded = padAxisToLength(ctx, rows, 3, width, paddedLength(ctx, width), 'symmetric');
    const rgbMean = upstreamMean(c.inChannels);
    const mean = g.f32('rgb_mean', rgbMean, [1, rgbMean.length, 1, 1]);
    const x = g.op('Sub', [padded, mean], {}, 'mean_shift');
    const y = g.op('Add', [new CraftGraph(ctx, c).body(x), mean]);
    return cropTo(ctx, y, 2, scaled(ctx, height, c.scale), scaled(ctx, width, c.scale));
  });
}
