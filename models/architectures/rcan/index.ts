// RCAN (Zhang et al. 2018), as spandrel carries it: residual groups of residual channel
// attention blocks (conv, ReLU, conv, squeeze-and-excitation) with a conv closing each
// group and one closing the body, a pixel-shuffle upsampler, and DIV2K's mean subtracted
// before and added back after on a 0..255 scale (the `sub_mean` / `add_mean` 1×1 convs;
// without them the network works on 0..1). The "unshuffle" variant for x1 and x2 folds the
// input into channels first (pixel_unshuffle 4 or 2, reflect-padded to a multiple) and
// keeps the x4 upsampler. rgb_range, res_scale and the activation are not in the weights:
// like spandrel, this takes 255 (with the mean shift), 1 and ReLU.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, channelsNote } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, rejectOtherTensors, requireConv } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { relu } from '../../nn/activation';
import { channelAttention } from '../../nn/channel-attention';
import { pixelShuffle, pixelUnshuffle } from '../../nn/shuffle';
import { cropTo, padToMultiple, runtimeDim, scaled } from '../../nn/shape';

export interface RcanConfig {
  /** Image channels, in and out (spandrel's n_colors). */
  readonly colors: number;
  readonly numFeat: number;
  readonly numGroups: number;
  readonly numBlocks: number;
  /** Of every conv but the upsampler's (which are 3×3) and the attention's (1×1). */
  readonly kernelSize: number;
  /** Channels of the attention's squeeze (numFeat / reduction). */
  readonly squeezeChannels: number;
  /** Whether sub_mean / add_mean are stored: then the network works on 0..255. */
  readonly meanShift: boolean;
  /** pixel_unshuffle factor of the input (x2: 2, x1: 4), else 1. */
  readonly unshuffleFactor: number;
  /** The pixel-shuffle factor of each upsampler stage (x4: [2, 2], x3: [3]). */
  readonly upsampleFactors: readonly number[];
  readonly scale: number;
}

/** spandrel's rgb_range, which no file records. */
const RGB_RANGE = 255;
const UPSAMPLE_KERNEL = 3;

/** The head conv sits after the PixelUnshuffle (head.0) in the unshuffle variant. */
function headConv(unshuffled: boolean): string {
  return unshuffled ? 'head.1' : 'head.0';
}

const blockPrefix = (group: number, block: number): string => `body.${group}.body.${block}`;

/** The stage factors of `tail.0.0`, `tail.0.2`, ...: each conv gives r² × numFeat channels to a PixelShuffle(r). */
function readUpsampler(sd: StateDict, numFeat: number): number[] {
  const factors: number[] = [];
  for (let i = 0; sd.has(`tail.0.${2 * i}.weight`); i++) {
    const key = `tail.0.${2 * i}.weight`;
    const out = dimOf(sd, key, 4, 0, 'an upsampler conv');
    const r = Math.round(Math.sqrt(out / numFeat));
    if (r < 2 || r * r * numFeat !== out) {
      throw new WeightError(key, `tensor '${key}' has ${out} output channels, expected r² × ${numFeat} (4× or 9×)`);
    }
    factors.push(r);
  }
  return factors;
}

function readConfig(sd: StateDict): RcanConfig {
  const unshuffled = sd.has('head.1.weight');
  const colors = dimOf(sd, 'tail.1.weight', 4, 0, 'the last conv');
  const head = headConv(unshuffled);
  const numFeat = dimOf(sd, `${head}.weight`, 4, 0, 'the head conv');
  const headIn = dimOf(sd, `${head}.weight`, 4, 1, 'the head conv');
  const kernelSize = dimOf(sd, `${head}.weight`, 4, 3, 'the head conv');
  const unshuffleFactor = Math.round(Math.sqrt(headIn / colors));
  if (
    unshuffleFactor * unshuffleFactor * colors !== headIn ||
    (unshuffled ? unshuffleFactor < 2 : unshuffleFactor !== 1)
  ) {
    throw new WeightError(
      `${head}.weight`,
      `the head conv takes ${headIn} channels for ${colors}-channel images, expected ${colors}` +
        (unshuffled ? ` × 4 or × 16 after pixel_unshuffle (head.1)` : ''),
    );
  }
  const numGroups = countNumbered(sd, 'body') - 1;
  const numBlocks = countNumbered(sd, 'body.0.body') - 1;
  if (numGroups < 1 || numBlocks < 0) {
    throw new WeightError('body.0', "expected residual groups 'body.0.body.N.*' and the body's last conv after them");
  }
  const squeezeChannels = dimOf(sd, `${blockPrefix(0, 0)}.body.3.conv_du.0.weight`, 4, 0, 'an attention squeeze');
  const upsampleFactors = readUpsampler(sd, numFeat);
  const meanShift = sd.has('sub_mean.weight');

  const known = new Set<string>();
  const conv = (prefix: string, out: number, inChannels: number, kernel: number): void => {
    requireConv(sd, prefix, { out, in: inChannels, kernel });
    known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  };
  if (meanShift) {
    conv('sub_mean', colors, colors, 1);
    conv('add_mean', colors, colors, 1);
  }
  conv(head, numFeat, headIn, kernelSize);
  for (let g = 0; g < numGroups; g++) {
    for (let b = 0; b < numBlocks; b++) {
      const p = blockPrefix(g, b);
      conv(`${p}.body.0`, numFeat, numFeat, kernelSize);
      conv(`${p}.body.2`, numFeat, numFeat, kernelSize);
      conv(`${p}.body.3.conv_du.0`, squeezeChannels, numFeat, 1);
      conv(`${p}.body.3.conv_du.2`, numFeat, squeezeChannels, 1);
    }
    conv(blockPrefix(g, numBlocks), numFeat, numFeat, kernelSize);
  }
  conv(`body.${numGroups}`, numFeat, numFeat, kernelSize);
  upsampleFactors.forEach((r, i) => conv(`tail.0.${2 * i}`, r * r * numFeat, numFeat, UPSAMPLE_KERNEL));
  conv('tail.1', colors, numFeat, kernelSize);
  rejectOtherTensors(
    sd,
    known,
    `the convs of an RCAN with ${numGroups} groups of ${numBlocks} blocks${meanShift ? ' and its mean shift' : ''}`,
  );

  const upscale = upsampleFactors.reduce((a, r) => a * r, 1);
  const scale = upscale / unshuffleFactor;
  if (!Number.isInteger(scale)) {
    throw new WeightError(
      'tail.0.0.weight',
      `an x${upscale} upsampler after pixel_unshuffle ${unshuffleFactor} gives scale ${scale}, expected a whole scale`,
    );
  }
  return {
    colors,
    numFeat,
    numGroups,
    numBlocks,
    kernelSize,
    squeezeChannels,
    meanShift,
    unshuffleFactor,
    upsampleFactors,
    scale,
  };
}

function describe(config: RcanConfig): ModelDescription {
  const channels = { input: config.colors, output: config.colors };
  const unshuffle = config.unshuffleFactor > 1 ? `, pixel_unshuffle ${config.unshuffleFactor}` : '';
  const noMean = config.meanShift ? '' : ', no mean shift';
  return {
    variant: `RCAN (${config.numGroups}×${config.numBlocks} blocks, ${config.numFeat} features${unshuffle}${noMean}${channelsNote(channels)})`,
    scale: config.scale,
    inputMultiple: 1,
    traits: { ...PLAIN_TRAITS, channels, fp16: false },
    params: {
      scale: config.scale,
      n_resgroups: config.numGroups,
      n_resblocks: config.numBlocks,
      n_feats: config.numFeat,
      n_colors: config.colors,
      rgb_range: config.meanShift ? RGB_RANGE : 1,
      norm: config.meanShift,
      kernel_size: config.kernelSize,
      reduction: Math.floor(config.numFeat / config.squeezeChannels),
      unshuffle_mod: config.unshuffleFactor > 1,
    },
  };
}

/** A residual channel attention block: conv, ReLU, conv, channel attention, plus the input. */
function rcab(ctx: GraphContext, x: string, prefix: string): string {
  const y = conv2d(ctx, relu(ctx, conv2d(ctx, x, `${prefix}.body.0`)), `${prefix}.body.2`);
  const attended = channelAttention(ctx, y, {
    squeeze: `${prefix}.body.3.conv_du.0`,
    excite: `${prefix}.body.3.conv_du.2`,
  });
  return ctx.g.op('Add', [attended, x], {}, 'rcab');
}

function build(sd: StateDict, config: RcanConfig): Uint8Array {
  const spec = {
    name: 'rcan',
    sd,
    inputChannels: config.colors,
    outputChannels: config.colors,
    description: `RCAN x${config.scale}`,
  };
  const range = config.meanShift ? RGB_RANGE : 1;
  return imageGraph(spec, (ctx, input) => {
    const f = config.unshuffleFactor;
    let x = f > 1 ? padToMultiple(ctx, input, 'nchw', f, 'reflect') : input;
    if (config.meanShift) x = conv2d(ctx, ctx.g.op('Mul', [x, ctx.scalar(range)]), 'sub_mean');
    if (f > 1) x = pixelUnshuffle(ctx, x, f, config.colors);
    const features = conv2d(ctx, x, headConv(f > 1));
    let body = features;
    for (let g = 0; g < config.numGroups; g++) {
      let group = body;
      for (let b = 0; b < config.numBlocks; b++) group = rcab(ctx, group, blockPrefix(g, b));
      body = ctx.g.op('Add', [conv2d(ctx, group, blockPrefix(g, config.numBlocks)), body], {}, 'group');
    }
    let y = ctx.g.op('Add', [conv2d(ctx, body, `body.${config.numGroups}`), features], {}, 'body');
    config.upsampleFactors.forEach((r, i) => {
      y = pixelShuffle(ctx, conv2d(ctx, y, `tail.0.${2 * i}`), r);
    });
    y = conv2d(ctx, y, 'tail.1');
    if (config.meanShift) y = ctx.g.op('Div', [conv2d(ctx, y, 'add_mean'), ctx.scalar(range)]);
    if (f === 1) return y;
    const height = scaled(ctx, runtimeDim(ctx, input, 2), config.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), config.scale);
    return cropTo(ctx, y, 2, height, width);
  });
}

export const rcan: ArchitectureModule<'rcan', RcanConfig> = {
  id: 'rcan',
  label: 'RCAN',
  keys: hasAny(
    hasAll('head.0.weight', 'tail.1.weight', 'body.0.body.0.body.0.weight', 'body.0.body.0.body.3.conv_du.0.weight'),
    hasAll('head.1.weight', 'tail.1.weight', 'body.0.body.0.body.0.weight', 'body.0.body.0.body.3.conv_du.0.weight'),
  ),
  readConfig,
  describe,
  build,
};
