// A Keras layer graph (from a TF.js layers-model) emitted as ONNX. Keras tensors are NHWC;
// the ONNX graph is built natively in NCHW instead of transposing around every layer:
// kernels become OIHW, channel axes move from 3 to 1, and TF's depth_to_space (which
// reads input channel (dy*r + dx)*C + c) is ONNX DepthToSpace in DCR mode. Two stages as
// for ncnn: decode every layer into a typed operation with its weights checked (pure),
// then emit the operations.
import { GraphBuilder, attr, type Attr } from '../onnx/graph';
import {
  decodeTfjsWeights,
  parseTfjsModelJson,
  type KerasLayer,
  type KerasModel,
  type TfjsTensor,
} from '../readers/tfjs';

export const SUPPORTED_KERAS_LAYERS = [
  'InputLayer',
  'Conv2D',
  'Activation',
  'Add',
  'Concatenate',
  'UpSampling2D',
  // UpscalerJS's custom layers (registered by its model packages' setup()).
  'MultiplyBeta',
  'PixelShuffle<r>x',
] as const;

const IMAGE_CHANNELS = 3;

export type KerasActivation = 'linear' | 'relu';

export type KerasOperation = { readonly layer: KerasLayer } & (
  | { readonly op: 'input' }
  | {
      readonly op: 'conv';
      readonly input: string;
      /** OIHW, as ONNX Conv wants. */
      readonly weightDims: readonly [number, number, number, number];
      readonly weight: Float32Array;
      readonly bias: Float32Array | undefined;
      readonly dilation: readonly [number, number];
      /** top, left, bottom, right */
      readonly pads: readonly [number, number, number, number];
      readonly activation: KerasActivation;
    }
  | { readonly op: 'activation'; readonly input: string; readonly activation: KerasActivation }
  | { readonly op: 'add'; readonly inputs: readonly string[] }
  | { readonly op: 'concat'; readonly inputs: readonly string[]; readonly nchwAxis: number }
  | { readonly op: 'upsample-nearest'; readonly input: string; readonly factors: readonly [number, number] }
  | { readonly op: 'scale'; readonly input: string; readonly factor: number }
  | { readonly op: 'depth-to-space'; readonly input: string; readonly blockSize: number }
);

export interface DecodedKerasModel {
  readonly operations: readonly KerasOperation[];
  /** Name of the layer whose output is the model's output. */
  readonly output: string;
}

/** The value range the network's pixels are in; UpscalerJS records it beside each model, not in model.json. */
export interface PixelRanges {
  /** Upper bound of the input range (lower bound 0): 1 or 255. */
  readonly inputMax: number;
  readonly outputMax: number;
}

/** UpscalerJS's MultiplyBeta ignores its config and multiplies by this constant. */
const UPSCALERJS_BETA = 0.2;

class LayerConfig {
  readonly where: string;

  constructor(
    readonly layer: KerasLayer,
    label: string,
  ) {
    this.where = `${label}: layer '${layer.name}' (${layer.className})`;
  }

  fail(problem: string): never {
    throw new Error(`${this.where}: ${problem}`);
  }

  /** The config value, or `fallback` when absent; refuses anything outside `allowed`. */
  oneOf<T extends string | number | boolean>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.layer.config[key] ?? fallback;
    if (!allowed.includes(v as T))
      this.fail(`${key} is ${JSON.stringify(v)}; supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return v as T;
  }

  pair(key: string, fallback: readonly [number, number]): [number, number] {
    const v = this.layer.config[key] ?? fallback;
    const pair: unknown = typeof v === 'number' ? [v, v] : v;
    const [a, b]: readonly unknown[] = Array.isArray(pair) && pair.length === 2 ? (pair as readonly unknown[]) : [];
    const positive = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;
    if (!positive(a) || !positive(b))
      return this.fail(`${key} is ${JSON.stringify(v)}, expected two positive integers`);
    return [a, b];
  }

  activation(key: string): KerasActivation {
    return this.oneOf<KerasActivation>(key, ['linear', 'relu'], 'linear');
  }
}

function weight(
  weights: ReadonlyMap<string, TfjsTensor>,
  used: Set<string>,
  c: LayerConfig,
  suffix: string,
  shape: readonly (number | null)[],
): TfjsTensor {
  const name = `${c.layer.name}/${suffix}`;
  const t = weights.get(name);
  if (!t) c.fail(`weight '${name}' is not in the weightsManifest`);
  const fits = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!fits)
    c.fail(`weight '${name}' has shape [${t.shape.join(', ')}], expected [${shape.map((d) => d ?? '?').join(', ')}]`);
  used.add(name);
  return t;
}

/** HWIO (Keras) to OIHW (ONNX). */
function kernelToOihw(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) {
          const w = k[src + o];
          if (w === undefined) throw new RangeError(`kernel element ${src + o} is outside ${kh}x${kw}x${cin}x${cout}`);
          out[((o * cin + i) * kh + y) * kw + x] = w;
        }
      }
    }
  }
  return out;
}

/**
 * Decodes every layer, checking weight shapes and channel counts (the input is RGB, so
 * every tensor's channel count is known). Pure: no ONNX is built here.
 */
export function decodeKerasModel(
  model: KerasModel,
  weights: ReadonlyMap<string, TfjsTensor>,
  label: string,
): DecodedKerasModel {
  const channels = new Map<string, number>();
  const operations: KerasOperation[] = [];
  const used = new Set<string>();
  if (model.inputs.length !== 1)
    throw new Error(`${label}: the model has ${model.inputs.length} inputs, expected 1 (an RGB image)`);
  if (model.outputs.length !== 1)
    throw new Error(`${label}: the model has ${model.outputs.length} outputs, expected 1 (an RGB image)`);

  for (const layer of model.layers) {
    const c: LayerConfig = new LayerConfig(layer, label);
    if (channels.has(layer.name)) c.fail('a second layer has this name');
    const inputs = layer.inbound.map((from) => {
      const n = channels.get(from);
      if (n === undefined) c.fail(`reads '${from}', which is not a layer defined before it`);
      return { from, channels: n };
    });
    const single = (): { from: string; channels: number } => {
      const [input] = inputs;
      if (inputs.length !== 1 || input === undefined) return c.fail(`expected 1 input, found ${inputs.length}`);
      return input;
    };
    const push = (operation: KerasOperation, outChannels: number): void => {
      operations.push(operation);
      channels.set(layer.name, outChannels);
    };
    const channelsLast = (): void => {
      c.oneOf('data_format', ['channels_last'], 'channels_last');
    };
    const className = layer.className;
    const pixelShuffle = /^PixelShuffle(\d+)x$/.exec(className);

    if (className === 'InputLayer') {
      if (inputs.length !== 0) c.fail(`an InputLayer reads no layers, found ${inputs.length}`);
      if (layer.name !== model.inputs[0])
        c.fail(`is not the model's input ('${model.inputs[0]}'); only single-input models are supported`);
      const shape = layer.config['batch_input_shape'] ?? layer.config['batch_shape'];
      if (!Array.isArray(shape) || shape.length !== 4 || shape[3] !== IMAGE_CHANNELS) {
        c.fail(
          `batch_input_shape is ${JSON.stringify(shape)}, expected [batch, height, width, ${IMAGE_CHANNELS}] (an NHWC RGB image)`,
        );
      }
      c.oneOf('dtype', ['float32'], 'float32');
      push({ layer, op: 'input' }, IMAGE_CHANNELS);
    } else if (className === 'Conv2D') {
      const x = single();
      channelsLast();
      const [kh, kw] = c.pair('kernel_size', [0, 0]);
      const [sh, sw] = c.pair('strides', [1, 1]);
      if (sh !== 1 || sw !== 1) c.fail(`strides [${sh}, ${sw}] are not supported; expected [1, 1]`);
      const [dh, dw] = c.pair('dilation_rate', [1, 1]);
      const padding = c.oneOf('padding', ['same', 'valid'], 'valid');
      c.oneOf('groups', [1], 1);
      const filters = layer.config['filters'];
      if (!Number.isInteger(filters) || (filters as number) <= 0)
        c.fail(`filters is ${JSON.stringify(filters)}, expected a positive integer`);
      const cout = filters as number;
      const useBias = c.oneOf('use_bias', [true, false], true);
      const kernel = weight(weights, used, c, 'kernel', [kh, kw, x.channels, cout]);
      const bias = useBias ? weight(weights, used, c, 'bias', [cout]).data : undefined;
      // TF's SAME with stride 1 pads (k - 1) * d in total, the odd pixel after.
      const totalH = padding === 'same' ? (kh - 1) * dh : 0;
      const totalW = padding === 'same' ? (kw - 1) * dw : 0;
      const top = Math.floor(totalH / 2);
      const left = Math.floor(totalW / 2);
      push(
        {
          layer,
          op: 'conv',
          input: x.from,
          weightDims: [cout, x.channels, kh, kw],
          weight: kernelToOihw(kernel.data, kh, kw, x.channels, cout),
          bias,
          dilation: [dh, dw],
          pads: [top, left, totalH - top, totalW - left],
          activation: c.activation('activation'),
        },
        cout,
      );
    } else if (className === 'Activation') {
      const x = single();
      push({ layer, op: 'activation', input: x.from, activation: c.activation('activation') }, x.channels);
    } else if (className === 'Add') {
      if (inputs.length < 2) c.fail(`expected at least 2 inputs, found ${inputs.length}`);
      const counts = inputs.map((i) => i.channels);
      const [first] = counts;
      if (first === undefined || counts.some((n) => n !== first))
        c.fail(`inputs have ${counts.join(', ')} channels, expected equal counts`);
      push({ layer, op: 'add', inputs: inputs.map((i) => i.from) }, first);
    } else if (className === 'Concatenate') {
      if (inputs.length < 1) c.fail('expected at least 1 input');
      const axis = layer.config['axis'] ?? -1;
      if (typeof axis !== 'number' || !Number.isInteger(axis))
        c.fail(`axis is ${JSON.stringify(axis)}, expected an integer`);
      const nhwcAxis = axis < 0 ? axis + 4 : axis;
      const nchwAxis = ({ 1: 2, 2: 3, 3: 1 } as Record<number, number>)[nhwcAxis];
      if (nchwAxis === undefined)
        c.fail(`axis ${axis} is not supported; expected 1, 2, 3 or -1 (batch concatenation is not)`);
      const counts = inputs.map((i) => i.channels);
      const [first] = counts;
      if (first === undefined || (nchwAxis !== 1 && counts.some((n) => n !== first)))
        c.fail(`inputs have ${counts.join(', ')} channels, expected equal counts`);
      push(
        { layer, op: 'concat', inputs: inputs.map((i) => i.from), nchwAxis },
        nchwAxis === 1 ? counts.reduce((a, b) => a + b, 0) : first,
      );
    } else if (className === 'UpSampling2D') {
      const x = single();
      channelsLast();
      c.oneOf('interpolation', ['nearest'], 'nearest');
      push({ layer, op: 'upsample-nearest', input: x.from, factors: c.pair('size', [2, 2]) }, x.channels);
    } else if (className === 'MultiplyBeta') {
      const x = single();
      const beta = layer.config['beta'] ?? UPSCALERJS_BETA;
      if (beta !== UPSCALERJS_BETA)
        c.fail(
          `beta is ${JSON.stringify(beta)}; UpscalerJS's MultiplyBeta always multiplies by ${UPSCALERJS_BETA}, so a different value is ambiguous`,
        );
      push({ layer, op: 'scale', input: x.from, factor: UPSCALERJS_BETA }, x.channels);
    } else if (pixelShuffle) {
      const x = single();
      const blockSize = Number(pixelShuffle[1]);
      const scale = layer.config['scale'] ?? blockSize;
      if (blockSize < 1 || scale !== blockSize)
        c.fail(`config scale ${JSON.stringify(scale)} does not match the class name's factor ${blockSize}`);
      if (x.channels % (blockSize * blockSize) !== 0)
        c.fail(`${x.channels} input channels are not divisible by ${blockSize}^2`);
      push({ layer, op: 'depth-to-space', input: x.from, blockSize }, x.channels / (blockSize * blockSize));
    } else {
      c.fail(`layer type '${className}' is not supported; supported types: ${SUPPORTED_KERAS_LAYERS.join(', ')}`);
    }
  }

  const unused = [...weights.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new Error(
      `${label}: ${unused.length} weights in the manifest belong to no supported layer (${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', ...' : ''}); the manifest and topology do not match`,
    );
  }
  if (!operations.some((o) => o.op === 'input'))
    throw new Error(`${label}: the model has no InputLayer named '${model.inputs[0]}'`);
  const [output] = model.outputs;
  if (output === undefined) throw new Error(`${label}: the model names no output layer`);
  const outChannels = channels.get(output);
  if (outChannels === undefined) throw new Error(`${label}: output layer '${output}' is not among the layers`);
  if (outChannels !== IMAGE_CHANNELS)
    throw new Error(`${label}: output layer '${output}' has ${outChannels} channels, expected ${IMAGE_CHANNELS} (RGB)`);
  return { operations, output };
}

/** Builds the ONNX graph: input `input` [1,3,H,W] RGB in [0,1], output `output` in [0,1]. */
export function emitKerasModel(model: DecodedKerasModel, ranges: PixelRanges, label: string): Uint8Array {
  const g = new GraphBuilder(label);
  const input = g.input('input', [1, IMAGE_CHANNELS, 'height', 'width']);
  // Reserved so that a layer called 'output' cannot take the graph output's name.
  g.name('output');
  const values = new Map<string, string>();
  const value = (layer: string): string => {
    const v = values.get(layer);
    if (v === undefined) throw new Error(`internal: layer '${layer}' has no ONNX value`);
    return v;
  };
  const scalar = (v: number, hint: string): string => g.f32(hint, [v], []);
  const activate = (x: string, a: KerasActivation, hint: string): string =>
    a === 'relu' ? g.op('Relu', [x], {}, hint) : x;

  for (const o of model.operations) {
    const hint = o.layer.name;
    let y: string;
    switch (o.op) {
      case 'input':
        y =
          ranges.inputMax === 1
            ? input
            : g.op('Mul', [input, scalar(ranges.inputMax, 'input_range')], {}, 'input_scaled');
        break;
      case 'conv': {
        const attrs: Record<string, Attr> = {
          kernel_shape: attr.ints([o.weightDims[2], o.weightDims[3]]),
          dilations: attr.ints(o.dilation),
          pads: attr.ints(o.pads),
        };
        const inputs = [value(o.input), g.initializer(`${hint}_kernel`, o.weight, o.weightDims)];
        if (o.bias) inputs.push(g.initializer(`${hint}_bias`, o.bias, [o.bias.length]));
        y = activate(
          g.op('Conv', inputs, attrs, o.activation === 'linear' ? hint : `${hint}_conv`),
          o.activation,
          hint,
        );
        break;
      }
      case 'activation':
        y = activate(value(o.input), o.activation, hint);
        break;
      case 'add': {
        const [first, ...others] = o.inputs;
        if (first === undefined) throw new RangeError(`${hint}: an Add with no inputs`);
        y = value(first);
        for (const other of others) y = g.op('Add', [y, value(other)], {}, hint);
        break;
      }
      case 'concat':
        y = g.op('Concat', o.inputs.map(value), { axis: attr.int(o.nchwAxis) }, hint);
        break;
      case 'upsample-nearest': {
        // tf.image.resizeNearestNeighbor without align_corners / half_pixel_centers reads
        // source pixel floor(dst / factor).
        const scales = g.f32(`${hint}_scales`, [1, 1, o.factors[0], o.factors[1]]);
        y = g.op(
          'Resize',
          [value(o.input), '', scales],
          {
            mode: attr.string('nearest'),
            coordinate_transformation_mode: attr.string('asymmetric'),
            nearest_mode: attr.string('floor'),
          },
          hint,
        );
        break;
      }
      case 'scale':
        y = g.op('Mul', [value(o.input), scalar(o.factor, `${hint}_factor`)], {}, hint);
        break;
      case 'depth-to-space':
        y = g.op(
          'DepthToSpace',
          [value(o.input)],
          { blocksize: attr.int(o.blockSize), mode: attr.string('DCR') },
          hint,
        );
        break;
    }
    values.set(o.layer.name, y);
  }

  let out = value(model.output);
  if (ranges.outputMax !== 1) out = g.op('Div', [out, scalar(ranges.outputMax, 'output_range')], {}, 'output_unscaled');
  // The contract promises [0, 1]; out-of-range values would only be clamped later when
  // the image is written, and tiles blend better when they are already in range.
  out = g.op('Clip', [out, scalar(0, 'clip_min'), scalar(1, 'clip_max')], {}, 'output_clipped');
  g.output(out, 'output', [1, IMAGE_CHANNELS, 'out_height', 'out_width']);
  return g.toBytes(`converted from TF.js layers model ${label}`);
}

/** Converts a TF.js layers model (model.json text + its shards by manifest path) to ONNX. */
export function convertTfjs(
  modelJson: string,
  shards: ReadonlyMap<string, Uint8Array>,
  ranges: PixelRanges,
  label: string,
): Uint8Array {
  const parsed = parseTfjsModelJson(modelJson, label);
  const weights = decodeTfjsWeights(parsed.weightGroups, shards, label);
  return emitKerasModel(decodeKerasModel(parsed.model, weights, label), ranges, label);
}
