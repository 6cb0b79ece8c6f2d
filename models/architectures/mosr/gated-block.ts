// The gated CNN block of MambaOut (Yu & Wang 2024, yuweihao/MambaOut models/mambaout.py) as
// MoSR and MoESR use it on NCHW maps: a channels-first LayerNorm, a 3 × 3 conv to twice
// the hidden width split into a gate g, an identity part i and a part c that a token
// mixer convolves, then mish(fc2(mish(g) · [i, mixer(c)])). The residual is the caller's.
import { attr } from '../../onnx/graph';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { mish } from '../../nn/activation';
import { layerNormChannelsFirst } from '../../nn/norm';
import type { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { WeightError } from '../../weights/tensors';

const NORM_EPS = 1e-6;

export interface GatedShape {
  readonly dim: number;
  /** int(expansion_ratio · dim): the gate's width, and that of [i, c]. */
  readonly hidden: number;
  /** The channels the token mixer convolves (the tail of [i, c]). */
  readonly convChannels: number;
}

/** The hidden width from block `prefix`'s first conv (2 · hidden outputs). */
export function readHidden(check: CheckedTensors, prefix: string): number {
  const key = `${prefix}.fc1.weight`;
  const doubled = dimOf(check.sd, key, 4, 0, 'the gated block input conv');
  if (doubled % 2 !== 0) {
    throw new WeightError(key, `'${key}' has ${doubled} output channels, expected an even number (gate and value)`);
  }
  return doubled / 2;
}

/** The block's own tensors (norm, fc1, fc2); the token mixer's are the caller's to check. */
export function checkGated(check: CheckedTensors, prefix: string, s: GatedShape): void {
  if (s.convChannels > s.hidden) {
    throw new WeightError(
      `${prefix}.fc1.weight`,
      `the gated block at '${prefix}' convolves ${s.convChannels} channels of a hidden width of ${s.hidden}; expected at most that`,
    );
  }
  check.norm(`${prefix}.norm`, s.dim);
  check.conv(`${prefix}.fc1`, { out: 2 * s.hidden, in: s.dim, kernel: 3 });
  check.conv(`${prefix}.fc2`, { out: s.dim, in: s.hidden, kernel: 3 });
}

/** mish(fc2(mish(g) · [i, mixer(c)])) on the normalised input. */
export function gatedBlock(
  ctx: GraphContext,
  x: string,
  prefix: string,
  s: GatedShape,
  mixer: (c: string) => string,
): string {
  const g = ctx.g;
  const projected = conv2d(ctx, layerNormChannelsFirst(ctx, x, `${prefix}.norm`, NORM_EPS), `${prefix}.fc1`);
  // torch.split allows an empty identity part (hidden = convChannels); ONNX Split is given only the others.
  const identityWidth = s.hidden - s.convChannels;
  const widths = identityWidth > 0 ? [s.hidden, identityWidth, s.convChannels] : [s.hidden, s.convChannels];
  const parts = g.opN('Split', [projected, ctx.ints(widths)], widths.length, { axis: attr.int(1) });
  const [gate, identity] = parts;
  const mixed = parts[widths.length - 1];
  if (gate === undefined || identity === undefined || mixed === undefined) throw new Error('Split gave too few parts');
  const value = identityWidth > 0 ? g.op('Concat', [identity, mixer(mixed)], { axis: attr.int(1) }) : mixer(mixed);
  const product = g.op('Mul', [mish(ctx, gate), value]);
  return mish(ctx, conv2d(ctx, product, `${prefix}.fc2`));
}
