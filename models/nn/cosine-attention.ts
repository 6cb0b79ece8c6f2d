// Swin Transformer V2's attention, as Swin2SR and GRL use it: the cosine similarity of
// queries and keys times a learned per-head logit scale (capped at 100), plus a continuous
// position bias: a small MLP (`cpb_mlp`: Linear 2 → 512, ReLU, Linear 512 → heads without
// bias) maps log-spaced relative coordinates to one bias per head, squashed to (0, 16) by
// 16 · sigmoid. The MLP sees only weights and window shapes, so the graph runs it on
// constants, which onnxruntime folds when it loads the model.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { linear } from './linear';
import { l2Normalize } from './norm';
import { relu, sigmoid, softmax } from './activation';
import { positionBias } from './window-attention';

/** Upstream's cap on the logit scale: exp(min(scale, ln(1 / 0.01))). */
const MAX_LOGIT_SCALE = Math.log(100);

/** The bias range: 16 · sigmoid(·). */
const BIAS_RANGE = 16;

/** The relative offsets `from` … `to` (inclusive) along one axis, divided by `divisor` before the log spacing. */
export interface CoordinateAxis {
  readonly from: number;
  readonly to: number;
  readonly divisor: number;
}

/**
 * The relative-coordinates table Swin V2 feeds its position MLP, [rows × cols, 2] row-major
 * (row offset outer): each offset t = offset / divisor · 8 becomes sign(t) · log2(|t| + 1) / 3,
 * with float32 rounding at each step as upstream computes it in float32.
 */
export function logSpacedCoordinates(rows: CoordinateAxis, cols: CoordinateAxis): Float32Array {
  const spaced = (offset: number, divisor: number): number => {
    const t = Math.fround(Math.fround(offset / divisor) * 8);
    const log = Math.fround(Math.log2(Math.fround(Math.abs(t) + 1)));
    return Math.sign(t) * Math.fround(log / 3);
  };
  const out: number[] = [];
  for (let r = rows.from; r <= rows.to; r++) {
    for (let c = cols.from; c <= cols.to; c++) out.push(spaced(r, rows.divisor), spaced(c, cols.divisor));
  }
  return Float32Array.from(out);
}

export interface ContinuousBiasSpec {
  /** Prefix of the MLP (`….cpb_mlp`): `.0` Linear 2 → hidden with bias, `.2` Linear hidden → heads. */
  readonly mlpPrefix: string;
  /** From logSpacedCoordinates: the MLP's input rows. */
  readonly coordinates: Float32Array;
  /** Names the coordinates and index initializers; tables of one layout share them. */
  readonly layout: string;
  readonly heads: number;
  /** Table row for each (query, key) pair, row-major [queries × keys]. */
  readonly index: Int32Array;
  readonly queries: number;
  readonly keys: number;
  /** See PositionBiasTable.runtimeZero: where the gathered bias would be too large to keep. */
  readonly runtimeZero?: string;
}

/** The continuous position bias [heads, queries, keys]: 16 · sigmoid(cpb_mlp(coordinates))[index]. */
export function continuousPositionBias(ctx: GraphContext, spec: ContinuousBiasSpec): string {
  const entries = spec.coordinates.length / 2;
  const coordinates = ctx.constant(`cpb_coordinates_${spec.layout}`, () => ({
    data: spec.coordinates,
    dims: [entries, 2],
  }));
  const hidden = relu(ctx, linear(ctx, coordinates, `${spec.mlpPrefix}.0`));
  const logits = linear(ctx, hidden, `${spec.mlpPrefix}.2`);
  const table = ctx.g.op('Mul', [sigmoid(ctx, logits), ctx.scalar(BIAS_RANGE)], {}, `${spec.mlpPrefix}.table`);
  return positionBias(ctx, { ...spec, table, entries });
}

export interface CosineAttentionInputs {
  /** [B, nW, heads, Nq, d] */
  readonly query: string;
  /** [B, nW, heads, Nk, d] */
  readonly key: string;
  /** [B, nW, heads, Nk, d'] */
  readonly value: string;
  /** Key of the stored per-head logit scale [heads, 1, 1] (before exp). */
  readonly logitScale: string;
  /** Added to the scaled logits; broadcastable to [B, nW, heads, Nq, Nk]. */
  readonly biases: readonly string[];
}

/** softmax(normalize(q) @ normalize(k)ᵀ · exp(min(scale, ln 100)) + biases) @ v: [B, nW, heads, Nq, d']. */
export function cosineAttention(ctx: GraphContext, a: CosineAttentionInputs): string {
  const g = ctx.g;
  const scale = g.op('Exp', [g.op('Min', [ctx.weight(a.logitScale), ctx.scalar(MAX_LOGIT_SCALE)])], {}, 'logit_scale');
  const kT = g.op('Transpose', [l2Normalize(ctx, a.key)], { perm: attr.ints([0, 1, 2, 4, 3]) }, 'k_t');
  let logits = g.op('Mul', [g.op('MatMul', [l2Normalize(ctx, a.query), kT]), scale], {}, 'cosine_logits');
  for (const b of a.biases) logits = g.op('Add', [logits, b], {}, 'logits_biased');
  return g.op('MatMul', [softmax(ctx, logits, -1), a.value], {}, 'attended');
}
