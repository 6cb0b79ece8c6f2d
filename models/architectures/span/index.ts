// SPAN, the Swift Parameter-free Attention Network (Wan et al. 2024), as spandrel 0.4.2 has
// it (architectures/SPAN/__arch/span.py). Every conv is a Conv3XC: a 3×3 conv that training
// keeps as branches (1×1 `sk` beside 1×1 → 3×3 → 1×1 `conv.0/1/2`) and evaluation fuses into
// `eval_conv`. spandrel's forward re-fuses `eval_conv` from the branches on every call and
// never reads the stored one, which trainers often save stale; so the graph uses the fusion,
// computed here in float64. Six parameter-free attention blocks (out · (sigmoid(out) − ½)),
// a 1×1 conv over four of their maps, and a pixel shuffle.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict, Tensor } from '../../weights/state-dict';
import { WeightError, floatTensor } from '../../weights/tensors';
import { dimOf } from '../../weights/shapes';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { CheckedTensors } from '../../weights/checked';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { sigmoid, silu } from '../../nn/activation';
import { pixelShuffle } from '../../nn/shuffle';
import { attr } from '../../onnx/graph';

export interface SPANConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly features: number;
  readonly scale: number;
  /** Whether the input is shifted by the RGB mean and scaled by img_range first (no `no_norm` buffer). */
  readonly norm: boolean;
}

/** Not in the weights; spandrel's defaults, which every released SPAN uses. */
const IMG_RANGE = 255;
const RGB_MEAN = [0.4488, 0.4371, 0.404] as const;
/** Conv3XC's gain: the branches' inner width is twice the conv's. */
const GAIN = 2;
const BLOCKS = 6;

/** Every Conv3XC's prefix with its input and output channels. */
function conv3xcLayers(c: SPANConfig): { prefix: string; in: number; out: number }[] {
  const f = c.features;
  const layers = [{ prefix: 'conv_1', in: c.inChannels, out: f }];
  for (let b = 1; b <= BLOCKS; b++) {
    for (const r of ['c1_r', 'c2_r', 'c3_r']) layers.push({ prefix: `block_${b}.${r}`, in: f, out: f });
  }
  layers.push({ prefix: 'conv_2', in: f, out: f });
  return layers;
}

function readConfig(sd: StateDict): SPANConfig {
  const inChannels = dimOf(sd, 'conv_1.sk.weight', 4, 1, 'the first conv');
  const features = dimOf(sd, 'conv_1.sk.weight', 4, 0, 'the first conv');
  const head = shuffleHeadOf(sd, 'upsampler.0.weight', inChannels);
  const norm = !sd.has('no_norm');
  if (norm && inChannels !== RGB_MEAN.length) {
    // The mean is RGB's: with another channel count spandrel's forward fails too.
    throw new WeightError(
      'conv_1.sk.weight',
      `'conv_1.sk.weight' takes ${inChannels} input channels; SPAN's mean shift needs 3 (RGB) unless the file has 'no_norm'`,
    );
  }
  const config = { inChannels, outChannels: head.outputChannels, features, scale: head.scale, norm };
  const t = new CheckedTensors(sd);
  for (const layer of conv3xcLayers(config)) {
    const p = layer.prefix;
    t.conv(`${p}.sk`, { out: layer.out, in: layer.in, kernel: 1 });
    t.conv(`${p}.conv.0`, { out: GAIN * layer.in, in: layer.in, kernel: 1 });
    t.conv(`${p}.conv.1`, { out: GAIN * layer.out, in: GAIN * layer.in, kernel: 3 });
    t.conv(`${p}.conv.2`, { out: layer.out, in: GAIN * layer.out, kernel: 1 });
    // Replaced by the fusion of the branches, as spandrel's forward does; its shape is still the layer's.
    t.conv(`${p}.eval_conv`, { out: layer.out, in: layer.in, kernel: 3 });
  }
  t.conv('conv_cat', { out: features, in: 4 * features, kernel: 1 });
  t.conv('upsampler.0', { out: head.outputChannels * head.scale ** 2, in: features, kernel: 3 });
  if (!norm) t.shape('no_norm', [1]);
  t.rejectOthers(`the tensors of a SPAN of width ${features}`);
  return config;
}

function describe(c: SPANConfig): ModelDescription {
  return {
    variant: `SPAN (${c.features} features${c.norm ? '' : ', no input normalisation'})`,
    scale: c.scale,
    inputMultiple: 1,
    traits: { ...PLAIN_TRAITS, channels: { input: c.inChannels, output: c.outChannels } },
    params: {
      num_in_ch: c.inChannels,
      num_out_ch: c.outChannels,
      feature_channels: c.features,
      upscale: c.scale,
      bias: true,
      norm: c.norm,
      img_range: IMG_RANGE,
      rgb_mean: [...RGB_MEAN],
    },
  };
}

/** Element `i` of a weight, range-checked (the shapes were checked when reading). */
function at(values: Float32Array | Float64Array, i: number): number {
  const v = values[i];
  if (v === undefined) throw new RangeError(`index ${i} outside a tensor of ${values.length} values`);
  return v;
}

/**
 * Conv3XC.update_params in float64: the 3×3 conv equal to 1×1 (w1, b1) → 3×3 (w2, b2) →
 * 1×1 (w3, b3) on a zero-padded input, plus the 1×1 skip at the kernel's centre.
 */
export function fuseConv3XC(sd: StateDict, prefix: string): { weight: Tensor; bias: Tensor } {
  const get = (name: string): Float32Array => floatTensor(sd, `${prefix}.${name}.weight`).data;
  const bias = (name: string): Float32Array => floatTensor(sd, `${prefix}.${name}.bias`).data;
  const [w1, w2, w3, skip] = [get('conv.0'), get('conv.1'), get('conv.2'), get('sk')];
  const [b1, b2, b3, skipBias] = [bias('conv.0'), bias('conv.1'), bias('conv.2'), bias('sk')];
  const cin = dimOf(sd, `${prefix}.conv.0.weight`, 4, 1, 'the first branch conv');
  const [mid, wide, cout] = [b1.length, b2.length, b3.length];
  const taps = 9;
  // inner[n, i, t] = Σ_m w2[n, m, t] · w1[m, i];  innerBias[n] = b2[n] + Σ_{m, t} w2[n, m, t] · b1[m]
  const inner = new Float64Array(wide * cin * taps);
  const innerBias = new Float64Array(wide);
  for (let n = 0; n < wide; n++) {
    let b = at(b2, n);
    for (let m = 0; m < mid; m++) for (let t = 0; t < taps; t++) b += at(w2, (n * mid + m) * taps + t) * at(b1, m);
    innerBias[n] = b;
    for (let i = 0; i < cin; i++) {
      for (let t = 0; t < taps; t++) {
        let sum = 0;
        for (let m = 0; m < mid; m++) sum += at(w2, (n * mid + m) * taps + t) * at(w1, m * cin + i);
        inner[(n * cin + i) * taps + t] = sum;
      }
    }
  }
  const weight = new Float32Array(cout * cin * taps);
  const fusedBias = new Float32Array(cout);
  const centre = 4;
  for (let o = 0; o < cout; o++) {
    let b = at(b3, o) + at(skipBias, o);
    for (let n = 0; n < wide; n++) b += at(w3, o * wide + n) * at(innerBias, n);
    fusedBias[o] = b;
    for (let j = 0; j < cin * taps; j++) {
      let sum = j % taps === centre ? at(skip, o * cin + Math.floor(j / taps)) : 0;
      for (let n = 0; n < wide; n++) sum += at(w3, o * wide + n) * at(inner, n * cin * taps + j);
      weight[o * cin * taps + j] = sum;
    }
  }
  return { weight: { shape: [cout, cin, 3, 3], data: weight }, bias: { shape: [cout], data: fusedBias } };
}

/** The weights the graph reads: every Conv3XC's eval_conv replaced by the fusion of its branches. */
function evalWeights(sd: StateDict, c: SPANConfig): StateDict {
  const out: StateDict = new Map();
  for (const { prefix } of conv3xcLayers(c)) {
    const { weight, bias } = fuseConv3XC(sd, prefix);
    out.set(`${prefix}.eval_conv.weight`, weight).set(`${prefix}.eval_conv.bias`, bias);
  }
  for (const key of ['conv_cat.weight', 'conv_cat.bias', 'upsampler.0.weight', 'upsampler.0.bias']) {
    const t = sd.get(key);
    if (t) out.set(key, t);
  }
  return out;
}

function conv3xc(ctx: GraphContext, x: string, prefix: string): string {
  return conv2d(ctx, x, `${prefix}.eval_conv`);
}

/**
 * SPAB: three Conv3XCs with SiLU between, then (out + x) · (sigmoid(out) − ½). Returns that
 * and the first conv's map after its SiLU, which upstream applies in place, so the map it
 * returns beside the output is the activated one.
 */
function attentionBlock(ctx: GraphContext, x: string, b: number): { out: string; first: string } {
  const g = ctx.g;
  const p = `block_${b}`;
  const first = silu(ctx, conv3xc(ctx, x, `${p}.c1_r`));
  const third = conv3xc(ctx, silu(ctx, conv3xc(ctx, first, `${p}.c2_r`)), `${p}.c3_r`);
  const attention = g.op('Sub', [sigmoid(ctx, third), ctx.scalar(0.5)]);
  return { out: g.op('Mul', [g.op('Add', [third, x]), attention], {}, p), first };
}

function build(sd: StateDict, c: SPANConfig): Uint8Array {
  const spec = {
    name: 'span',
    sd: evalWeights(sd, c),
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    description: `SPAN x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const mean = (): string =>
      ctx.constant('rgb_mean', () => ({ data: Float32Array.from(RGB_MEAN), dims: [1, 3, 1, 1] }));
    const x = c.norm ? g.op('Mul', [g.op('Sub', [input, mean()]), ctx.scalar(IMG_RANGE)], {}, 'normalised') : input;
    const features = conv3xc(ctx, x, 'conv_1');
    const b1 = attentionBlock(ctx, features, 1);
    let out = b1.out;
    let b6first = '';
    for (let b = 2; b <= BLOCKS; b++) {
      const r = attentionBlock(ctx, out, b);
      out = r.out;
      b6first = r.first;
    }
    const last = conv3xc(ctx, out, 'conv_2');
    const joined = g.op('Concat', [features, last, b1.out, b6first], { axis: attr.int(1) }, 'cat');
    return pixelShuffle(ctx, conv2d(ctx, conv2d(ctx, joined, 'conv_cat'), 'upsampler.0'), c.scale);
  });
}

export const span: ArchitectureModule<'span', SPANConfig> = {
  id: 'span',
  label: 'SPAN',
  keys: hasAll(
    'conv_1.sk.weight',
    'block_1.c1_r.sk.weight',
    'block_1.c1_r.eval_conv.weight',
    'block_1.c3_r.eval_conv.weight',
    'conv_cat.weight',
    'conv_2.sk.weight',
    'conv_2.eval_conv.weight',
    'upsampler.0.weight',
  ),
  readConfig,
  describe,
  build,
};
