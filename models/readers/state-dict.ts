// The common form every weight reader produces: named tensors as float32 (weights,
// upcast from F16/BF16) or int64 (index buffers), with their shapes.

export type TensorValues = Float32Array | BigInt64Array;

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: TensorValues;
}

/** Tensor name -> tensor, in the file's order. */
export type StateDict = Map<string, Tensor>;

/** The tensor as float32, or a clear error naming the key. */
export function floatTensor(sd: StateDict, key: string): Tensor & { readonly data: Float32Array } {
  const t = sd.get(key);
  if (!t) throw new Error(`the weights have no tensor '${key}'`);
  if (!(t.data instanceof Float32Array)) throw new Error(`tensor '${key}' is not floating point`);
  return t as Tensor & { readonly data: Float32Array };
}
