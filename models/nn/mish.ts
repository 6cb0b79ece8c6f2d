// Mish, x · tanh(softplus(x)) (torch.nn.Mish), for MoSR and MoESR. Kept apart from
// activation.ts while another branch adds its own Mish there; the two are to be folded.
import type { GraphContext } from './context';

/** Past this, tanh(softplus(x)) rounds to 1 in float32; it also keeps eˣ finite. */
const EXP_CAP = 20;

/**
 * With e = eˣ and u = 1 + e, tanh(log u) = (u² − 1) / (u² + 1) = p / (p + 2) where
 * p = e · (e + 2): one Exp and element-wise arithmetic instead of Softplus and Tanh.
 */
export function mishActivation(ctx: GraphContext, x: string): string {
  const g = ctx.g;
  const e = g.op('Exp', [g.op('Min', [x, ctx.scalar(EXP_CAP)])]);
  const p = g.op('Mul', [e, g.op('Add', [e, ctx.scalar(2)])]);
  return g.op('Mul', [x, g.op('Div', [p, g.op('Add', [p, ctx.scalar(2)])])], {}, 'mish');
}
