// RGT's forward pass as an ONNX graph, in the shell it shares with DAT (../dat/shell.ts).
// Even blocks are L-SA: DAT's spatial window attention plus a depthwise conv of v; odd
// blocks are RG-SA: every token attends to a few tokens summarised from the whole image by
// a recursive 4×4 stride-4 reduction. How often the reduction recurses depends on the
// image size (at least twice, once more per factor 4 of max(H, W) / 16 past 16), so the
// graph computes every depth an image can need and keeps the one its size asks for.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { layerNorm } from '../../nn/norm';
import { atLeast, cropTo, padAxisTo, runtimeDim, scaled, toFeatureMap, toTokenGrid } from '../../nn/shape';
import { mergeHeads, multiHeadAttention, splitHeads } from '../../nn/window-attention';
import { LAYER_NORM_EPS } from '../swin-shell/shell';
import { branchHeads, isShiftedBlock, isSpatialBlock } from '../dat/config';
import { SpatialWindows, buildDatShell, gatedFeedForward, type ImageSize } from '../dat/shell';
import type { RGTConfig } from './config';

/** spandrel's size requirement: RG-SA needs H and W of at least 16 (H // 16 reduced rows). */
export const RGT_MINIMUM_SIZE = 16;
/** Eval-mode recursion depth is at least this (upstream: "testing _time must equal or larger than training _time"). */
const MIN_DEPTH = 2;
/**
 * The deepest recursion built: depth t needs max(H, W) ≥ 16 · 4^t, so 6 serves sides up to
 * 262143 px, past anything sharp decodes.
 */
const MAX_DEPTH = 6;
const REDUCTION = 4;

/**
 * Which recursion depth the image needs, and where that depth's reduced map sits among all
 * the depths' maps flattened and concatenated: computed once per graph from the image size.
 */
interface DepthChoice {
  readonly start: string;
  readonly end: string;
  /** int64 [2]: the chosen map's rows and columns. */
  readonly size: string;
  /** Per depth past MIN_DEPTH, the zero pad that keeps a map too small to reduce reducible (unused then). */
  readonly pads: readonly string[];
}

class RGTGraph {
  private readonly c: number;
  private depthChoice: DepthChoice | null = null;
  private spatialWindows: SpatialWindows | null = null;

  constructor(
    private readonly ctx: GraphContext,
    private readonly cfg: RGTConfig,
  ) {
    this.c = cfg.embedDim;
  }

  /**
   * Upstream's _time = max(int(log4(H // 16)), int(log4(W // 16)), 2) as thresholds (Python's
   * float log gives exact powers of 4 here), and each depth's map size: ⌊H / 16⌋ at depth 2,
   * then ⌊max(h, 4) / 4⌋ per further reduction of a map padded to 4 rows where it is smaller.
   */
  private chooseDepth(image: ImageSize): DepthChoice {
    const ctx = this.ctx;
    const g = ctx.g;
    const int = (x: string): string => g.op('Cast', [x], { to: attr.int(7) });
    const longest = g.op('Max', [image.height, image.width]);
    let depth = ctx.ints([MIN_DEPTH]);
    for (let t = MIN_DEPTH + 1; t <= MAX_DEPTH; t++) {
      const reaches = g.op('GreaterOrEqual', [longest, ctx.ints([RGT_MINIMUM_SIZE * REDUCTION ** t])]);
      depth = g.op('Add', [depth, int(reaches)]);
    }
    const base = REDUCTION ** MIN_DEPTH;
    let rows = g.op('Div', [image.height, ctx.ints([base])]);
    let cols = g.op('Div', [image.width, ctx.ints([base])]);
    let start = ctx.ints([0]);
    let length = ctx.ints([0]);
    let size = ctx.ints([0, 0]);
    const pads: string[] = [];
    for (let t = MIN_DEPTH; t <= MAX_DEPTH; t++) {
      if (t > MIN_DEPTH) {
        const short = (n: string): string => g.op('Max', [g.op('Sub', [ctx.ints([REDUCTION]), n]), ctx.ints([0])]);
        pads.push(g.op('Concat', [ctx.ints([0, 0, 0, 0, 0, 0]), short(rows), short(cols)], { axis: attr.int(0) }));
        rows = g.op('Div', [atLeast(ctx, rows, REDUCTION), ctx.ints([REDUCTION])]);
        cols = g.op('Div', [atLeast(ctx, cols, REDUCTION), ctx.ints([REDUCTION])]);
      }
      const count = g.op('Mul', [rows, cols]);
      const before = int(g.op('Greater', [depth, ctx.ints([t])]));
      const chosen = int(g.op('Equal', [depth, ctx.ints([t])]));
      start = g.op('Add', [start, g.op('Mul', [count, before])]);
      length = g.op('Add', [length, g.op('Mul', [count, chosen])]);
      const shape = g.op('Concat', [rows, cols], { axis: attr.int(0) });
      size = g.op('Add', [size, g.op('Mul', [shape, chosen])]);
    }
    return { start, end: g.op('Add', [start, length], {}, 'rgsa_end'), size, pads };
  }

  private choice(): DepthChoice {
    if (!this.depthChoice) throw new Error('the recursion depth is chosen when the graph is built');
    return this.depthChoice;
  }

  /** reduction1 applied as often as the image asks, on an NCHW map: [B, C, h, w]. */
  private recursiveReduction(x: string, prefix: string): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const choice = this.choice();
    const reduce = (map: string): string => conv2d(ctx, map, prefix, { stride: REDUCTION, padding: 0, groups: this.c });
    let map = reduce(reduce(x));
    const flat = [map];
    for (const pads of choice.pads) {
      map = reduce(g.op('Pad', [map, pads], { mode: attr.string('constant') }));
      flat.push(map);
    }
    const all = g.op(
      'Concat',
      flat.map((m) => g.op('Reshape', [m, ctx.ints([0, this.c, -1])])),
      { axis: attr.int(2) },
    );
    const kept = g.op('Slice', [all, choice.start, choice.end, ctx.ints([2])], {}, 'rgsa_depth');
    const shape = g.op('Concat', [ctx.ints([0, this.c]), choice.size], { axis: attr.int(0) });
    return g.op('Reshape', [kept, shape], {}, 'rgsa_reduced');
  }

  /** [B, H, W, C'] tokens as [B, 1, heads, H·W, C'/heads] (one "window": the whole image). */
  private heads(tokens: string, channels: number, heads: number): string {
    const flat = this.ctx.g.op('Reshape', [tokens, this.ctx.ints([0, 1, -1, channels])]);
    const [split] = splitHeads(this.ctx, flat, 1, heads, channels / heads);
    if (split === undefined) throw new Error('splitHeads gave no part');
    return split;
  }

  /** RG_SA on normalised tokens [B, H, W, C]. */
  private recursiveAttention(x: string, prefix: string, heads: number): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const c = this.c;
    const cr = this.cfg.reducedDim;
    const reduced = this.recursiveReduction(toFeatureMap(ctx, x), `${prefix}.reduction1`);
    const mixed = conv2d(ctx, conv2d(ctx, reduced, `${prefix}.dwconv`, { groups: c }), `${prefix}.conv`);
    const summary = gelu(ctx, layerNorm(ctx, toTokenGrid(ctx, mixed), `${prefix}.norm_act.0`, LAYER_NORM_EPS));
    const values = linear(ctx, summary, `${prefix}.v`);
    // CPE: the values, as a map over the reduced grid, plus their depthwise conv.
    const positioned = g.op('Add', [
      values,
      toTokenGrid(ctx, conv2d(ctx, toFeatureMap(ctx, values), `${prefix}.cpe`, { groups: c })),
    ]);
    const headDim = Math.floor(c / heads);
    const attended = multiHeadAttention(ctx, {
      query: this.heads(linear(ctx, x, `${prefix}.q`), cr, heads),
      key: this.heads(linear(ctx, summary, `${prefix}.k`), cr, heads),
      value: this.heads(positioned, c, heads),
      scale: (headDim * this.cfg.cRatio) ** -0.5,
      biases: [],
    });
    const merged = g.op('Reshape', [mergeHeads(ctx, attended, c), g.op('Shape', [x])]);
    return linear(ctx, merged, `${prefix}.proj`);
  }

  /** L_SA on normalised tokens [B, H, W, C]: DAT's spatial windows plus a depthwise conv of v. */
  private spatialAttention(x: string, prefix: string, heads: number, shifted: boolean): string {
    const ctx = this.ctx;
    const c = this.c;
    if (!this.spatialWindows) throw new Error('the spatial windows are made when the graph is built');
    const qkv = linear(ctx, x, `${prefix}.qkv`);
    const attended = this.spatialWindows.attend(qkv, prefix, branchHeads(heads), shifted);
    const v = ctx.g.op('Slice', [qkv, ctx.ints([2 * c]), ctx.ints([3 * c]), ctx.ints([3])]);
    const local = toTokenGrid(ctx, conv2d(ctx, toFeatureMap(ctx, v), `${prefix}.get_v`, { groups: c }));
    return linear(ctx, ctx.g.op('Add', [attended, local]), `${prefix}.proj`);
  }

  private block(x: string, group: number, index: number): string {
    const ctx = this.ctx;
    const g = ctx.g;
    const prefix = `layers.${group}.blocks.${index}`;
    const heads = this.cfg.numHeads[group] ?? 0;
    const normed = layerNorm(ctx, x, `${prefix}.norm1`, LAYER_NORM_EPS);
    const attention = isSpatialBlock(index)
      ? this.spatialAttention(normed, `${prefix}.attn`, heads, isShiftedBlock(group, index))
      : this.recursiveAttention(normed, `${prefix}.attn`, heads);
    const afterAttention = g.op('Add', [x, attention]);
    const normed2 = layerNorm(ctx, afterAttention, `${prefix}.norm2`, LAYER_NORM_EPS);
    const afterMlp = g.op('Add', [afterAttention, gatedFeedForward(ctx, normed2, `${prefix}.mlp`, this.cfg.mlpHidden)]);
    // HAI: the block's input again, scaled per channel.
    return g.op('Add', [afterMlp, g.op('Mul', [x, ctx.weight(`${prefix}.gamma`)])]);
  }

  /**
   * The descriptor's run: the input padded to at least 16 × 16 as spandrel pads it, the
   * network, the output cropped back.
   */
  build(input: string): string {
    const ctx = this.ctx;
    const height = runtimeDim(ctx, input, 2);
    const width = runtimeDim(ctx, input, 3);
    const image = { height: atLeast(ctx, height, RGT_MINIMUM_SIZE), width: atLeast(ctx, width, RGT_MINIMUM_SIZE) };
    const padded = padAxisTo(ctx, padAxisTo(ctx, input, 2, height, image.height), 3, width, image.width);
    this.depthChoice = this.chooseDepth(image);
    this.spatialWindows = new SpatialWindows(ctx, this.c, this.cfg.splitSize, image);
    const y = buildDatShell(ctx, padded, {
      inChannels: this.cfg.inChannels,
      depths: this.cfg.depths,
      resiConnection: this.cfg.resiConnection,
      head: this.cfg.head,
      imgRange: this.cfg.imgRange,
      block: (tokens, group, index) => this.block(tokens, group, index),
    });
    const scale = this.cfg.head.scale;
    return cropTo(ctx, y, 2, scaled(ctx, height, scale), scaled(ctx, width, scale));
  }
}

/** ONNX bytes for an RGT state dict and the configuration read from it. */
export function buildRGTGraph(sd: StateDict, cfg: RGTConfig): Uint8Array {
  const channels = cfg.inChannels;
  const spec = {
    name: 'rgt',
    sd,
    inputChannels: channels,
    outputChannels: channels,
    description: `RGT x${cfg.head.scale}`,
  };
  return imageGraph(spec, (ctx, input) => new RGTGraph(ctx, cfg).build(input));
}
