// Real-CUGAN (bilibili's UpCunet v3, as spandrel carries it): two cascaded U-Nets of valid
// (unpadded) convolutions with squeeze-and-excitation, the first of which upsamples with a
// transposed conv; the input is reflect-padded by a fixed border first (and up to an even
// size, or a multiple of 4 at x3), the second U-Net's output is added to the first's centre,
// and the result cropped to scale × the input. x4 and the "fast" x2 (which unshuffles its
// input) end in a conv, a pixel shuffle and the nearest-upsampled input added back. The
// "pro" models (a `pro` buffer in the file) work on 0.15 + 0.7·x and map back at the end.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, channelsNote, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, rejectOtherTensors, requireConv, requireShape } from '../../weights/shapes';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d, convTranspose2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { channelAttention } from '../../nn/channel-attention';
import { pixelShuffle, pixelUnshuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { cropBorder, cropTo, padBorder, runtimeDim, scaled } from '../../nn/shape';

/** spandrel's classes: UpCunet2x, UpCunet3x, UpCunet4x and UpCunet2x_fast. */
type Variant = 'x2' | 'x3' | 'x4' | 'x2 fast';

export interface RealCuganConfig {
  readonly variant: Variant;
  readonly scale: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly pro: boolean;
}

/** Each class's scale, how it pads its input and what its first U-Net's last (transposed) conv does. */
interface Shape {
  readonly scale: number;
  readonly border: number;
  readonly multiple: number;
  readonly bottom: { readonly kernel: number; readonly stride: number; readonly padding: number };
  /** Whether the second U-Net feeds a conv and a pixel shuffle with the input added back (x4, fast). */
  readonly shuffleHead: boolean;
}

const SHAPES: Readonly<Record<Variant, Shape>> = {
  x2: { scale: 2, border: 18, multiple: 2, bottom: { kernel: 4, stride: 2, padding: 3 }, shuffleHead: false },
  x3: { scale: 3, border: 14, multiple: 4, bottom: { kernel: 5, stride: 3, padding: 2 }, shuffleHead: false },
  x4: { scale: 4, border: 19, multiple: 2, bottom: { kernel: 4, stride: 2, padding: 3 }, shuffleHead: true },
  'x2 fast': { scale: 2, border: 38, multiple: 2, bottom: { kernel: 4, stride: 2, padding: 3 }, shuffleHead: true },
};

/** Width of the U-Nets where x4 and fast carry features rather than the image between them. */
const FEATURES = 64;
const SE_REDUCTION = 8;
const SLOPE = 0.1;
/** The centre of the first U-Net's output that lines up with the second's. */
const CENTRE_CROP = 20;
/** The pro models' input range: 0.15 + 0.7·x. */
const PRO_SHIFT = 0.15;
const PRO_GAIN = 0.7;

class Checks {
  readonly known = new Set<string>();
  constructor(private readonly sd: StateDict) {}

  conv(prefix: string, out: number, inChannels: number, kernel: number): void {
    requireConv(this.sd, prefix, { out, in: inChannels, kernel });
    this.known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  }

  /** A ConvTranspose2d: weight [in, out, k, k]. */
  deconv(prefix: string, inChannels: number, out: number, kernel: number): void {
    requireShape(this.sd, `${prefix}.weight`, [inChannels, out, kernel, kernel]);
    requireShape(this.sd, `${prefix}.bias`, [out]);
    this.known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  }

  /** Two valid 3×3 convs, and the squeeze-and-excitation's two 1×1 convs when `se`. */
  unetConv(prefix: string, inChannels: number, mid: number, out: number, se: boolean): void {
    this.conv(`${prefix}.conv.0`, mid, inChannels, 3);
    this.conv(`${prefix}.conv.2`, out, mid, 3);
    if (!se) return;
    this.conv(`${prefix}.seblock.conv1`, out / SE_REDUCTION, out, 1);
    this.conv(`${prefix}.seblock.conv2`, out, out / SE_REDUCTION, 1);
  }

  unet1(inChannels: number, out: number, bottomKernel: number): void {
    this.unetConv('unet1.conv1', inChannels, 32, 64, false);
    this.conv('unet1.conv1_down', 64, 64, 2);
    this.unetConv('unet1.conv2', 64, 128, 64, true);
    this.deconv('unet1.conv2_up', 64, 64, 2);
    this.conv('unet1.conv3', 64, 64, 3);
    this.deconv('unet1.conv_bottom', 64, out, bottomKernel);
  }

  unet2(inChannels: number, out: number): void {
    this.unetConv('unet2.conv1', inChannels, 32, 64, false);
    this.conv('unet2.conv1_down', 64, 64, 2);
    this.unetConv('unet2.conv2', 64, 64, 128, true);
    this.conv('unet2.conv2_down', 128, 128, 2);
    this.unetConv('unet2.conv3', 128, 256, 128, true);
    this.deconv('unet2.conv3_up', 128, 128, 2);
    this.unetConv('unet2.conv4', 128, 64, 64, true);
    this.deconv('unet2.conv4_up', 64, 64, 2);
    this.conv('unet2.conv5', 64, 64, 3);
    this.conv('unet2.conv_bottom', out, 64, 3);
  }
}

/** The class, as spandrel tells them apart: conv_final means x4 or fast, a 5×5 bottom x3. */
function variantOf(sd: StateDict, firstIn: number): { variant: Variant; outChannels: number } {
  if (sd.has('conv_final.weight')) {
    const outChannels = dimOf(sd, 'conv_final.weight', 4, 0, 'the final conv') / 4;
    // A fast x2 unshuffles its input for the first conv; an x4 with 4× as many input
    // channels as output ones has the same shapes, and like spandrel this takes it as fast.
    return { variant: outChannels * 4 === firstIn ? 'x2 fast' : 'x4', outChannels };
  }
  const outChannels = dimOf(sd, 'unet2.conv_bottom.weight', 4, 0, 'the last conv');
  return {
    variant: dimOf(sd, 'unet1.conv_bottom.weight', 4, 2, "the first U-Net's last conv") === 5 ? 'x3' : 'x2',
    outChannels,
  };
}

function readConfig(sd: StateDict): RealCuganConfig {
  const firstIn = dimOf(sd, 'unet1.conv1.conv.0.weight', 4, 1, 'the first conv');
  const { variant, outChannels } = variantOf(sd, firstIn);
  const shape = SHAPES[variant];
  const inChannels = variant === 'x2 fast' ? firstIn / 4 : firstIn;
  const between = shape.shuffleHead ? FEATURES : outChannels;

  const checks = new Checks(sd);
  checks.unet1(firstIn, between, shape.bottom.kernel);
  checks.unet2(between, between);
  if (shape.shuffleHead) {
    checks.conv('conv_final', 4 * outChannels, FEATURES, 3);
    // The nearest-upsampled input is added to the output, so the two must broadcast.
    if (inChannels !== outChannels && inChannels !== 1) {
      throw new WeightError(
        'conv_final.weight',
        `a ${variant} Real-CUGAN with ${inChannels} input and ${outChannels} output channels; expected as many ` +
          'out as in (the input is added to the output)',
      );
    }
  }
  // UpCunet2x_fast has no pro buffer, so a file with one is not a model spandrel can load.
  const pro = sd.has('pro') && variant !== 'x2 fast';
  if (pro) {
    requireShape(sd, 'pro', [1]);
    checks.known.add('pro');
  }
  rejectOtherTensors(sd, checks.known, `the two U-Nets of a Real-CUGAN ${variant}${pro ? ' pro' : ''}`);
  return { variant, scale: shape.scale, inChannels, outChannels, pro };
}

function describe(config: RealCuganConfig): ModelDescription {
  const channels = { input: config.inChannels, output: config.outChannels };
  const fast = config.variant === 'x2 fast';
  return {
    variant: `Real-CUGAN ${config.variant}${config.pro ? ' pro' : ''}${channelsNote(channels)}`,
    scale: config.scale,
    // The fast x2's forward pads to an even size, unshuffles and halves twice: only sides of
    // 0 or 3 modulo 4 come out whole, so tiles must be padded to a multiple of 4.
    inputMultiple: fast ? 4 : 1,
    traits: { ...PLAIN_TRAITS, channels, size: fast ? sizeRequirement(40, 4) : sizeRequirement(32) },
    params: {
      scale: config.scale,
      in_channels: config.inChannels,
      out_channels: config.outChannels,
      pro: config.pro,
      fast,
    },
  };
}

function conv(ctx: GraphContext, x: string, prefix: string, stride = 1): string {
  return conv2d(ctx, x, prefix, { padding: 0, stride });
}

function lrelu(ctx: GraphContext, x: string): string {
  return leakyRelu(ctx, x, SLOPE);
}

function unetConv(ctx: GraphContext, x: string, prefix: string, se: boolean): string {
  const y = lrelu(ctx, conv(ctx, lrelu(ctx, conv(ctx, x, `${prefix}.conv.0`)), `${prefix}.conv.2`));
  return se ? channelAttention(ctx, y, { squeeze: `${prefix}.seblock.conv1`, excite: `${prefix}.seblock.conv2` }) : y;
}

function up(ctx: GraphContext, x: string, prefix: string): string {
  return lrelu(ctx, convTranspose2d(ctx, x, prefix, { stride: 2 }));
}

function unet1(ctx: GraphContext, x: string, bottom: Shape['bottom']): string {
  const x1 = unetConv(ctx, x, 'unet1.conv1', false);
  const x2 = lrelu(ctx, conv(ctx, x1, 'unet1.conv1_down', 2));
  const x2up = up(ctx, unetConv(ctx, x2, 'unet1.conv2', true), 'unet1.conv2_up');
  const x3 = lrelu(ctx, conv(ctx, ctx.g.op('Add', [cropBorder(ctx, x1, 4), x2up]), 'unet1.conv3'));
  return convTranspose2d(ctx, x3, 'unet1.conv_bottom', { stride: bottom.stride, padding: bottom.padding });
}

function unet2(ctx: GraphContext, x: string): string {
  const x1 = unetConv(ctx, x, 'unet2.conv1', false);
  const x2 = unetConv(ctx, lrelu(ctx, conv(ctx, x1, 'unet2.conv1_down', 2)), 'unet2.conv2', true);
  const x3 = unetConv(ctx, lrelu(ctx, conv(ctx, x2, 'unet2.conv2_down', 2)), 'unet2.conv3', true);
  const x4 = unetConv(
    ctx,
    ctx.g.op('Add', [cropBorder(ctx, x2, 4), up(ctx, x3, 'unet2.conv3_up')]),
    'unet2.conv4',
    true,
  );
  const x5 = lrelu(
    ctx,
    conv(ctx, ctx.g.op('Add', [cropBorder(ctx, x1, 16), up(ctx, x4, 'unet2.conv4_up')]), 'unet2.conv5'),
  );
  return conv(ctx, x5, 'unet2.conv_bottom');
}

function build(sd: StateDict, config: RealCuganConfig): Uint8Array {
  const shape = SHAPES[config.variant];
  const spec = {
    name: 'realcugan',
    sd,
    inputChannels: config.inChannels,
    outputChannels: config.outChannels,
    description: `Real-CUGAN ${config.variant}${config.pro ? ' pro' : ''}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const x = config.pro ? g.op('Add', [g.op('Mul', [input, ctx.scalar(PRO_GAIN)]), ctx.scalar(PRO_SHIFT)]) : input;
    const pad = { before: shape.border, after: shape.border, multiple: shape.multiple };
    let padded = padBorder(ctx, x, pad, 'reflect');
    if (config.variant === 'x2 fast') padded = pixelUnshuffle(ctx, padded, 2, config.inChannels);
    const first = unet1(ctx, padded, shape.bottom);
    let y = g.op('Add', [unet2(ctx, first), cropBorder(ctx, first, CENTRE_CROP)], {}, 'cascade');
    if (shape.shuffleHead) y = pixelShuffle(ctx, cropBorder(ctx, conv(ctx, y, 'conv_final'), 1), 2);
    const height = scaled(ctx, runtimeDim(ctx, input, 2), config.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), config.scale);
    y = cropTo(ctx, y, 2, height, width);
    if (shape.shuffleHead) y = g.op('Add', [y, interpolateBy(ctx, x, config.scale, { mode: 'nearest' })], {}, 'skip');
    if (!config.pro) return y;
    return g.op('Div', [g.op('Sub', [y, ctx.scalar(PRO_SHIFT)]), ctx.scalar(PRO_GAIN)], {}, 'pro_range');
  });
}

export const realcugan: ArchitectureModule<'realcugan', RealCuganConfig> = {
  id: 'realcugan',
  label: 'Real-CUGAN',
  keys: hasAll(
    'unet1.conv1.conv.0.weight',
    'unet1.conv1.conv.2.weight',
    'unet1.conv1_down.weight',
    'unet1.conv2.conv.0.weight',
    'unet1.conv2.conv.2.weight',
    'unet1.conv2.seblock.conv1.weight',
    'unet1.conv2_up.weight',
    'unet1.conv_bottom.weight',
    'unet2.conv1.conv.0.weight',
    'unet2.conv1_down.weight',
    'unet2.conv2.conv.0.weight',
    'unet2.conv2.seblock.conv1.weight',
    'unet2.conv3.conv.0.weight',
    'unet2.conv3.seblock.conv1.weight',
    'unet2.conv3_up.weight',
    'unet2.conv4.conv.0.weight',
    'unet2.conv4_up.weight',
    'unet2.conv5.weight',
    'unet2.conv_bottom.weight',
  ),
  readConfig,
  describe,
  build,
};
