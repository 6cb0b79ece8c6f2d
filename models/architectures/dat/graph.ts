// DAT's forward pass as an ONNX graph, in the shell it shares with RGT (./shell.ts).
// Features travel as [1, H, W, C] (token layout, so LayerNorm and Linear act on the last
// axis) and are transposed to NCHW only around convs. H and W are dynamic: the zero padding
// of q/k/v, window counts and shift masks come from the input's shape.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, sigmoid, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { batchNorm, l2Normalize, layerNorm } from '../../nn/norm';
import { globalPool } from '../../nn/pool';
import { runtimeDim, toFeatureMap, toTokenGrid } from '../../nn/shape';
import { branchHeads, isShiftedBlock, isSpatialBlock, type DatConfig } from './config';
import { SpatialWindows, buildDatShell, gatedFeedForward } from './shell';

/** nn.BatchNorm2d's and nn.LayerNorm's default eps, which every DAT norm uses. */
const EPS = 1e-5;

class DatGraph {
  private readonly c: number;
  /** The spatial window attention over this graph's image; made by build. */
  private spatialWindows: SpatialWindows | null = null;

  constructor(
    private readonly ctx: GraphContext,
    private readonly cfg: DatConfig,
  ) {
    this.c = cfg.embedDim;
  }

  private windows(): SpatialWindows {
    if (!this.spatialWindows) throw new Error('the spatial windows are made when the graph is built');
    return this.spatialWindows;
  }

  private transpose(x: string, perm: readonly number[]): string {
    return this.ctx.g.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  /** dwconv: depthwise 3x3, BatchNorm, GELU (NCHW in and out). */
  private convBranch(v: string, prefix: string): string {
    const conv = conv2d(this.ctx, v, `${prefix}.dwconv.0`, { groups: this.c });
    return gelu(this.ctx, batchNorm(this.ctx, conv, `${prefix}.dwconv.1`, EPS));
  }

  /** C-Map before the sigmoid: [1, C, 1, 1] from an NCHW map. */
  private channelMap(x: string, prefix: string): string {
    const ctx = this.ctx;
    const squeezed = conv2d(ctx, globalPool(ctx, x, 'avg'), `${prefix}.channel_interaction.1`);
    const activated = gelu(ctx, batchNorm(ctx, squeezed, `${prefix}.channel_interaction.2`, EPS));
    return conv2d(ctx, activated, `${prefix}.channel_interaction.4`);
  }

  /** S-Map before the sigmoid: [1, 1, H, W] from an NCHW map. */
  private spatialMap(x: string, prefix: string): string {
    const ctx = this.ctx;
    const reduced = conv2d(ctx, x, `${prefix}.spatial_interaction.0`);
    const activated = gelu(ctx, batchNorm(ctx, reduced, `${prefix}.spatial_interaction.1`, EPS));
    return conv2d(ctx, activated, `${prefix}.spatial_interaction.3`);
  }

  /** The qkv projection's v third, [1, H, W, C]. */
  private valuePart(qkv: string): string {
    const c = this.c;
    return this.ctx.g.op('Slice', [qkv, this.ctx.ints([2 * c]), this.ctx.ints([3 * c]), this.ctx.ints([3])]);
  }

  /** Adaptive_Spatial_Attention on normalised tokens [1, H, W, C]. */
  private spatialAttention(x: string, prefix: string, heads: number, shifted: boolean): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const qkv = linear(ctx, x, `${prefix}.qkv`);
    const attended = this.windows().attend(qkv, prefix, branchHeads(heads), shifted);

    const convX = this.convBranch(toFeatureMap(ctx, this.valuePart(qkv)), prefix);
    const channelGate = toTokenGrid(ctx, sigmoid(ctx, this.channelMap(convX, prefix)));
    const spatialGate = sigmoid(ctx, this.spatialMap(toFeatureMap(ctx, attended), prefix));
    const gatedAttention = g.op('Mul', [attended, channelGate]);
    const gatedConv = toTokenGrid(ctx, g.op('Mul', [convX, spatialGate]));
    return linear(ctx, g.op('Add', [gatedAttention, gatedConv]), `${prefix}.proj`);
  }

  /** Adaptive_Channel_Attention on normalised tokens [1, H, W, C]. */
  private channelAttention(x: string, prefix: string, heads: number): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const c = this.c;
    const headDim = c / heads;
    const qkv = linear(ctx, x, `${prefix}.qkv`);
    // [1, N, 3, heads, headDim] -> [3, 1, heads, headDim, N]: attention runs across channels.
    const perHead = this.transpose(g.op('Reshape', [qkv, ctx.ints([1, -1, 3, heads, headDim])]), [2, 0, 3, 4, 1]);
    const part = (i: number): string => g.op('Gather', [perHead, ctx.int64Scalar(i)], { axis: attr.int(0) });
    const q = l2Normalize(ctx, part(0));
    const k = l2Normalize(ctx, part(1));
    const scores = g.op('Mul', [
      g.op('MatMul', [q, this.transpose(k, [0, 1, 3, 2])]),
      ctx.weight(`${prefix}.temperature`),
    ]);
    const out = g.op('MatMul', [softmax(ctx, scores, -1), part(2)]);
    const attended = g.op('Reshape', [this.transpose(out, [0, 3, 1, 2]), g.op('Shape', [x])]);

    // v as an image: its channel order (head, headDim) is that of the qkv output's last third.
    const convX = this.convBranch(toFeatureMap(ctx, this.valuePart(qkv)), prefix);
    const channelGate = sigmoid(ctx, this.channelMap(toFeatureMap(ctx, attended), prefix));
    const spatialGate = toTokenGrid(ctx, sigmoid(ctx, this.spatialMap(convX, prefix)));
    const gatedAttention = g.op('Mul', [attended, spatialGate]);
    const gatedConv = toTokenGrid(ctx, g.op('Mul', [convX, channelGate]));
    return linear(ctx, g.op('Add', [gatedAttention, gatedConv]), `${prefix}.proj`);
  }

  private block(x: string, group: number, index: number): string {
    const g = this.ctx.g;
    const prefix = `layers.${group}.blocks.${index}`;
    const heads = this.cfg.numHeads[group] ?? 0;
    const normed = layerNorm(this.ctx, x, `${prefix}.norm1`, EPS);
    const attention = isSpatialBlock(index)
      ? this.spatialAttention(normed, `${prefix}.attn`, heads, isShiftedBlock(group, index))
      : this.channelAttention(normed, `${prefix}.attn`, heads);
    const afterAttention = g.op('Add', [x, attention]);
    const normed2 = layerNorm(this.ctx, afterAttention, `${prefix}.norm2`, EPS);
    const ffn = gatedFeedForward(this.ctx, normed2, `${prefix}.ffn`, this.cfg.ffnHiddenDim);
    return g.op('Add', [afterAttention, ffn]);
  }

  build(input: string): string {
    const ctx = this.ctx;
    const image = { height: runtimeDim(ctx, input, 2), width: runtimeDim(ctx, input, 3) };
    this.spatialWindows = new SpatialWindows(ctx, this.c, this.cfg.splitSize, image);
    return buildDatShell(ctx, input, {
      inChannels: 3,
      depths: this.cfg.depths,
      resiConnection: this.cfg.resiConnection,
      head: this.cfg.head,
      imgRange: this.cfg.imgRange,
      block: (tokens, group, index) => this.block(tokens, group, index),
    });
  }
}

/** ONNX bytes for a DAT state dict and the configuration read from it. */
export function buildDatGraph(sd: StateDict, cfg: DatConfig): Uint8Array {
  const spec = { name: 'dat', sd, inputChannels: 3, outputChannels: 3, description: `DAT x${cfg.head.scale}` };
  return imageGraph(spec, (ctx, input) => new DatGraph(ctx, cfg).build(input));
}
