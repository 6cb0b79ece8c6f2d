// Real-ESRGAN's SRVGGNetCompact (realesr-general-x4v3, realesr-animevideov3, and community
// "compact" models): a plain conv stack `body.0, body.2, ...` with an activation after every
// conv but the last, a PixelShuffle, and the nearest-upsampled input added as a skip. Grey
// and RGBA models have the same layout with 1 or 4 image channels.
import type { ActivationChoice, ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, channelsNote } from '../types';
import type { Activation } from '../../../contract/vocabulary';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError, shapeText } from '../../weights/tensors';
import { dimOf, requireConv } from '../../weights/shapes';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { imageGraph } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu, prelu, relu } from '../../nn/activation';
import { pixelShuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { resolveActivation } from './activation';

export interface CompactConfig {
  /** Image channels: the first conv's input, and what the pixel shuffle leaves of the last conv's output. */
  readonly inChannels: number;
  readonly outChannels: number;
  readonly numFeat: number;
  /** Convs between the first and the last (upstream's num_conv). */
  readonly numConv: number;
  readonly upscale: number;
  /**
   * PReLU keeps a weight per channel at every odd body index; ReLU and LeakyReLU keep none,
   * so reading takes those as ReLU, assumed, and chooseActivation takes the user's word
   * (activation.ts). Every released Real-ESRGAN compact model uses PReLU.
   */
  readonly activation: Activation;
  readonly activationSource: ActivationChoice['source'];
}

const LEAKY_SLOPE = 0.1;
const BODY_KEY = /^body\.(\d+)\.(weight|bias)$/;

/** The body's conv indices (4-d weights) and activation indices (1-d weights), ascending. */
function bodyIndices(sd: StateDict): { convs: number[]; activations: number[] } {
  const convs = new Set<number>();
  const activations = new Set<number>();
  for (const [key, t] of sd) {
    const m = BODY_KEY.exec(key);
    if (!m) {
      throw new WeightError(key, `unexpected tensor '${key}' (expected only body.N.weight and body.N.bias)`);
    }
    if (m[2] !== 'weight') continue;
    (t.shape.length === 4 ? convs : activations).add(Number(m[1]));
  }
  const ascending = (a: number, b: number): number => a - b;
  return { convs: [...convs].sort(ascending), activations: [...activations].sort(ascending) };
}

function readConfig(sd: StateDict): CompactConfig {
  const inChannels = dimOf(sd, 'body.0.weight', 4, 1, 'the first conv');
  const numFeat = dimOf(sd, 'body.0.weight', 4, 0, 'the first conv');
  const layout = bodyIndices(sd);
  const lastIndex = layout.convs[layout.convs.length - 1] ?? 0;
  if (lastIndex < 2 || lastIndex % 2 !== 0) {
    throw new WeightError(
      `body.${lastIndex}.weight`,
      `the last conv is 'body.${lastIndex}.weight', expected an even index of at least 2 (convs at body.0, body.2, ...)`,
    );
  }
  const numConv = lastIndex / 2 - 1;
  const lastKey = `body.${lastIndex}.weight`;
  const head = shuffleHeadOf(sd, lastKey, inChannels);
  const outChannels = head.outputChannels;
  // The nearest-upsampled input is added to the output, so the two must broadcast.
  if (outChannels !== inChannels && inChannels !== 1) {
    throw new WeightError(
      lastKey,
      `the last conv '${lastKey}' gives ${outChannels}-channel output for a ${inChannels}-channel input, ` +
        'expected as many channels out as in (the input is added to the output)',
    );
  }
  for (let i = 0; i <= lastIndex; i += 2) {
    const out = i === lastIndex ? outChannels * head.scale ** 2 : numFeat;
    requireConv(sd, `body.${i}`, { out, in: i === 0 ? inChannels : numFeat, kernel: 3 });
  }

  const choice = resolveActivation(layout.activations.length > 0, undefined);
  if (choice.activation === 'prelu') {
    for (let i = 1; i < lastIndex; i += 2) {
      const key = `body.${i}.weight`;
      const shape = sd.get(key)?.shape;
      // Upstream uses one slope per channel; PReLU() with a single shared slope loads the same way.
      if (!shape || shape.length !== 1 || (shape[0] !== numFeat && shape[0] !== 1)) {
        throw new WeightError(
          key,
          `PReLU tensor '${key}' is ${shape ? shapeText(shape) : 'missing'}, expected [${numFeat}] (body.1, body.3, ... hold the PReLU slopes)`,
        );
      }
    }
  }
  const expectedCount = 2 * (numConv + 2) + (choice.activation === 'prelu' ? numConv + 1 : 0);
  if (sd.size !== expectedCount) {
    const extra = [...sd.keys()].filter((k) => {
      const index = Number(BODY_KEY.exec(k)?.[1]);
      return index > lastIndex || (index % 2 === 1 && !k.endsWith('.weight'));
    });
    throw new WeightError(
      extra[0] ?? lastKey,
      `${sd.size} tensors, expected ${expectedCount} for ${numConv + 2} convs up to '${lastKey}'` +
        (extra.length > 0
          ? `; unexpected: ${extra
              .slice(0, 5)
              .map((k) => `'${k}'`)
              .join(', ')}`
          : ''),
    );
  }
  return {
    inChannels,
    outChannels,
    numFeat,
    numConv,
    upscale: head.scale,
    activation: choice.activation,
    activationSource: choice.source,
  };
}

/** The registry's view; the variant says when the activation was not read from the weights. */
function describe(config: CompactConfig): ModelDescription {
  const { numFeat, numConv, upscale, activation, activationSource } = config;
  const how = activationSource === 'weights' ? '' : activationSource === 'assumed' ? ', assumed' : ', chosen';
  const channels = { input: config.inChannels, output: config.outChannels };
  return {
    variant: `SRVGGNetCompact (${numConv} convs, ${activation}${how}${channelsNote(channels)})`,
    scale: upscale,
    inputMultiple: 1,
    traits: { ...PLAIN_TRAITS, channels },
    params: {
      num_in_ch: config.inChannels,
      num_out_ch: config.outChannels,
      num_feat: numFeat,
      num_conv: numConv,
      upscale,
      act_type: activation,
    },
    activation: { activation, source: activationSource },
  };
}

/** The user's activation in place of the one read; throws when the weights say otherwise. */
function chooseActivation(config: CompactConfig, activation: Activation): CompactConfig {
  const choice = resolveActivation(config.activationSource === 'weights', activation);
  return { ...config, activation: choice.activation, activationSource: choice.source };
}

function build(sd: StateDict, config: CompactConfig): Uint8Array {
  const spec = {
    name: 'srvgg',
    sd,
    inputChannels: config.inChannels,
    outputChannels: config.outChannels,
    description: `SRVGGNetCompact x${config.upscale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const activate = (x: string, index: number): string => {
      switch (config.activation) {
        case 'relu':
          return relu(ctx, x);
        case 'leakyrelu':
          return leakyRelu(ctx, x, LEAKY_SLOPE);
        case 'prelu': {
          // Per-channel slopes broadcast over NCHW as [C, 1, 1]; a shared one as [1, 1, 1].
          const key = `body.${index}.weight`;
          return prelu(ctx, x, ctx.weightAs(key, [dimOf(sd, key, 1, 0, 'PReLU slopes'), 1, 1]));
        }
      }
    };
    const lastIndex = 2 * (config.numConv + 1);
    let x = input;
    for (let i = 0; i < lastIndex; i += 2) x = activate(conv2d(ctx, x, `body.${i}`), i + 1);
    const residual = pixelShuffle(ctx, conv2d(ctx, x, `body.${lastIndex}`), config.upscale);
    const base = interpolateBy(ctx, input, config.upscale, { mode: 'nearest' });
    return ctx.g.op('Add', [residual, base], {}, 'skip');
  });
}

export const compact: ArchitectureModule<'compact', CompactConfig> = {
  id: 'compact',
  label: 'Real-ESRGAN Compact (SRVGGNetCompact)',
  family: { id: 'real-esrgan', label: 'Real-ESRGAN' },
  keys: hasAll('body.0.weight'),
  readConfig,
  describe,
  build,
  chooseActivation,
};
