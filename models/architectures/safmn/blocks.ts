// SAFMN's attention block (Sun et al. 2023, "Spatially-Adaptive Feature Modulation for
// Efficient Image Super-Resolution"; spandrel's SAFMN/__arch/safmn.py), which SAFMN-BCIE
// reuses: a channels-first LayerNorm, the spatially-adaptive feature modulation (four
// channel chunks, the first convolved in place, the others max-pooled to 1/2, 1/4 and 1/8
// of the map, convolved and brought back by nearest upsampling, then aggregated and
// GELU-gated against the block's input), and a conv feed-forward, each with a residual.
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu } from '../../nn/activation';
import { layerNormChannelsFirst } from '../../nn/norm';
import { adaptivePool2d } from '../../nn/pool';
import { interpolateTo } from '../../nn/resize';
import { runtimeDim } from '../../nn/shape';
import { attr } from '../../onnx/graph';
import type { CheckedTensors } from '../../weights/checked';
import { WeightError } from '../../weights/tensors';
import { dimOf } from '../../weights/shapes';

const NORM_EPS = 1e-6;
/** SAFM's pyramid: chunk i is pooled to H // 2^i (i > 0). */
const LEVELS = 4;
/**
 * The deepest level pools to H // 8, so smaller maps have nothing to pool; spandrel's
 * class runs only from 8 px up.
 */
export const SAFM_MINIMUM = 2 ** (LEVELS - 1);

export interface AttBlockShape {
  readonly dim: number;
  /** The feed-forward's width, int(dim · ffn_scale). */
  readonly hidden: number;
}

/** The block's widths, read from block `prefix`; dim must split into four equal chunks. */
export function readAttBlockShape(check: CheckedTensors, prefix: string, dim: number): AttBlockShape {
  if (dim % LEVELS !== 0) {
    throw new WeightError(
      `${prefix}.safm.mfr.0.weight`,
      `the feature width is ${dim}, expected a multiple of ${LEVELS} (SAFM splits it into ${LEVELS} equal chunks)`,
    );
  }
  return { dim, hidden: dimOf(check.sd, `${prefix}.ccm.ccm.0.weight`, 4, 0, 'the feed-forward conv') };
}

/** Checks every tensor of one block. */
export function checkAttBlock(check: CheckedTensors, prefix: string, s: AttBlockShape): void {
  const chunk = s.dim / LEVELS;
  check.norm(`${prefix}.norm1`, s.dim);
  check.norm(`${prefix}.norm2`, s.dim);
  for (let i = 0; i < LEVELS; i++) check.conv(`${prefix}.safm.mfr.${i}`, { out: chunk, in: 1, kernel: 3 });
  check.conv(`${prefix}.safm.aggr`, { out: s.dim, in: s.dim, kernel: 1 });
  check.conv(`${prefix}.ccm.ccm.0`, { out: s.hidden, in: s.dim, kernel: 3 });
  check.conv(`${prefix}.ccm.ccm.2`, { out: s.dim, in: s.hidden, kernel: 1 });
}

function safm(ctx: GraphContext, x: string, prefix: string, dim: number): string {
  const g = ctx.g;
  const chunk = dim / LEVELS;
  const height = runtimeDim(ctx, x, 2);
  const width = runtimeDim(ctx, x, 3);
  const size = g.op('Concat', [height, width], { axis: attr.int(0) });
  const chunks = g.opN('Split', [x, ctx.ints(Array<number>(LEVELS).fill(chunk))], LEVELS, { axis: attr.int(1) });
  const levels = chunks.map((c, i) => {
    const conv = `${prefix}.mfr.${i}`;
    if (i === 0) return conv2d(ctx, c, conv, { groups: chunk });
    const factor = ctx.ints([2 ** i]);
    const pooled = adaptivePool2d(ctx, c, 'max', g.op('Div', [height, factor]), g.op('Div', [width, factor]));
    return interpolateTo(ctx, conv2d(ctx, pooled, conv, { groups: chunk }), size, { mode: 'nearest' });
  });
  const aggregated = conv2d(ctx, g.op('Concat', levels, { axis: attr.int(1) }), `${prefix}.aggr`);
  return g.op('Mul', [gelu(ctx, aggregated), x], {}, 'safm');
}

/** x + SAFM(norm1(x)), then + CCM(norm2(·)). */
export function attBlock(ctx: GraphContext, x: string, prefix: string, dim: number): string {
  const g = ctx.g;
  const modulated = safm(ctx, layerNormChannelsFirst(ctx, x, `${prefix}.norm1`, NORM_EPS), `${prefix}.safm`, dim);
  const afterSafm = g.op('Add', [modulated, x]);
  const normed = layerNormChannelsFirst(ctx, afterSafm, `${prefix}.norm2`, NORM_EPS);
  const ffn = conv2d(ctx, gelu(ctx, conv2d(ctx, normed, `${prefix}.ccm.ccm.0`)), `${prefix}.ccm.ccm.2`);
  return g.op('Add', [ffn, afterSafm], {}, 'att_block');
}
