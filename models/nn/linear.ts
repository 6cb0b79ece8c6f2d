// torch.nn.Linear over the last axis: x @ Wᵀ + b. The weight is stored transposed once, so
// the graph multiplies without a Transpose node.
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';
import { floatTensor } from '../weights/tensors';

/** x @ Wᵀ (+ b) with the [out, in, ...] weight `${prefix}.weight` of `rank` axes stored as [in, out]. */
function projection(ctx: GraphContext, x: string, prefix: string, rank: number, what: string): string {
  const key = `${prefix}.weight`;
  const weightT = ctx.constant(`${key}_t`, () => {
    const outF = dimOf(ctx.sd, key, rank, 0, what);
    const inF = dimOf(ctx.sd, key, rank, 1, what);
    const t = floatTensor(ctx.sd, key);
    const transposed = new Float32Array(inF * outF);
    for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) transposed[i * outF + o] = t.data[o * inF + i] ?? 0;
    return { data: transposed, dims: [inF, outF] };
  });
  const y = ctx.g.op('MatMul', [x, weightT], {}, prefix);
  return ctx.has(`${prefix}.bias`) ? ctx.g.op('Add', [y, ctx.weight(`${prefix}.bias`)]) : y;
}

export function linear(ctx: GraphContext, x: string, prefix: string): string {
  return projection(ctx, x, prefix, 2, 'a linear weight [out, in]');
}

/**
 * A 1×1 Conv2d (weight [out, in, 1, 1]) applied to a token grid [.., C] as the Linear it
 * is: no transposes to NCHW and back around it.
 */
export function pointwiseConv(ctx: GraphContext, tokens: string, prefix: string): string {
  return projection(ctx, tokens, prefix, 4, 'a 1×1 conv weight [out, in, 1, 1]');
}
