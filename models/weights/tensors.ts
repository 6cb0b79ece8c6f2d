// Reading a state dict's tensors by key. Every architecture reports a problem with its
// weights through WeightError, in one style: a missing tensor names the key and what was
// expected of it, a mis-shaped one names the key, the shape found and the shape expected.
import type { StateDict, Tensor } from './state-dict';

/** A tensor the architecture needs is missing, mis-shaped or of the wrong kind. */
export class WeightError extends Error {
  constructor(
    /** The tensor (or key prefix) the problem is about. */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The tensor under `key`; `expected` says what it should be when it is missing. */
export function tensorAt(sd: StateDict, key: string, expected: string): Tensor {
  const t = sd.get(key);
  if (!t) throw new WeightError(key, `the weights have no tensor '${key}' (expected ${expected})`);
  return t;
}

/** The tensor under `key` as float32 values. */
export function floatTensor(sd: StateDict, key: string): Tensor & { readonly data: Float32Array } {
  const t = tensorAt(sd, key, 'a floating-point tensor');
  if (!(t.data instanceof Float32Array)) {
    throw new WeightError(key, `tensor '${key}' holds integers, expected floating-point values`);
  }
  return t as Tensor & { readonly data: Float32Array };
}

/** Element `index` of a stored tensor as a number (float or int64 buffers alike). */
export function valueAt(t: Tensor, index: number): number {
  return Number(t.data[index]);
}
