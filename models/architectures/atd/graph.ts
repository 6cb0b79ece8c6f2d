// ATD's forward pass as an ONNX graph, in SwinIR's shell (../swin-shell). Each transformer
// layer sums three attentions over one q/k/v projection: shifted-window attention, a cross
// attention to the block's token dictionary (ATD-CA), and category attention (AC-MSA), in
// which tokens are grouped by the dictionary entry they resemble most and attend within
// their group. Every layer but a block's last then refines the dictionary from the image.
//
// Grouping sorts tokens by category. Upstream calls torch.sort(stable=False), whose order
// among tokens of one category is whatever the sort leaves: on the CPU libstdc++'s
// introsort (a different order from a stable sort as soon as a row has more than 16
// tokens), on CUDA a stable radix or merge sort for the sizes ATD sorts. Categories are
// integers (an argmax over num_tokens), so most tokens share theirs with others, and when
// the image has more tokens than one group the order decides who is grouped with whom.
// An ONNX graph cannot run introsort; it can sort stably, by TopK over category · n +
// position, which is what upstream gives on CUDA and, whatever the order, on images of at
// most category_size tokens (one group, where attention does not depend on the order).
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { floatTensor } from '../../weights/tensors';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, sigmoid, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { instanceNorm, l2Normalize, layerNorm } from '../../nn/norm';
import { atLeast, padAxisTo, padAxisToMultiple, runtimeDim, toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  NO_SHIFT,
  mergeHeads,
  multiHeadAttention,
  packedWindowAttention,
  splitHeads,
  squareWindow,
  storedPositionBias,
  swinRelativePositionIndex,
  type WindowGrid,
} from '../../nn/window-attention';
import { LAYER_NORM_EPS, buildShellGraph } from '../swin-shell/shell';
import { layerPrefix, type ATDConfig } from './config';

/** spandrel's size requirement: the forward mirrors at most the image itself onto its end. */
export const ATD_MINIMUM_SIZE = 8;
/** AC-MSA's logit scale is capped at log(1 / 0.01) before exp. */
const MAX_LOGIT_SCALE = Math.fround(Math.log(100));
/** InstanceNorm1d's default eps (norm3). */
const INSTANCE_NORM_EPS = 1e-5;

/** How the tokens of one graph's image are cut into category groups; computed once per graph. */
interface Grouping {
  /** int64 scalar: tokens in the image. */
  readonly count: string;
  /** int64 [n]: 0 … n − 1. */
  readonly positions: string;
  /** int64 [groups · size]: the sorted position each grouped slot takes (the tail mirrors the end). */
  readonly slots: string;
  /** int64 [4]: [1, groups, size, -1]. */
  readonly groupShape: string;
}

class ATDGraph {
  private grouping: Grouping | null = null;

  constructor(private readonly cfg: ATDConfig) {}

  /**
   * Group size min(n, category_size) and as many groups as fill n; the last group is
   * completed with the sorted order's last tokens in reverse (upstream's flip), so slot p
   * takes sorted position p below n and 2n − 1 − p past it.
   */
  private groupingOf(ctx: GraphContext, grid: WindowGrid): Grouping {
    if (this.grouping) return this.grouping;
    const g = ctx.g;
    const n = g.op('Mul', [grid.height, grid.width], {}, 'token_count');
    const size = g.op('Min', [n, ctx.ints([this.cfg.categorySize])], {}, 'group_size');
    const groups = g.op('Div', [g.op('Sub', [g.op('Add', [n, size]), ctx.ints([1])]), size], {}, 'group_count');
    const slotCount = g.op('Squeeze', [g.op('Mul', [groups, size]), ctx.ints([0])]);
    const count = g.op('Squeeze', [n, ctx.ints([0])]);
    const slot = g.op('Range', [ctx.int64Scalar(0), slotCount, ctx.int64Scalar(1)]);
    const mirrored = g.op('Sub', [g.op('Sub', [g.op('Mul', [n, ctx.ints([2])]), ctx.ints([1])]), slot]);
    this.grouping = {
      count,
      positions: g.op('Range', [ctx.int64Scalar(0), count, ctx.int64Scalar(1)], {}, 'token_positions'),
      slots: g.op('Min', [slot, mirrored], {}, 'group_slots'),
      groupShape: g.op('Concat', [ctx.ints([1]), groups, size, ctx.ints([-1])], { axis: attr.int(0) }),
    };
    return this.grouping;
  }

  /**
   * AC-MSA on the packed q/k/v tokens [1, n, 3C] with the dictionary similarities
   * [1, n, m]: tokens sorted stably by category, cut into groups, attention within each
   * group (logits scaled by exp(logit_scale), no 1/√d), back to image order, projected.
   */
  private categoryAttention(
    ctx: GraphContext,
    grid: WindowGrid,
    qkv: string,
    sim: string,
    p: string,
    heads: number,
  ): string {
    const g = ctx.g;
    const c = this.cfg.embedDim;
    const { count, positions, slots, groupShape } = this.groupingOf(ctx, grid);
    const category = g.op('ArgMax', [sim], { axis: attr.int(-1), keepdims: attr.int(0) }, 'category');
    const sortKey = g.op('Add', [g.op('Mul', [category, count]), positions], {}, 'category_key');
    const [, order] = g.opN('TopK', [sortKey, g.op('Unsqueeze', [count, ctx.ints([0])])], 2, {
      axis: attr.int(-1),
      largest: attr.int(0),
      sorted: attr.int(1),
    });
    if (order === undefined) throw new Error('TopK gave no indices');
    const rank = g.op('Unsqueeze', [positions, ctx.ints([0])]);
    const inverse = g.op('ScatterElements', [rank, order, rank], { axis: attr.int(1) }, 'category_inverse');
    const sources = g.op('Gather', [g.op('Squeeze', [order, ctx.ints([0])]), slots], { axis: attr.int(0) });
    const grouped = g.op('Reshape', [g.op('Gather', [qkv, sources], { axis: attr.int(1) }), groupShape]);
    const [q, k, v] = splitHeads(ctx, grouped, 3, heads, c / heads);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    const logitScale = floatTensor(ctx.sd, `${p}.attn_aca.logit_scale`).data[0] ?? 0;
    const scale = Math.fround(Math.exp(Math.min(logitScale, MAX_LOGIT_SCALE)));
    const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale, biases: [] });
    const slotsFirst = g.op('Reshape', [mergeHeads(ctx, attended, c), ctx.ints([1, -1, c])]);
    const restored = g.op('Gather', [slotsFirst, g.op('Squeeze', [inverse, ctx.ints([0])])], { axis: attr.int(1) });
    return linear(ctx, restored, `${p}.attn_aca.proj`);
  }

  /** ATD_CA: the dictionary's affinity to each token [1, n, m] (softmax), and what the tokens read from it. */
  private dictionaryAttention(ctx: GraphContext, x: string, td: string, p: string): { sim: string; read: string } {
    const g = ctx.g;
    const m = this.cfg.numTokens;
    const q = l2Normalize(ctx, linear(ctx, x, `${p}.attn_atd.wq`));
    const k = l2Normalize(ctx, linear(ctx, td, `${p}.attn_atd.wk`));
    const v = linear(ctx, td, `${p}.attn_atd.wv`);
    // 1 + clamp(scale, 0, 1) · log(num_tokens), per dictionary entry, in float32 as upstream.
    const sharpness = ctx.constant(`${p}.attn_atd.sharpness`, () => ({
      data: floatTensor(ctx.sd, `${p}.attn_atd.scale`).data.map((s) =>
        Math.fround(1 + Math.fround(Math.min(Math.max(s, 0), 1) * Math.fround(Math.log(m)))),
      ),
      dims: [m],
    }));
    const logits = g.op('Mul', [
      g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 2, 1]) })]),
      sharpness,
    ]);
    const sim = softmax(ctx, logits, -1);
    return { sim, read: g.op('MatMul', [sim, v], {}, 'dictionary_read') };
  }

  /** One ATDTransformerLayer on [1, H, W, C]; returns the tokens and the refined dictionary [1, m, C]. */
  private layer(
    ctx: GraphContext,
    grid: WindowGrid,
    x: string,
    td: string,
    group: number,
    index: number,
  ): { x: string; td: string } {
    const g = ctx.g;
    const cfg = this.cfg;
    const c = cfg.embedDim;
    const p = layerPrefix(group, index);
    const normed = layerNorm(ctx, x, `${p}.norm1`, LAYER_NORM_EPS);
    const qkv = linear(ctx, normed, `${p}.wqkv`);
    const flat = (t: string, width: number): string => g.op('Reshape', [t, ctx.ints([1, -1, width])]);
    const { sim, read } = this.dictionaryAttention(ctx, flat(normed, c), td, p);
    const heads = cfg.numHeads[group] ?? 0;
    const category = this.categoryAttention(ctx, grid, flat(qkv, 3 * c), sim, p, heads);

    const n = cfg.windowSize * cfg.windowSize;
    const half = Math.floor(cfg.windowSize / 2);
    const windowed = packedWindowAttention(ctx, grid, qkv, {
      channels: c,
      heads,
      shift: index % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT,
      projPrefix: `${p}.attn_win.proj`,
      positionBias: storedPositionBias(
        ctx,
        `${p}.attn_win.relative_position_bias_table`,
        'window',
        swinRelativePositionIndex(squareWindow(cfg.windowSize)),
        n,
        n,
      ),
    });
    const shape = g.op('Shape', [x]);
    const asGrid = (t: string): string => g.op('Reshape', [t, shape]);
    let y = g.op('Add', [g.op('Add', [x, windowed]), asGrid(read)]);
    y = g.op('Add', [y, asGrid(category)]);
    y = g.op('Add', [y, this.convFeedForward(ctx, layerNorm(ctx, y, `${p}.norm2`, LAYER_NORM_EPS), p)]);

    if (index === (cfg.depths[group] ?? 0) - 1) return { x: y, td };
    // Adaptive token refinement: each entry moves towards the tokens it is most like.
    const affinity = g.op('Transpose', [sim], { perm: attr.ints([0, 2, 1]) });
    const weights = softmax(ctx, instanceNorm(ctx, affinity, `${p}.norm3`, INSTANCE_NORM_EPS), -1);
    const keep = sigmoid(ctx, ctx.weight(`${p}.sigma`));
    const drawn = g.op('MatMul', [weights, flat(y, c)]);
    const refined = g.op('Add', [g.op('Mul', [keep, td]), g.op('Mul', [g.op('Sub', [ctx.scalar(1), keep]), drawn])]);
    return { x: y, td: refined };
  }

  /** ConvFFN: fc1, GELU, plus its depthwise conv (with GELU), fc2. */
  private convFeedForward(ctx: GraphContext, x: string, p: string): string {
    const hidden = gelu(ctx, linear(ctx, x, `${p}.convffn.fc1`));
    const conv = conv2d(ctx, toFeatureMap(ctx, hidden), `${p}.convffn.dwconv.depthwise_conv.0`, {
      groups: this.cfg.hidden,
    });
    const local = ctx.g.op('Add', [hidden, toTokenGrid(ctx, gelu(ctx, conv))]);
    return linear(ctx, local, `${p}.convffn.fc2`);
  }

  residualGroup(ctx: GraphContext, tokens: string, group: number, grid: WindowGrid): string {
    const m = this.cfg.numTokens;
    let state = { x: tokens, td: ctx.weightAs(`layers.${group}.residual_group.td`, [1, m, this.cfg.embedDim]) };
    for (let i = 0; i < (this.cfg.depths[group] ?? 0); i++) state = this.layer(ctx, grid, state.x, state.td, group, i);
    return state.x;
  }
}

/**
 * The descriptor's input: at least 8 × 8 (spandrel pads, reflecting then repeating the
 * edge), then mirrored onto its end up to a multiple of the window as the forward does
 * (torch.flip and concatenation: the edge row is repeated).
 */
function padAsSpandrel(ctx: GraphContext, input: string, windowSize: number): string {
  let x = input;
  for (const axis of [2, 3]) {
    const length = runtimeDim(ctx, x, axis);
    const atMinimum = atLeast(ctx, length, ATD_MINIMUM_SIZE);
    x = padAxisToMultiple(ctx, padAxisTo(ctx, x, axis, length, atMinimum), axis, atMinimum, windowSize, 'symmetric');
  }
  return x;
}

export function buildATDGraph(sd: StateDict, config: ATDConfig): Uint8Array {
  const graph = new ATDGraph(config);
  return buildShellGraph(sd, {
    graphName: 'atd',
    config,
    layerCount: config.depths.length,
    padInput: (ctx, input) => padAsSpandrel(ctx, input, config.windowSize),
    residualGroup: (ctx, tokens, layer, grid) => graph.residualGroup(ctx, tokens, layer, grid),
  });
}
