// DAT's forward pass as an ONNX graph. Features travel as [1, H, W, C] (token layout, so
// LayerNorm and Linear act on the last axis) and are transposed to NCHW only around convs.
// H and W are dynamic: the zero padding of q/k/v, window counts and shift masks come from
// the input's shape, through the window-attention toolkit (../../nn/window-attention).
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, sigmoid, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { batchNorm, l2Normalize, layerNorm } from '../../nn/norm';
import { globalPool } from '../../nn/pool';
import { cropTo, padToMultiple, runtimeDim, toFeatureMap, toTokenGrid } from '../../nn/shape';
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
import { buildHead } from '../swin-shell/heads';
import { DIV2K_RGB_MEAN, residualConv } from '../swin-shell/shell';
import { branchHeads, isShiftedBlock, isSpatialBlock, type DatConfig } from './config';
import { positionBiasTable } from './position-bias';

/** nn.LayerNorm's and nn.BatchNorm2d's default eps, which every DAT norm uses. */
const EPS = 1e-5;

class DatGraph {
  private readonly c: number;
  /** The image's height and width (int64 [1]); set by build. */
  private height = '';
  private width = '';
  /** One window grid per window shape over the padded q/k/v, created on first use. */
  private readonly grids = new Map<string, WindowGrid>();

  constructor(
    private readonly ctx: GraphContext,
    private readonly cfg: DatConfig,
  ) {
    this.c = cfg.embedDim;
  }

  private grid(padded: string, window: WindowShape): WindowGrid {
    const key = `${window.height}x${window.width}`;
    let grid = this.grids.get(key);
    if (!grid) {
      grid = new WindowGrid(this.ctx, padded, window);
      this.grids.set(key, grid);
    }
    return grid;
  }

  private transpose(x: string, perm: readonly number[]): string {
    return this.ctx.g.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  /**
   * One Spatial_Attention branch on its half of the padded q/k/v ([1, Hp, Wp, 3·C/2]):
   * windowed multi-head attention with the dynamic position bias (and the shift mask when
   * shifted); returns [1, H, W, C/2] cropped to the image.
   */
  private spatialBranch(qkv: string, prefix: string, window: WindowShape, heads: number, shifted: boolean): string {
    const ctx = this.ctx;
    const channels = this.c / 2;
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
    return cropTo(ctx, shifted ? cyclicShift(ctx, image, shift) : image, 1, this.height, this.width);
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
    const c = this.c;
    const qkv = linear(ctx, x, `${prefix}.qkv`);
    // Padding comes after the projection, so padded q/k/v are exact zeros (even with a
    // bias), and padded keys still take part in the softmax, as upstream's do.
    const padded = padToMultiple(ctx, qkv, 'nhwc', Math.max(...this.cfg.splitSize), 'zero');
    // Channels are (part, branch, branch channel): each branch gathers its half of q, k and v.
    const byBranch = g.op('Reshape', [padded, ctx.ints([0, 0, 0, 3, 2, c / 2])]);
    const [s0, s1] = this.cfg.splitSize;
    const windows: readonly WindowShape[] = [
      { height: s0, width: s1 },
      { height: s1, width: s0 },
    ];
    const branches = windows.map((window, b) => {
      const half = g.op('Gather', [byBranch, ctx.int64Scalar(b)], { axis: attr.int(4) });
      const packed = g.op('Reshape', [half, ctx.ints([0, 0, 0, (3 * c) / 2])]);
      return this.spatialBranch(packed, `${prefix}.attns.${b}`, window, branchHeads(heads), shifted);
    });
    const attended = g.op('Concat', branches, { axis: attr.int(3) });

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

  /** SGFN: fc1, GELU, spatial gate (second half normalised and depthwise-convolved gates the first), fc2. */
  private feedForward(x: string, prefix: string): string {
    const ctx = this.ctx;
    const hidden = gelu(ctx, linear(ctx, x, `${prefix}.fc1`));
    const [first, second] = ctx.g.opN('Split', [hidden], 2, { axis: attr.int(-1) });
    if (first === undefined || second === undefined) throw new Error('Split gave too few parts');
    const normed = layerNorm(ctx, second, `${prefix}.sg.norm`, EPS);
    const gate = toTokenGrid(
      ctx,
      conv2d(ctx, toFeatureMap(ctx, normed), `${prefix}.sg.conv`, { groups: this.cfg.ffnHiddenDim / 2 }),
    );
    return linear(ctx, ctx.g.op('Mul', [first, gate]), `${prefix}.fc2`);
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
    const ffn = this.feedForward(layerNorm(this.ctx, afterAttention, `${prefix}.norm2`, EPS), `${prefix}.ffn`);
    return g.op('Add', [afterAttention, ffn]);
  }

  private residualGroup(x: string, group: number): string {
    let y = x;
    for (let b = 0; b < (this.cfg.depths[group] ?? 0); b++) y = this.block(y, group, b);
    const conv = residualConv(this.ctx, toFeatureMap(this.ctx, y), `layers.${group}.conv`, this.cfg.resiConnection);
    return this.ctx.g.op('Add', [x, toTokenGrid(this.ctx, conv)]);
  }

  build(input: string): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const cfg = this.cfg;
    this.height = runtimeDim(ctx, input, 2);
    this.width = runtimeDim(ctx, input, 3);
    const mean = g.f32('rgb_mean', DIV2K_RGB_MEAN, [1, 3, 1, 1]);
    let x = g.op('Sub', [input, mean]);
    if (cfg.imgRange !== 1) x = g.op('Mul', [x, ctx.scalar(cfg.imgRange)]);
    const shallow = conv2d(ctx, x, 'conv_first');
    let tokens = layerNorm(ctx, toTokenGrid(ctx, shallow), 'before_RG.1', EPS);
    for (let i = 0; i < cfg.depths.length; i++) tokens = this.residualGroup(tokens, i);
    tokens = layerNorm(ctx, tokens, 'norm', EPS);
    const deep = residualConv(ctx, toFeatureMap(ctx, tokens), 'conv_after_body', cfg.resiConnection);
    let y = buildHead(ctx, g.op('Add', [deep, shallow]), x, cfg.head);
    if (cfg.imgRange !== 1) y = g.op('Div', [y, ctx.scalar(cfg.imgRange)]);
    return g.op('Add', [y, mean]);
  }
}

/** ONNX bytes for a DAT state dict and the configuration read from it. */
export function buildDatGraph(sd: StateDict, cfg: DatConfig): Uint8Array {
  const spec = { name: 'dat', sd, inputChannels: 3, outputChannels: 3, description: `DAT x${cfg.head.scale}` };
  return imageGraph(spec, (ctx, input) => new DatGraph(ctx, cfg).build(input));
}
