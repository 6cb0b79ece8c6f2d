// Swift-SRGAN (Krishnan and Koushik 2021): SRGAN's generator in depthwise-separable convs.
// A 9×9 separable conv and PReLU, residual blocks of two separable 3×3 convs with batch
// norm, a separable conv and batch norm with the head's output added back, a pixel-shuffle
// x2 stage (separable conv, shuffle, PReLU) per power of two, and a 9×9 separable conv
// whose tanh is mapped to [0, 1]. Every block also stores a PReLU it does not run (the
// second conv of a residual block, the conv after them), which is read and ignored, as the
// upstream forward ignores it.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, channelsNote } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { dimOf, rejectOtherTensors, requireBatchNorm, requireConv, requireShape } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { prelu, tanh } from '../../nn/activation';
import { batchNorm } from '../../nn/norm';
import { pixelShuffle } from '../../nn/shuffle';

export interface SwiftSrganConfig {
  /** Image channels, in and out. */
  readonly inChannels: number;
  readonly numChannels: number;
  readonly numBlocks: number;
  /** One pixel-shuffle x2 stage each. */
  readonly upsampleStages: number;
}

const BN_EPS = 1e-5;
const HEAD_KERNEL = 9;
const BODY_KERNEL = 3;

/** A separable conv at `prefix`: depthwise k×k over `inChannels`, then pointwise to `out`. */
function requireSeparable(
  sd: StateDict,
  known: Set<string>,
  prefix: string,
  shape: { readonly in: number; readonly out: number; readonly kernel: number; readonly bias: boolean },
): void {
  const bias = shape.bias ? 'required' : 'none';
  requireConv(sd, `${prefix}.depthwise`, { out: shape.in, in: 1, kernel: shape.kernel, bias });
  requireConv(sd, `${prefix}.pointwise`, { out: shape.out, in: shape.in, kernel: 1, bias });
  for (const part of ['depthwise', 'pointwise']) {
    known.add(`${prefix}.${part}.weight`);
    if (shape.bias) known.add(`${prefix}.${part}.bias`);
  }
}

function requireBn(sd: StateDict, known: Set<string>, prefix: string, channels: number): void {
  requireBatchNorm(sd, prefix, channels);
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) known.add(`${prefix}.${p}`);
  // A training-time counter; eval ignores it.
  const counter = `${prefix}.num_batches_tracked`;
  if (sd.has(counter)) {
    requireShape(sd, counter, []);
    known.add(counter);
  }
}

function requirePrelu(sd: StateDict, known: Set<string>, prefix: string, channels: number): void {
  requireShape(sd, `${prefix}.weight`, [channels]);
  known.add(`${prefix}.weight`);
}

function readConfig(sd: StateDict): SwiftSrganConfig {
  const inChannels = dimOf(sd, 'initial.cnn.depthwise.weight', 4, 0, 'the first depthwise conv');
  const numChannels = dimOf(sd, 'initial.cnn.pointwise.weight', 4, 0, 'the first pointwise conv');
  const numBlocks = countNumbered(sd, 'residual');
  const upsampleStages = countNumbered(sd, 'upsampler');
  const c = numChannels;

  const known = new Set<string>();
  requireSeparable(sd, known, 'initial.cnn', { in: inChannels, out: c, kernel: HEAD_KERNEL, bias: true });
  requirePrelu(sd, known, 'initial.act', c);
  for (let b = 0; b < numBlocks; b++) {
    for (const block of ['block1', 'block2']) {
      const prefix = `residual.${b}.${block}`;
      requireSeparable(sd, known, `${prefix}.cnn`, { in: c, out: c, kernel: BODY_KERNEL, bias: false });
      requireBn(sd, known, `${prefix}.bn`, c);
      requirePrelu(sd, known, `${prefix}.act`, c);
    }
  }
  requireSeparable(sd, known, 'convblock.cnn', { in: c, out: c, kernel: BODY_KERNEL, bias: false });
  requireBn(sd, known, 'convblock.bn', c);
  requirePrelu(sd, known, 'convblock.act', c);
  for (let u = 0; u < upsampleStages; u++) {
    requireSeparable(sd, known, `upsampler.${u}.conv`, { in: c, out: 4 * c, kernel: BODY_KERNEL, bias: true });
    requirePrelu(sd, known, `upsampler.${u}.act`, c);
  }
  requireSeparable(sd, known, 'final_conv', { in: c, out: inChannels, kernel: HEAD_KERNEL, bias: true });
  rejectOtherTensors(
    sd,
    known,
    `the separable convs, batch norms and PReLUs of a ${numBlocks}-block Swift-SRGAN with ${upsampleStages} x2 stages`,
  );
  return { inChannels, numChannels, numBlocks, upsampleStages };
}

function describe(config: SwiftSrganConfig): ModelDescription {
  const scale = 2 ** config.upsampleStages;
  const channels = { input: config.inChannels, output: config.inChannels };
  return {
    variant: `Swift-SRGAN (${config.numChannels} channels, ${config.numBlocks} blocks${channelsNote(channels)})`,
    scale,
    inputMultiple: 1,
    traits: { ...PLAIN_TRAITS, channels },
    params: {
      in_channels: config.inChannels,
      num_channels: config.numChannels,
      num_blocks: config.numBlocks,
      upscale_factor: scale,
    },
  };
}

function separable(ctx: GraphContext, x: string, prefix: string, channels: number): string {
  return conv2d(ctx, conv2d(ctx, x, `${prefix}.depthwise`, { groups: channels }), `${prefix}.pointwise`);
}

function activate(ctx: GraphContext, x: string, prefix: string, channels: number): string {
  return prelu(ctx, x, ctx.weightAs(`${prefix}.weight`, [channels, 1, 1]));
}

function build(sd: StateDict, config: SwiftSrganConfig): Uint8Array {
  const c = config.numChannels;
  const spec = {
    name: 'swiftsrgan',
    sd,
    inputChannels: config.inChannels,
    outputChannels: config.inChannels,
    description: `Swift-SRGAN x${2 ** config.upsampleStages}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const convBn = (x: string, prefix: string): string =>
      batchNorm(ctx, separable(ctx, x, `${prefix}.cnn`, c), `${prefix}.bn`, BN_EPS);
    const initial = activate(ctx, separable(ctx, input, 'initial.cnn', config.inChannels), 'initial.act', c);
    let x = initial;
    for (let b = 0; b < config.numBlocks; b++) {
      const first = activate(ctx, convBn(x, `residual.${b}.block1`), `residual.${b}.block1.act`, c);
      x = ctx.g.op('Add', [convBn(first, `residual.${b}.block2`), x], {}, 'residual');
    }
    x = ctx.g.op('Add', [convBn(x, 'convblock'), initial], {}, 'skip');
    for (let u = 0; u < config.upsampleStages; u++) {
      const shuffled = pixelShuffle(ctx, separable(ctx, x, `upsampler.${u}.conv`, c), 2);
      x = activate(ctx, shuffled, `upsampler.${u}.act`, c);
    }
    const t = tanh(ctx, separable(ctx, x, 'final_conv', c));
    return ctx.g.op('Mul', [ctx.g.op('Add', [t, ctx.scalar(1)]), ctx.scalar(0.5)], {}, 'to_unit_range');
  });
}

export const swiftsrgan: ArchitectureModule<'swiftsrgan', SwiftSrganConfig> = {
  id: 'swiftsrgan',
  label: 'Swift-SRGAN',
  keys: hasAll('initial.cnn.depthwise.weight', 'final_conv.pointwise.weight'),
  readConfig,
  describe,
  build,
};
