// torch.nn.Linear over the last axis: x @ Wᵀ + b. The weight is stored transposed once, so
// the graph multiplies without a Transpose node.
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';
import { floatTensor } from '../weights/tensors';

export function linear(ctx: GraphContext, x: string, prefix: string): string {
  const key = `${prefix}.weight`;
  const weightT = ctx.constant(`${key}_t`, () => {
    const outF = dimOf(ctx.sd, key, 2, 0, 'a linear weight [out, in]');
    const inF = dimOf(ctx.sd, key, 2, 1, 'a linear weight [out, in]');
    const t = floatTensor(ctx.sd, key);
    const transposed = new Float32Array(inF * outF);
    for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) transposed[i * outF + o] = t.data[o * inF + i] ?? 0;
    return { data: transposed, dims: [inF, outF] };
  });
  const y = ctx.g.op('MatMul', [x, weightT], {}, prefix);
  return ctx.has(`${prefix}.bias`) ? ctx.g.op('Add', [y, ctx.weight(`${prefix}.bias`)]) : y;
}
