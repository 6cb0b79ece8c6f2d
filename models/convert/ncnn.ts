// ncnn models (`.param` + `.bin`) converted to ONNX. Three stages, each checkable on its
// own: parse the text (ncnn-param.ts), decode every layer into a typed operation with its
// weights read from the `.bin` (pure), then emit those operations through GraphBuilder.
// Blobs are ncnn's CHW mats; in ONNX they are NCHW with N = 1, so channel axis 0 in ncnn
// is axis 1 here.
import { GraphBuilder, attr, type Attr } from '../onnx/graph';
import { GraphContext } from '../nn/context';
import { prelu } from '../nn/activation';
import { float16ToFloat32 } from '../readers/half';
import {
  NcnnLayerParams,
  describeLayer,
  parseNcnnParam,
  type NcnnLayer,
  type NcnnParamFile,
} from '../readers/ncnn-param';

export const SUPPORTED_NCNN_LAYERS = [
  'Input',
  'Split',
  'Convolution',
  'ConvolutionDepthWise',
  'PReLU',
  'ReLU',
  'Sigmoid',
  'Clip',
  'Concat',
  'Eltwise',
  'BinaryOp',
  'Interp',
  'PixelShuffle',
] as const;

/** The image models here take RGB; the ONNX input is fixed to three channels. */
const IMAGE_CHANNELS = 3;

// Storage tags at the start of a ModelBin::load(type 0) blob (ncnn src/modelbin.cpp).
const TAG_FLOAT32 = 0x00000000;
const TAG_FLOAT16 = 0x01306b47;
const TAG_INT8 = 0x000d4b38;
/** "raw data with extra scaling": ncnn reads it exactly like untagged float32. */
const TAG_FLOAT32_SCALED = 0x0002c056;

export type NcnnActivation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  | { readonly kind: 'leaky-relu'; readonly slope: number }
  | { readonly kind: 'clip'; readonly min: number; readonly max: number }
  | { readonly kind: 'sigmoid' }
  | { readonly kind: 'mish' }
  | { readonly kind: 'hard-swish'; readonly alpha: number; readonly beta: number };

export type ConvPadding =
  | {
      readonly kind: 'explicit';
      readonly top: number;
      readonly left: number;
      readonly bottom: number;
      readonly right: number;
      readonly value: number;
    }
  /** ncnn's -233 / -234: TensorFlow-style SAME, the odd pixel after (upper) or before (lower). */
  | { readonly kind: 'same-upper' | 'same-lower' };

export type BinaryOpKind = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow' | 'rsub' | 'rdiv' | 'rpow';

/** One ncnn layer, decoded: parameters resolved against ncnn's defaults, weights as float32. */
export type NcnnOperation = { readonly layer: NcnnLayer } & (
  | { readonly op: 'input'; readonly output: string }
  | { readonly op: 'alias'; readonly input: string; readonly outputs: readonly string[] }
  | {
      readonly op: 'conv';
      readonly input: string;
      readonly output: string;
      /** [outC, inC / group, kh, kw]: ncnn stores weights in the same order as ONNX. */
      readonly weightDims: readonly [number, number, number, number];
      readonly weight: Float32Array;
      readonly bias: Float32Array | undefined;
      readonly stride: readonly [number, number];
      readonly dilation: readonly [number, number];
      readonly padding: ConvPadding;
      readonly group: number;
      readonly activation: NcnnActivation;
    }
  | { readonly op: 'prelu'; readonly input: string; readonly output: string; readonly slopes: Float32Array }
  | { readonly op: 'activation'; readonly input: string; readonly output: string; readonly activation: NcnnActivation }
  | { readonly op: 'concat'; readonly inputs: readonly string[]; readonly output: string; readonly onnxAxis: number }
  | {
      readonly op: 'eltwise';
      readonly inputs: readonly string[];
      readonly output: string;
      readonly kind: 'prod' | 'sum' | 'max';
      /** Per-input factors for 'sum'; empty means all 1. */
      readonly coefficients: readonly number[];
    }
  | {
      readonly op: 'binary';
      readonly a: string;
      readonly b: string | number;
      readonly output: string;
      readonly kind: BinaryOpKind;
    }
  | {
      readonly op: 'resize';
      readonly input: string;
      readonly output: string;
      readonly mode: 'nearest' | 'linear' | 'cubic';
      readonly alignCorners: boolean;
      readonly target: { readonly kind: 'scale' | 'size'; readonly height: number; readonly width: number };
    }
  | {
      readonly op: 'pixel-shuffle';
      readonly input: string;
      readonly output: string;
      readonly factor: number;
      readonly order: 'CRD' | 'DCR';
    }
);

export interface NcnnModel {
  readonly operations: readonly NcnnOperation[];
  /** The one blob no layer consumes. */
  readonly output: string;
  /** Channel count of each blob, as far as it is implied by the layers. */
  readonly channels: ReadonlyMap<string, number>;
}

/** Sequential reader over the `.bin`, following ncnn's ModelBin::load rules. */
class NcnnWeightReader {
  private offset = 0;

  constructor(
    private readonly bin: Uint8Array,
    private readonly label: string,
  ) {}

  private take(byteCount: number, where: string, what: string): Uint8Array {
    const available = this.bin.length - this.offset;
    if (byteCount > available) {
      throw new Error(
        `${where}: ${what} needs ${byteCount} bytes at .bin offset ${this.offset}, but only ${available} remain ` +
          `(the .bin is ${this.bin.length} bytes; truncated, or not the weights of this .param)`,
      );
    }
    // A fresh copy, so typed-array views over it are aligned and sized to it (a Buffer's
    // slice() would share the pooled ArrayBuffer).
    const bytes = new Uint8Array(byteCount);
    bytes.set(this.bin.subarray(this.offset, this.offset + byteCount));
    this.offset += byteCount;
    return bytes;
  }

  /** ModelBin::load(count, 1): untagged little-endian float32 (biases, PReLU slopes). */
  raw(count: number, where: string, what: string): Float32Array {
    return new Float32Array(this.take(count * 4, where, `${what} (${count} float32 values)`).buffer);
  }

  /** ModelBin::load(count, 0): a 4-byte storage tag, then float32 or float16 data padded to 4 bytes. */
  tagged(count: number, where: string, what: string): Float32Array {
    const tagOffset = this.offset;
    const tag = new DataView(this.take(4, where, `${what}'s storage tag`).buffer).getUint32(0, true);
    if (tag === TAG_FLOAT16) {
      const byteCount = count * 2;
      const padded = Math.ceil(byteCount / 4) * 4;
      const bytes = this.take(padded, where, `${what} (${count} float16 values, padded to 4 bytes)`);
      return float16ToFloat32(new Uint16Array(bytes.buffer, 0, count));
    }
    if (tag === TAG_FLOAT32 || tag === TAG_FLOAT32_SCALED) {
      return this.raw(count, where, what);
    }
    const hex = `0x${tag.toString(16).padStart(8, '0')}`;
    if (tag === TAG_INT8) {
      throw new Error(
        `${where}: ${what} is int8-quantized (storage tag ${hex} at .bin offset ${tagOffset}); unsupported: only float32 and float16 weights can be converted`,
      );
    }
    throw new Error(
      `${where}: ${what} has storage tag ${hex} at .bin offset ${tagOffset}; unsupported: expected float32 (0x00000000) or float16 (0x01306b47) ` +
        `(any other tag is ncnn's codebook quantization, or the .bin does not match the .param)`,
    );
  }

  finish(): void {
    const left = this.bin.length - this.offset;
    if (left !== 0) {
      throw new Error(
        `${this.label}: the .bin has ${left} bytes left over after the last layer's weights (read ${this.offset} of ${this.bin.length}); ` +
          `the .param and .bin do not belong together`,
      );
    }
  }
}

function fusedActivation(p: NcnnLayerParams): NcnnActivation {
  const type = p.int(9, 0);
  const params = p.floats(10);
  const need = (n: number): void => {
    if (params.length < n)
      throw new Error(`${p.where}: activation type ${type} needs ${n} parameters in -23310, found ${params.length}`);
  };
  // After need(n), parameters below n are there.
  const param = (i: number): number => {
    const v = params[i];
    if (v === undefined) throw new RangeError(`${p.where}: activation parameter ${i} read before need()`);
    return v;
  };
  switch (type) {
    case 0:
      return { kind: 'none' };
    case 1:
      return { kind: 'relu' };
    case 2:
      need(1);
      return { kind: 'leaky-relu', slope: param(0) };
    case 3:
      need(2);
      return { kind: 'clip', min: param(0), max: param(1) };
    case 4:
      return { kind: 'sigmoid' };
    case 5:
      return { kind: 'mish' };
    case 6:
      need(2);
      return { kind: 'hard-swish', alpha: param(0), beta: param(1) };
    default:
      throw new Error(
        `${p.where}: activation type ${type} (parameter 9) is not supported; expected 0 none, 1 ReLU, 2 LeakyReLU, 3 Clip, 4 Sigmoid, 5 Mish, 6 HardSwish`,
      );
  }
}

function positive(p: NcnnLayerParams, value: number, meaning: string): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${p.where}: ${meaning} is ${value}, expected a positive integer`);
  return value;
}

function convPadding(p: NcnnLayerParams): ConvPadding {
  const left = p.int(4, 0);
  const right = p.int(15, left);
  const top = p.int(14, left);
  const bottom = p.int(16, top);
  const value = p.float(18, 0);
  const all = [top, left, bottom, right];
  for (const [marker, kind] of [
    [-233, 'same-upper'],
    [-234, 'same-lower'],
  ] as const) {
    if (all.every((v) => v === marker)) {
      if (value !== 0)
        throw new Error(
          `${p.where}: SAME padding (${marker}) with pad_value ${value} is not supported; expected pad_value 0`,
        );
      return { kind };
    }
  }
  if (all.some((v) => v < 0)) {
    throw new Error(
      `${p.where}: padding top/left/bottom/right = ${all.join('/')} is not supported; expected non-negative pads, or all four -233 (SAME_UPPER) or -234 (SAME_LOWER)`,
    );
  }
  return { kind: 'explicit', top, left, bottom, right, value };
}

function one<T>(items: readonly T[], p: NcnnLayerParams, what: string): T {
  const [item] = items;
  if (items.length !== 1 || item === undefined)
    throw new Error(`${p.where}: expected 1 ${what} blob, found ${items.length}`);
  return item;
}

function sameChannels(p: NcnnLayerParams, counts: readonly number[]): number {
  // Broadcasting lets a single-channel operand meet any channel count.
  const wide = counts.filter((c) => c !== 1);
  const first = wide[0] ?? 1;
  if (wide.some((c) => c !== first))
    throw new Error(`${p.where}: inputs have ${counts.join(', ')} channels, expected equal counts`);
  return first;
}

const BINARY_OPS: readonly (BinaryOpKind | undefined)[] = [
  'add',
  'sub',
  'mul',
  'div',
  'max',
  'min',
  'pow',
  'rsub',
  'rdiv',
  'rpow',
];

/**
 * Decodes every layer and reads its weights, checking channel counts as it goes (the
 * input is RGB, so every blob's channel count is known). Pure: no ONNX is built here.
 */
export function decodeNcnnModel(param: NcnnParamFile, bin: Uint8Array, label: string): NcnnModel {
  const weights = new NcnnWeightReader(bin, label);
  const channels = new Map<string, number>();
  const operations: NcnnOperation[] = [];
  const channelsOf = (blob: string): number => channels.get(blob) as number;

  for (const layer of param.layers) {
    const p = new NcnnLayerParams(layer, label);
    const input = (): string => one(layer.inputs, p, 'input');
    const output = (): string => one(layer.outputs, p, 'output');
    const push = (operation: NcnnOperation, outChannels: number): void => {
      operations.push(operation);
      for (const blob of layer.outputs) channels.set(blob, outChannels);
    };

    switch (layer.type) {
      case 'Input': {
        if (operations.some((o) => o.op === 'input'))
          throw new Error(`${p.where}: a second Input layer; only single-input models are supported`);
        if (layer.inputs.length !== 0)
          throw new Error(`${p.where}: an Input layer reads no blobs, found ${layer.inputs.length}`);
        const declared = p.int(2, 0);
        if (declared !== 0 && declared !== IMAGE_CHANNELS) {
          throw new Error(`${p.where}: declares ${declared} input channels, expected ${IMAGE_CHANNELS} (RGB)`);
        }
        push({ layer, op: 'input', output: output() }, IMAGE_CHANNELS);
        break;
      }
      case 'Split': {
        const from = input();
        push({ layer, op: 'alias', input: from, outputs: layer.outputs }, channelsOf(from));
        break;
      }
      case 'Convolution':
      case 'ConvolutionDepthWise': {
        const from = input();
        const inChannels = channelsOf(from);
        const outChannels = positive(p, p.int(0, 0), 'num_output (parameter 0)');
        const kernelW = positive(p, p.int(1, 0), 'kernel_w (parameter 1)');
        const kernelH = positive(p, p.int(11, kernelW), 'kernel_h (parameter 11)');
        const dilationW = positive(p, p.int(2, 1), 'dilation_w (parameter 2)');
        const dilationH = positive(p, p.int(12, dilationW), 'dilation_h (parameter 12)');
        const strideW = positive(p, p.int(3, 1), 'stride_w (parameter 3)');
        const strideH = positive(p, p.int(13, strideW), 'stride_h (parameter 13)');
        const group = layer.type === 'ConvolutionDepthWise' ? positive(p, p.int(7, 1), 'group (parameter 7)') : 1;
        const padding = convPadding(p);
        const biasTerm = p.int(5, 0);
        const weightSize = p.int(6, 0);
        p.rejectUnless(8, (v) => v.kind === 'int' && v.value === 0, 'int8_scale_term: int8 inference');
        p.rejectUnless(19, (v) => v.kind === 'int' && v.value === 0, 'dynamic_weight');
        const activation = fusedActivation(p);
        if (inChannels % group !== 0 || outChannels % group !== 0) {
          throw new Error(
            `${p.where}: group ${group} does not divide ${inChannels} input and ${outChannels} output channels`,
          );
        }
        const expectedSize = outChannels * (inChannels / group) * kernelH * kernelW;
        if (weightSize !== expectedSize) {
          throw new Error(
            `${p.where}: weight_data_size (parameter 6) is ${weightSize}, expected ${expectedSize} ` +
              `(${outChannels} outputs x ${inChannels / group} inputs per group x ${kernelH}x${kernelW} kernel, for a ${inChannels}-channel input)`,
          );
        }
        const weight = weights.tagged(weightSize, p.where, 'weight data');
        const bias = biasTerm ? weights.raw(outChannels, p.where, 'bias data') : undefined;
        push(
          {
            layer,
            op: 'conv',
            input: from,
            output: output(),
            weightDims: [outChannels, inChannels / group, kernelH, kernelW],
            weight,
            bias,
            stride: [strideH, strideW],
            dilation: [dilationH, dilationW],
            padding,
            group,
            activation,
          },
          outChannels,
        );
        break;
      }
      case 'PReLU': {
        const from = input();
        const count = positive(p, p.int(0, 0), 'num_slope (parameter 0)');
        if (count !== 1 && count !== channelsOf(from)) {
          throw new Error(`${p.where}: num_slope is ${count}, expected 1 or the input's ${channelsOf(from)} channels`);
        }
        const slopes = weights.raw(count, p.where, 'slope data');
        push({ layer, op: 'prelu', input: from, output: output(), slopes }, channelsOf(from));
        break;
      }
      case 'ReLU': {
        const from = input();
        const slope = p.float(0, 0);
        const activation: NcnnActivation = slope === 0 ? { kind: 'relu' } : { kind: 'leaky-relu', slope };
        push({ layer, op: 'activation', input: from, output: output(), activation }, channelsOf(from));
        break;
      }
      case 'Sigmoid': {
        const from = input();
        push(
          { layer, op: 'activation', input: from, output: output(), activation: { kind: 'sigmoid' } },
          channelsOf(from),
        );
        break;
      }
      case 'Clip': {
        const from = input();
        const activation: NcnnActivation = {
          kind: 'clip',
          min: p.float(0, -3.4028234663852886e38),
          max: p.float(1, 3.4028234663852886e38),
        };
        push({ layer, op: 'activation', input: from, output: output(), activation }, channelsOf(from));
        break;
      }
      case 'Concat': {
        if (layer.inputs.length === 0) throw new Error(`${p.where}: Concat needs at least one input`);
        const axis = p.int(0, 0);
        // Blobs here are CHW; ncnn counts negative axes from the end, like ONNX.
        const chwAxis = axis < 0 ? axis + 3 : axis;
        if (chwAxis < 0 || chwAxis > 2)
          throw new Error(`${p.where}: axis ${axis} is out of range for a CHW blob; expected -3..2`);
        const counts = layer.inputs.map(channelsOf);
        const outChannels = chwAxis === 0 ? counts.reduce((a, b) => a + b, 0) : sameChannels(p, counts);
        push({ layer, op: 'concat', inputs: layer.inputs, output: output(), onnxAxis: chwAxis + 1 }, outChannels);
        break;
      }
      case 'Eltwise': {
        if (layer.inputs.length === 0) throw new Error(`${p.where}: Eltwise needs at least one input`);
        const opType = p.int(0, 0);
        const kind = (['prod', 'sum', 'max'] as const)[opType];
        if (kind === undefined)
          throw new Error(`${p.where}: op_type ${opType} is not supported; expected 0 prod, 1 sum, 2 max`);
        const coefficients = kind === 'sum' ? p.floats(1) : [];
        if (coefficients.length !== 0 && coefficients.length !== layer.inputs.length) {
          throw new Error(
            `${p.where}: ${coefficients.length} coefficients (parameter -23301) for ${layer.inputs.length} inputs; expected one per input`,
          );
        }
        const outChannels = sameChannels(p, layer.inputs.map(channelsOf));
        push({ layer, op: 'eltwise', inputs: layer.inputs, output: output(), kind, coefficients }, outChannels);
        break;
      }
      case 'BinaryOp': {
        const opType = p.int(0, 0);
        const kind = BINARY_OPS[opType];
        if (kind === undefined) {
          throw new Error(
            `${p.where}: op_type ${opType} is not supported; expected 0..9 (add, sub, mul, div, max, min, pow, rsub, rdiv, rpow)`,
          );
        }
        const withScalar = p.int(1, 0) !== 0;
        const expectedInputs = withScalar ? 1 : 2;
        if (layer.inputs.length !== expectedInputs) {
          throw new Error(
            `${p.where}: with_scalar=${withScalar ? 1 : 0} takes ${expectedInputs} input blobs, found ${layer.inputs.length}`,
          );
        }
        const [a, second] = layer.inputs;
        if (a === undefined || (!withScalar && second === undefined))
          throw new RangeError(`${p.where}: input blobs checked above are missing`);
        const b = withScalar ? p.float(2, 0) : (second ?? a);
        const outChannels = typeof b === 'number' ? channelsOf(a) : sameChannels(p, [channelsOf(a), channelsOf(b)]);
        push({ layer, op: 'binary', a, b, output: output(), kind }, outChannels);
        break;
      }
      case 'Interp': {
        const from = input();
        const resizeType = p.int(0, 0);
        const mode = (['nearest', 'linear', 'cubic'] as const)[resizeType - 1];
        if (mode === undefined)
          throw new Error(
            `${p.where}: resize_type ${resizeType} is not supported; expected 1 nearest, 2 bilinear, 3 bicubic`,
          );
        p.rejectUnless(5, (v) => v.kind === 'int' && v.value === 0, 'dynamic_target_size');
        p.rejectUnless(9, () => false, 'size_expr');
        const height = p.int(3, 0);
        const width = p.int(4, 0);
        // ncnn uses the fixed size only when both are given, otherwise the scales.
        const target =
          height > 0 && width > 0
            ? { kind: 'size' as const, height, width }
            : { kind: 'scale' as const, height: p.float(1, 1), width: p.float(2, 1) };
        if (!(target.height > 0 && target.width > 0)) {
          throw new Error(`${p.where}: output scale ${target.height} x ${target.width} is not positive`);
        }
        push(
          { layer, op: 'resize', input: from, output: output(), mode, alignCorners: p.int(6, 0) !== 0, target },
          channelsOf(from),
        );
        break;
      }
      case 'PixelShuffle': {
        const from = input();
        const factor = positive(p, p.int(0, 1), 'upscale_factor (parameter 0)');
        const mode = p.int(1, 0);
        // mode 0 reads input channel c*r*r + dy*r + dx (PyTorch's order, ONNX CRD);
        // mode 1 reads (dy*r + dx)*C + c (ONNX DCR).
        const order = mode === 0 ? 'CRD' : mode === 1 ? 'DCR' : undefined;
        if (order === undefined) throw new Error(`${p.where}: mode ${mode} is not supported; expected 0 or 1`);
        const inChannels = channelsOf(from);
        if (inChannels % (factor * factor) !== 0) {
          throw new Error(
            `${p.where}: ${inChannels} input channels are not divisible by upscale_factor^2 = ${factor * factor}`,
          );
        }
        push(
          { layer, op: 'pixel-shuffle', input: from, output: output(), factor, order },
          inChannels / (factor * factor),
        );
        break;
      }
      default:
        throw new Error(
          `${describeLayer(label, layer)}: layer type '${layer.type}' is not supported; supported types: ${SUPPORTED_NCNN_LAYERS.join(', ')}`,
        );
    }
  }
  weights.finish();

  if (!operations.some((o) => o.op === 'input')) throw new Error(`${label}: the model has no Input layer`);
  const consumed = new Set(param.layers.flatMap((l) => l.inputs));
  const outputs = param.layers.flatMap((l) => l.outputs).filter((b) => !consumed.has(b));
  if (outputs.length !== 1) {
    throw new Error(
      `${label}: expected exactly one output blob (produced but never read), found ${outputs.length}: ${outputs.join(', ')}`,
    );
  }
  const [output] = outputs;
  if (output === undefined) throw new RangeError(`${label}: the one output blob checked above is missing`);
  if (channelsOf(output) !== IMAGE_CHANNELS) {
    throw new Error(
      `${label}: the output blob '${output}' has ${channelsOf(output)} channels, expected ${IMAGE_CHANNELS} (RGB)`,
    );
  }
  return { operations, output, channels };
}

/** Emits decoded operations as ONNX nodes; one instance per graph. */
class NcnnEmitter {
  private readonly values = new Map<string, string>();
  private readonly ctx: GraphContext;

  constructor(private readonly g: GraphBuilder) {
    this.ctx = new GraphContext(g, new Map());
  }

  bind(blob: string, value: string): void {
    this.values.set(blob, value);
  }

  value(blob: string): string {
    const v = this.values.get(blob);
    if (v === undefined) throw new Error(`internal: blob '${blob}' has no ONNX value`);
    return v;
  }

  scalar(value: number): string {
    return this.ctx.scalar(value);
  }

  activation(x: string, a: NcnnActivation, hint: string): string {
    const g = this.g;
    switch (a.kind) {
      case 'none':
        return x;
      case 'relu':
        return g.op('Relu', [x], {}, hint);
      case 'leaky-relu':
        return g.op('LeakyRelu', [x], { alpha: attr.float(a.slope) }, hint);
      case 'clip':
        return g.op('Clip', [x, this.scalar(a.min), this.scalar(a.max)], {}, hint);
      case 'sigmoid':
        return g.op('Sigmoid', [x], {}, hint);
      case 'mish': {
        // Mish only arrived in opset 18.
        const t = g.op('Tanh', [g.op('Softplus', [x], {}, `${hint}_softplus`)], {}, `${hint}_tanh`);
        return g.op('Mul', [x, t], {}, hint);
      }
      case 'hard-swish': {
        // ONNX HardSwish fixes alpha = 1/6, beta = 1/2; ncnn lets the file choose them.
        const gate = g.op('HardSigmoid', [x], { alpha: attr.float(a.alpha), beta: attr.float(a.beta) }, `${hint}_gate`);
        return g.op('Mul', [x, gate], {}, hint);
      }
    }
  }

  conv(o: Extract<NcnnOperation, { op: 'conv' }>): string {
    const g = this.g;
    const hint = o.layer.name;
    let x = this.value(o.input);
    const attrs: Record<string, Attr> = {
      kernel_shape: attr.ints([o.weightDims[2], o.weightDims[3]]),
      strides: attr.ints(o.stride),
      dilations: attr.ints(o.dilation),
      group: attr.int(o.group),
    };
    const pad = o.padding;
    if (pad.kind === 'explicit') {
      const pads = [pad.top, pad.left, pad.bottom, pad.right];
      if (pad.value !== 0) {
        // Conv can only pad with zeros.
        const padSpec = g.i64(`${hint}_pads`, [0, 0, pad.top, pad.left, 0, 0, pad.bottom, pad.right]);
        x = g.op('Pad', [x, padSpec, this.scalar(pad.value)], { mode: attr.string('constant') }, `${hint}_pad`);
      } else {
        attrs['pads'] = attr.ints(pads);
      }
    } else {
      attrs['auto_pad'] = attr.string(pad.kind === 'same-upper' ? 'SAME_UPPER' : 'SAME_LOWER');
    }
    const inputs = [x, g.initializer(`${hint}_weight`, o.weight, o.weightDims)];
    if (o.bias) inputs.push(g.initializer(`${hint}_bias`, o.bias, [o.bias.length]));
    const y = g.op('Conv', inputs, attrs, o.activation.kind === 'none' ? hint : `${hint}_conv`);
    return this.activation(y, o.activation, hint);
  }

  resize(o: Extract<NcnnOperation, { op: 'resize' }>): string {
    const g = this.g;
    const hint = o.layer.name;
    const x = this.value(o.input);
    const attrs: Record<string, Attr> = { mode: attr.string(o.mode) };
    if (o.mode === 'nearest') {
      // ncnn picks source pixel floor(dst * (1 / scale)): PyTorch's 'nearest'.
      attrs['coordinate_transformation_mode'] = attr.string('asymmetric');
      attrs['nearest_mode'] = attr.string('floor');
    } else {
      attrs['coordinate_transformation_mode'] = attr.string(o.alignCorners ? 'align_corners' : 'half_pixel');
      if (o.mode === 'cubic') attrs['cubic_coeff_a'] = attr.float(-0.75);
    }
    if (o.target.kind === 'scale' && o.mode === 'nearest') {
      const scales = g.f32(`${hint}_scales`, [1, 1, o.target.height, o.target.width]);
      return g.op('Resize', [x, '', scales], attrs, hint);
    }
    // Everything else goes through explicit sizes: ncnn's linear and cubic sample at
    // in/out size ratios, which is what ONNX Resize does when it is given sizes.
    const shape = g.op('Shape', [x], {}, `${hint}_shape`);
    const batchAndChannels = g.op(
      'Slice',
      [shape, g.i64(`${hint}_start`, [0]), g.i64(`${hint}_end`, [2])],
      {},
      `${hint}_nc`,
    );
    let spatial: string;
    if (o.target.kind === 'size') {
      spatial = g.i64(`${hint}_size`, [o.target.height, o.target.width]);
    } else {
      // ncnn: (int)(w * width_scale), the product taken in float32.
      const hw = g.op('Slice', [shape, g.i64(`${hint}_hw_start`, [2]), g.i64(`${hint}_hw_end`, [4])], {}, `${hint}_hw`);
      const hwFloat = g.op('Cast', [hw], { to: attr.int(1) }, `${hint}_hw_f`);
      const scaled = g.op(
        'Mul',
        [hwFloat, g.f32(`${hint}_scale`, [o.target.height, o.target.width])],
        {},
        `${hint}_hw_scaled`,
      );
      spatial = g.op('Cast', [g.op('Floor', [scaled], {}, `${hint}_hw_floor`)], { to: attr.int(7) }, `${hint}_hw_out`);
    }
    const sizes = g.op('Concat', [batchAndChannels, spatial], { axis: attr.int(0) }, `${hint}_sizes`);
    return g.op('Resize', [x, '', '', sizes], attrs, hint);
  }

  emit(o: NcnnOperation): void {
    const g = this.g;
    const hint = o.layer.name;
    switch (o.op) {
      case 'input':
        return;
      case 'alias': {
        const v = this.value(o.input);
        for (const blob of o.outputs) this.bind(blob, v);
        return;
      }
      case 'conv':
        return this.bind(o.output, this.conv(o));
      case 'prelu': {
        // [C, 1, 1] broadcasts over NCHW's channel axis; a single slope applies everywhere.
        const dims = o.slopes.length === 1 ? [1] : [o.slopes.length, 1, 1];
        const slope = g.initializer(`${hint}_slope`, o.slopes, dims);
        return this.bind(o.output, prelu(this.ctx, this.value(o.input), slope));
      }
      case 'activation':
        return this.bind(o.output, this.activation(this.value(o.input), o.activation, hint));
      case 'concat': {
        const inputs = o.inputs.map((b) => this.value(b));
        return this.bind(o.output, g.op('Concat', inputs, { axis: attr.int(o.onnxAxis) }, hint));
      }
      case 'eltwise': {
        let terms = o.inputs.map((b) => this.value(b));
        if (o.kind === 'sum' && o.coefficients.length > 0) {
          terms = terms.map((t, i) => {
            const c = o.coefficients[i];
            if (c === undefined) throw new RangeError(`${hint}: no coefficient for input ${i}`);
            return c === 1 ? t : g.op('Mul', [t, this.scalar(c)], {}, `${hint}_term${i}`);
          });
        }
        const opType = o.kind === 'prod' ? 'Mul' : o.kind === 'sum' ? 'Add' : 'Max';
        const [first, ...rest] = terms;
        if (first === undefined) throw new RangeError(`${hint}: an Eltwise with no inputs`);
        const acc =
          rest.length === 0
            ? g.op('Identity', [first], {}, hint)
            : rest.reduce((sum, t) => g.op(opType, [sum, t], {}, hint), first);
        return this.bind(o.output, acc);
      }
      case 'binary': {
        const a = this.value(o.a);
        const b = typeof o.b === 'number' ? this.scalar(o.b) : this.value(o.b);
        const reversed = o.kind === 'rsub' || o.kind === 'rdiv' || o.kind === 'rpow';
        const opType = {
          add: 'Add',
          sub: 'Sub',
          mul: 'Mul',
          div: 'Div',
          max: 'Max',
          min: 'Min',
          pow: 'Pow',
          rsub: 'Sub',
          rdiv: 'Div',
          rpow: 'Pow',
        }[o.kind];
        return this.bind(o.output, g.op(opType, reversed ? [b, a] : [a, b], {}, hint));
      }
      case 'resize':
        return this.bind(o.output, this.resize(o));
      case 'pixel-shuffle': {
        const y = g.op(
          'DepthToSpace',
          [this.value(o.input)],
          { blocksize: attr.int(o.factor), mode: attr.string(o.order) },
          hint,
        );
        return this.bind(o.output, y);
      }
    }
  }
}

/** Builds the ONNX graph for a decoded model: input `input` [1,3,H,W], output `output`. */
export function emitNcnnModel(model: NcnnModel, label: string): Uint8Array {
  const g = new GraphBuilder(label);
  const input = g.input('input', [1, IMAGE_CHANNELS, 'height', 'width']);
  // Reserved so that an ncnn blob called 'output' cannot take the graph output's name.
  g.name('output');
  const emitter = new NcnnEmitter(g);
  for (const o of model.operations) {
    if (o.op === 'input') emitter.bind(o.output, input);
    else emitter.emit(o);
  }
  g.output(emitter.value(model.output), 'output', [1, IMAGE_CHANNELS, 'out_height', 'out_width']);
  return g.toBytes(`converted from ncnn model ${label}`);
}

/**
 * Converts an ncnn model to ONNX. `label` names the model in every error message (use the
 * file name). Input values are RGB in [0, 1], as the ncnn models themselves expect.
 */
export function convertNcnn(param: string, bin: Uint8Array, label: string): Uint8Array {
  const parsed = parseNcnnParam(param, label);
  return emitNcnnModel(decodeNcnnModel(parsed, bin, label), label);
}
