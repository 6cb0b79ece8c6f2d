// The common form every weight reader produces: named tensors as float32 (weights,
// upcast from F16/BF16) or int64 (index buffers), with their shapes.

export type TensorValues = Float32Array | BigInt64Array;

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: TensorValues;
}

/** Tensor name -> tensor, in the file's order. */
export type StateDict = Map<string, Tensor>;
