// Activations, each with PyTorch's exact definition. Where onnxruntime's own operator is
// slow on the CPU, the activation is written in the operators that are fast there.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';

/** Past this, tanh(softplus(x)) is 1 in float32. */
const MISH_EXP_LIMIT = 20;

export function relu(ctx: GraphContext, x: string): string {
  return ctx.g.op('Relu', [x]);
}

export function leakyRelu(ctx: GraphContext, x: string, slope: number): string {
  return ctx.g.op('LeakyRelu', [x], { alpha: attr.float(slope) });
}

/**
 * PReLU with `slope` an initializer broadcasting against x ([C, 1, 1] per channel on
 * NCHW, or [1]): max(x, 0) + slope · min(x, 0), not onnxruntime's PRelu, which issue 21
 * measured 1.04 to 1.18 times slower in compact models on the development CPU. The values
 * are PRelu's to the bit (one of the two terms is exactly zero), except that −0 becomes +0.
 */
export function prelu(ctx: GraphContext, x: string, slope: string): string {
  const negative = ctx.g.op('Mul', [slope, ctx.g.op('Min', [x, ctx.scalar(0)])]);
  return ctx.g.op('Add', [ctx.g.op('Relu', [x]), negative], {}, 'prelu');
}

/**
 * Exact GELU, 0.5 · x · (1 + erf(x / √2)), as torch.nn.GELU() computes by default. Written
 * with Div by √2 and in this order, onnxruntime fuses it into its own Gelu kernel (one pass
 * instead of five; 4.4 times faster on a [1, 65536, 64] tensor on the development CPU);
 * with Mul by 1/√2, or the 0.5 applied first, it does not.
 */
export function gelu(ctx: GraphContext, x: string): string {
  const e = ctx.g.op('Erf', [ctx.g.op('Div', [x, ctx.scalar(Math.SQRT2)])]);
  const onePlus = ctx.g.op('Add', [e, ctx.scalar(1)]);
  return ctx.g.op('Mul', [ctx.g.op('Mul', [x, onePlus]), ctx.scalar(0.5)], {}, 'gelu');
}

export function sigmoid(ctx: GraphContext, x: string): string {
  return ctx.g.op('Sigmoid', [x]);
}

/**
 * Mish, x · tanh(softplus(x)), as torch.nn.Mish, written as x · n / (n + 2) with
 * n = eˣ(eˣ + 2), which is tanh(log(1 + eˣ)) multiplied out. onnxruntime's Softplus
 * evaluates both of its branches' exp and log for every element and took a fifth of
 * RealPLKSR's time; these element-wise operators are vectorised, and the form is as exact
 * (2.9e-7 relative against float64 over [−15, 15]). eˣ is taken at min(x, 20), past which
 * the quotient is 1 in float32 (as PyTorch's softplus returns x past 20), so it cannot overflow.
 */
export function mish(ctx: GraphContext, x: string): string {
  const g = ctx.g;
  const e = g.op('Exp', [g.op('Min', [x, ctx.scalar(MISH_EXP_LIMIT)])]);
  const n = g.op('Mul', [e, g.op('Add', [e, ctx.scalar(2)])]);
  return g.op('Mul', [x, g.op('Div', [n, g.op('Add', [n, ctx.scalar(2)])])], {}, 'mish');
}

/** SiLU (swish): x · sigmoid(x). */
export function silu(ctx: GraphContext, x: string): string {
  return ctx.g.op('Mul', [x, ctx.g.op('Sigmoid', [x])], {}, 'silu');
}

export function tanh(ctx: GraphContext, x: string): string {
  return ctx.g.op('Tanh', [x]);
}

/** softmax along `axis`. */
export function softmax(ctx: GraphContext, x: string, axis: number): string {
  return ctx.g.op('Softmax', [x], { axis: attr.int(axis) });
}
