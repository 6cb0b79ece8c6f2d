// What the Swin-style blocks inside the shell's residual groups share: the window-attention
// bias table (which gives the window and the heads), the norms, projections and MLP of a
// block, and their graph, up to the whole Swin transformer block SwinIR and DRCT use.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireLinear, requireNorm, type BiasRule } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import type { GraphContext } from '../../nn/context';
import { linear } from '../../nn/linear';
import { gelu } from '../../nn/activation';
import { layerNorm } from '../../nn/norm';
import {
  squareWindow,
  storedPositionBias,
  swinRelativePositionIndex,
  windowSelfAttention,
  type GridShift,
  type WindowGrid,
} from '../../nn/window-attention';
import { LAYER_NORM_EPS } from './shell';

/** How many blocks residual group `layer` has; an empty group is an error. */
export function groupDepth(sd: StateDict, layer: number, blocks = 'blocks'): number {
  const prefix = `layers.${layer}.residual_group.${blocks}`;
  const depth = countNumbered(sd, prefix);
  if (depth === 0)
    throw new WeightError(`${prefix}.0`, `the weights have no '${prefix}.0.*' (residual group ${layer} is empty)`);
  return depth;
}

/** Window size w from a Swin bias table of (2w − 1)² rows. */
function windowSizeFromTable(key: string, rows: number): number {
  const side = Math.round(Math.sqrt(rows));
  if (side * side !== rows || side % 2 !== 1) {
    throw new WeightError(key, `tensor '${key}' has ${rows} rows, expected (2·window − 1)² for an integer window`);
  }
  return (side + 1) / 2;
}

/** A block's window attention as its bias table gives it: rows (2w − 1)², one column per head. */
export interface AttentionTable {
  readonly key: string;
  readonly rows: number;
  readonly windowSize: number;
  readonly heads: number;
}

/** Reads the bias table of the attention at `attnPrefix`, checking that its heads divide the embedding width. */
export function readAttentionTable(sd: StateDict, attnPrefix: string, embedDim: number): AttentionTable {
  const key = `${attnPrefix}.relative_position_bias_table`;
  const what = 'window attention bias table [(2·window − 1)², heads]';
  const rows = dimOf(sd, key, 2, 0, what);
  const heads = dimOf(sd, key, 2, 1, what);
  if (embedDim % heads !== 0) {
    throw new WeightError(key, `tensor '${key}' gives ${heads} heads, which do not divide embed_dim ${embedDim}`);
  }
  return { key, rows, windowSize: windowSizeFromTable(key, rows), heads };
}

/** Checks the norms, attention projections and MLP of the Swin block at `prefix`. */
export function requireSwinBlock(
  sd: StateDict,
  prefix: string,
  embedDim: number,
  hidden: number,
  qkvBias: BiasRule = 'required',
): void {
  requireNorm(sd, `${prefix}.norm1`, embedDim);
  requireNorm(sd, `${prefix}.norm2`, embedDim);
  requireLinear(sd, `${prefix}.attn.qkv`, 3 * embedDim, embedDim, qkvBias);
  requireLinear(sd, `${prefix}.attn.proj`, embedDim, embedDim);
  requireMlp(sd, `${prefix}.mlp`, embedDim, hidden);
}

/** The transformer MLP fc1 [hidden, C], fc2 [C, hidden]. */
export function requireMlp(sd: StateDict, prefix: string, embedDim: number, hidden: number): void {
  requireLinear(sd, `${prefix}.fc1`, hidden, embedDim);
  requireLinear(sd, `${prefix}.fc2`, embedDim, hidden);
}

/** The transformer MLP: fc1, exact GELU, fc2, over the last axis. */
export function mlp(ctx: GraphContext, x: string, prefix: string): string {
  return linear(ctx, gelu(ctx, linear(ctx, x, `${prefix}.fc1`)), `${prefix}.fc2`);
}

/**
 * The (shifted-)window self-attention of the Swin block at `prefix`: its `attn.qkv`,
 * `attn.proj` and `attn.relative_position_bias_table`, on a normalised [B, H, W, C] grid.
 */
export function blockWindowAttention(
  ctx: GraphContext,
  grid: WindowGrid,
  x: string,
  prefix: string,
  spec: SwinBlockSpec,
): string {
  const n = spec.windowSize * spec.windowSize;
  const index = swinRelativePositionIndex(squareWindow(spec.windowSize));
  return windowSelfAttention(ctx, grid, x, {
    channels: spec.channels,
    heads: spec.heads,
    shift: spec.shift,
    qkvPrefix: `${prefix}.attn.qkv`,
    projPrefix: `${prefix}.attn.proj`,
    positionBias: storedPositionBias(ctx, `${prefix}.attn.relative_position_bias_table`, 'window', index, n, n),
  });
}

export interface SwinBlockSpec {
  /** Width of the block's tokens (DRCT's blocks widen as features are concatenated). */
  readonly channels: number;
  readonly heads: number;
  readonly windowSize: number;
  readonly shift: GridShift;
}

/**
 * Swin's transformer block on a [B, H, W, C] grid, as SwinIR and DRCT build it:
 * x + W-MSA(norm1(x)) with the stored relative position bias, then + MLP(norm2(·)).
 */
export function swinBlock(ctx: GraphContext, grid: WindowGrid, x: string, prefix: string, spec: SwinBlockSpec): string {
  const normed = layerNorm(ctx, x, `${prefix}.norm1`, LAYER_NORM_EPS);
  const afterAttention = ctx.g.op('Add', [x, blockWindowAttention(ctx, grid, normed, prefix, spec)]);
  const forMlp = layerNorm(ctx, afterAttention, `${prefix}.norm2`, LAYER_NORM_EPS);
  return ctx.g.op('Add', [afterAttention, mlp(ctx, forMlp, `${prefix}.mlp`)]);
}
