// Activations, each with PyTorch's exact definition. Where onnxruntime's own operator is
// slow on the CPU, the activation is written in the operators that are fast there.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';

export function relu(ctx: GraphContext, x: string): string {
  return ctx.g.op('Relu', [x]);
}

export function leakyRelu(ctx: GraphContext, x: string, slope: number): string {
  return ctx.g.op('LeakyRelu', [x], { alpha: attr.float(slope) });
}

/**
 * PReLU with `slope` an initializer broadcasting against x ([C, 1, 1] per channel on
 * NCHW, or [1]): max(x, 0) + slope · min(x, 0). onnxruntime's PRelu is a scalar
 * compare-and-branch loop on the CPU; this form gives bit-identical values (one of the
 * two terms is exactly zero) and made a compact model 1.04 to 1.18 times faster.
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
