// How an ONNX file takes and gives its image, read from what the file declares: which input
// and output, NCHW or NHWC, float32 or float16, and a fixed size if it has one. Files from
// elsewhere (chaiNNer's exports, TensorFlow conversions) differ from Upscale's own in all of
// these; what is learned here at import goes on the model record, so the engine feeds the
// model without looking again. What is not one image in and one image out is refused here,
// with the reason. Pure: declared values in, a description or an error naming the file out.

/** Where the channels sit: [1, 3, H, W] or [1, H, W, 3]. */
export type OnnxLayout = 'nchw' | 'nhwc';

/** The element type the model's input takes. */
export type OnnxElement = 'float32' | 'float16';

/** How the engine feeds an ONNX model and reads its result: recorded at import. */
export interface OnnxIo {
  readonly input: string;
  readonly output: string;
  readonly layout: OnnxLayout;
  readonly element: OnnxElement;
  /** The one input size the file accepts, when it fixes its height and width. */
  readonly fixedSize?: { readonly width: number; readonly height: number };
}

/** A graph input or output as the file declares it. */
export interface DeclaredValue {
  readonly name: string;
  /** onnx.TensorProto.DataType, or null when the value is not a tensor. */
  readonly elemType: number | null;
  /** A number when fixed, a string (possibly empty) when symbolic; null when no shape is declared. */
  readonly dims: readonly (number | string)[] | null;
}

/** onnx.TensorProto.DataType values this module reads. */
const FLOAT = 1;
const FLOAT16 = 10;
const ELEMENT_NAMES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

/** The planar image the engine works in (structurally daemon/image/types' PlanarImage). */
export interface Planar {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

export function describeDims(dims: readonly (number | string)[]): string {
  return `[${dims.map((d) => (typeof d === 'number' ? String(d) : d || '?')).join(', ')}]`;
}

const names = (values: readonly DeclaredValue[]): string => values.map((v) => `'${v.name}'`).join(', ') || 'none';

function elementOf(value: DeclaredValue, label: string, what: string): OnnxElement {
  if (value.elemType === FLOAT) return 'float32';
  if (value.elemType === FLOAT16) return 'float16';
  const type =
    value.elemType === null ? 'not a tensor' : (ELEMENT_NAMES[value.elemType] ?? `element type ${value.elemType}`);
  throw new Error(`${label}: ${what} '${value.name}' is ${type}; expected a float32 or float16 image tensor`);
}

/** A fixed axis small enough to be channels (grey to RGBA). */
const channelLike = (d: number | string | undefined): boolean => typeof d === 'number' && d >= 1 && d <= 4;

/** NCHW when the second axis could be channels (or neither says), NHWC when only the last could. */
function layoutOf(dims: readonly (number | string)[]): OnnxLayout {
  return !channelLike(dims[1]) && channelLike(dims[3]) ? 'nhwc' : 'nchw';
}

/**
 * The image input and output of a graph, or the reason it is not an image-to-image model:
 * one input, rank 4 (a rank-5 input is a stack of frames, as video models take), 3 channels
 * first or last, batch 1, float32 or float16; one output, rank 4 where it is declared.
 * `inputs` excludes initializers (old IR versions list them as inputs too).
 */
export function imageIo(inputs: readonly DeclaredValue[], outputs: readonly DeclaredValue[], label: string): OnnxIo {
  const [input] = inputs;
  if (inputs.length !== 1 || input === undefined) {
    throw new Error(
      `${label}: not an image-to-image model: it has ${inputs.length} inputs (${names(inputs)}); expected exactly one image input [1, 3, height, width]`,
    );
  }
  const element = elementOf(input, label, 'input');
  const dims = input.dims;
  if (dims?.length === 5) {
    throw new Error(
      `${label}: not an image-to-image model: input '${input.name}' has rank 5 ${describeDims(dims)}, a stack of frames as video models take; expected one image [1, 3, height, width]`,
    );
  }
  if (!dims || dims.length !== 4) {
    throw new Error(
      `${label}: input '${input.name}' has ${dims ? `rank ${dims.length} ${describeDims(dims)}` : 'no declared shape'}; expected rank 4 [1, 3, height, width] (or [1, height, width, 3])`,
    );
  }
  const layout = layoutOf(dims);
  const [batch, channels, height, width] = layout === 'nchw' ? dims : [dims[0], dims[3], dims[1], dims[2]];
  if (typeof batch === 'number' && batch !== 1) {
    throw new Error(
      `${label}: input '${input.name}' has a fixed batch of ${batch} ${describeDims(dims)}; expected 1 or a dynamic batch`,
    );
  }
  if (typeof channels === 'number' && channels !== 3) {
    throw new Error(
      `${label}: input '${input.name}' takes ${channels} channels ${describeDims(dims)}; expected 3 (RGB)`,
    );
  }
  if ((typeof height === 'number') !== (typeof width === 'number')) {
    throw new Error(
      `${label}: input '${input.name}' fixes one side but not the other ${describeDims(dims)}; expected both fixed or both dynamic`,
    );
  }
  const fixedSize = typeof height === 'number' && typeof width === 'number' ? { width, height } : undefined;

  const [output] = outputs;
  if (outputs.length !== 1 || output === undefined) {
    throw new Error(
      `${label}: not an image-to-image model: it has ${outputs.length} outputs (${names(outputs)}); expected exactly one image output`,
    );
  }
  if (output.dims && output.dims.length !== 4) {
    throw new Error(
      `${label}: not an image-to-image model: output '${output.name}' has rank ${output.dims.length} ${describeDims(output.dims)}, which is not an image; expected rank 4 [1, 3, k*height, k*width]`,
    );
  }
  elementOf(output, label, 'output');
  return { input: input.name, output: output.name, layout, element, ...(fixedSize && { fixedSize }) };
}

/** The tensor the model takes for a planar image: reordered for NHWC (the element type is the runtime's concern). */
export function inputLayout(image: Planar, layout: OnnxLayout): { data: Float32Array; dims: number[] } {
  const { width, height, channels, data } = image;
  if (layout === 'nchw') return { data, dims: [1, channels, height, width] };
  const plane = width * height;
  const out = new Float32Array(data.length);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) out[i * channels + c] = data[c * plane + i] ?? 0;
  }
  return { data: out, dims: [1, height, width, channels] };
}

/** The output's dims as [batch, channels, height, width], whatever its layout; null when not rank 4. */
export function nchwDims(dims: readonly number[], layout: OnnxLayout): [number, number, number, number] | null {
  if (dims.length !== 4) return null;
  const [n, a, b, c] = dims as [number, number, number, number];
  return layout === 'nchw' ? [n, a, b, c] : [n, c, a, b];
}

/** A model's output tensor (already float32) as a planar image. */
export function outputImage(dims: readonly number[], data: Float32Array, layout: OnnxLayout, label: string): Planar {
  const nchw = nchwDims(dims, layout);
  if (!nchw || nchw[0] !== 1) {
    throw new Error(`${label}: the model's output has shape [${dims.join(', ')}]; expected one ${layout} image`);
  }
  const [, channels, height, width] = nchw;
  if (layout === 'nchw') return { width, height, channels, data };
  const plane = width * height;
  const out = new Float32Array(data.length);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) out[c * plane + i] = data[i * channels + c] ?? 0;
  }
  return { width, height, channels, data: out };
}

/** Whether a value read back from a model record is an OnnxIo (a hand-edited record may hold anything). Pure. */
export function isOnnxIo(v: unknown): v is OnnxIo {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const size = r.fixedSize as Record<string, unknown> | undefined;
  const side = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 1;
  return (
    typeof r.input === 'string' &&
    typeof r.output === 'string' &&
    (r.layout === 'nchw' || r.layout === 'nhwc') &&
    (r.element === 'float32' || r.element === 'float16') &&
    (size === undefined || (typeof size === 'object' && size !== null && side(size.width) && side(size.height)))
  );
}
