// A planar float32 image to the tensor an ONNX model takes, and its output tensor back: the
// layout as the model record says, and float16 cast at this boundary (the graph itself is
// left in float16, so a GPU provider runs it at that precision).
import * as ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from '../readers/half';
import { inputLayout, outputImage, type OnnxIo, type Planar } from './image-io';

export function imageTensor(image: Planar, io: Pick<OnnxIo, 'layout' | 'element'>): ort.Tensor {
  const { data, dims } = inputLayout(image, io.layout);
  return io.element === 'float16'
    ? new ort.Tensor('float16', float32ToFloat16(data), dims)
    : new ort.Tensor('float32', data, dims);
}

/** The model's output as a planar float32 image, or an error naming what came out instead. */
export function tensorImage(
  tensor: ort.Tensor | undefined,
  io: Pick<OnnxIo, 'layout' | 'output'>,
  label: string,
): Planar {
  if (!tensor) throw new Error(`${label}: the model gave no output '${io.output}'`);
  let data: Float32Array;
  if (tensor.type === 'float32') data = tensor.data as Float32Array;
  else if (tensor.type === 'float16' && tensor.data instanceof Uint16Array) data = float16ToFloat32(tensor.data);
  else throw new Error(`${label}: output '${io.output}' is ${tensor.type}; expected a float32 or float16 image`);
  return outputImage(tensor.dims, data, io.layout, label);
}

/** How Upscale's own graphs are fed (and ONNX imported before records said): first input and output, NCHW float32. */
export function ownGraphIo(session: ort.InferenceSession): OnnxIo {
  return {
    input: session.inputNames[0] ?? '',
    output: session.outputNames[0] ?? '',
    layout: 'nchw',
    element: 'float32',
  };
}
