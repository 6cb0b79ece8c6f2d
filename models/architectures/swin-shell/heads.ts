// The reconstruction heads SwinIR introduced and its successors (HAT, DAT, and RGT, DRCT,
// ATD after them) reuse after their body: 'pixelshuffle' (a conv, LeakyReLU, then conv +
// PixelShuffle per ×2 stage or one ×3, and a last conv), 'pixelshuffledirect' (one conv and
// a PixelShuffle), 'nearest+conv' (nearest ×2 + conv stages, real-world SwinIR; ×8 in
// DiffBIR's) and ''
// (no upsampling: a restoration model adding its output to its input). Reading checks
// every head tensor; building emits the head.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireConv } from '../../weights/shapes';
import { numberedIndices } from '../../weights/sequences';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { pixelShuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';

/** Upstream's `upsampler` argument ('' is SwinIR's same-size restoration head). */
export type Upsampler = 'pixelshuffle' | 'pixelshuffledirect' | 'nearest+conv' | '';

export interface Head {
  readonly upsampler: Upsampler;
  readonly scale: number;
  /** Width of the head's own convs (upstream num_feat); 0 where it has none. */
  readonly numFeat: number;
  /** 'pixelshuffle' only: the factor of each conv + PixelShuffle stage (2s, or one 3; none at x1). */
  readonly stages: readonly number[];
  /** Prefix of the upsample convs ('upsample'; GRL nests them in 'upsample.up'). */
  readonly upsamplePrefix: string;
}

export interface HeadSpec {
  /** Channels of the body's features (upstream embed_dim). */
  readonly embedDim: number;
  readonly outChannels: number;
  /** The heads the architecture builds; another head's keys are an error naming them. */
  readonly allowed: readonly Upsampler[];
  /** Prefix of the upsample convs, 'upsample' unless given. */
  readonly upsamplePrefix?: string;
}

function conv3(sd: StateDict, prefix: string, out: number, inChannels: number): void {
  requireConv(sd, prefix, { out, in: inChannels, kernel: 3 });
}

/** Which head the keys show, before any shape is checked. */
function headKind(sd: StateDict, upsamplePrefix: string): Upsampler {
  if (sd.has('conv_up1.weight')) return 'nearest+conv';
  if (sd.has('conv_before_upsample.0.weight')) return 'pixelshuffle';
  if (sd.has(`${upsamplePrefix}.0.weight`)) return 'pixelshuffledirect';
  return '';
}

/**
 * The stages of upstream's Upsample Sequential at `prefix` (conv, PixelShuffle, conv, …):
 * the shuffles hold no tensors, so the convs sit at 0, 2, 4, …; each is ×2 (4 × num_feat
 * outputs), or a single one ×3. None at all is upstream's Upsample(1): an x1 model. Each
 * conv's shape is checked.
 */
export function readShuffleStages(sd: StateDict, prefix: string, numFeat: number): number[] {
  const stages = shuffleStageFactors(sd, prefix, numFeat);
  stages.forEach((factor, i) => conv3(sd, `${prefix}.${2 * i}`, factor * factor * numFeat, numFeat));
  return stages;
}

function shuffleStageFactors(sd: StateDict, prefix: string, numFeat: number): number[] {
  const indices = numberedIndices(sd, prefix);
  return indices.map((index, position) => {
    const key = `${prefix}.${2 * position}.weight`;
    if (index !== 2 * position) {
      throw new WeightError(
        key,
        `the weights have '${prefix}.${index}.*' where '${prefix}.${2 * position}.*' was expected (conv, PixelShuffle, conv, …)`,
      );
    }
    const out = dimOf(sd, key, 4, 0, 'a pixelshuffle upsample conv');
    if (out === 4 * numFeat) return 2;
    if (out === 9 * numFeat && indices.length === 1) return 3;
    throw new WeightError(
      key,
      `tensor '${key}' has ${out} output channels, expected ${4 * numFeat} (×2 stage) or ${9 * numFeat} (single ×3 stage)`,
    );
  });
}

/** Reads the head and the scale it implies, checking every tensor it uses. */
export function readHead(sd: StateDict, spec: HeadSpec): Head {
  const upsamplePrefix = spec.upsamplePrefix ?? 'upsample';
  const upsampler = headKind(sd, upsamplePrefix);
  if (!spec.allowed.includes(upsampler)) {
    const found = upsampler === '' ? 'no upsampling head' : `a ${upsampler} head`;
    const expected = spec.allowed.map((u) => u || 'no upsampling').join(' or ');
    throw new WeightError('conv_last.weight', `the weights have ${found}; expected a ${expected} head`);
  }
  const out = spec.outChannels;
  switch (upsampler) {
    case 'pixelshuffle': {
      const numFeat = dimOf(sd, 'conv_before_upsample.0.weight', 4, 0, 'the pixelshuffle head');
      conv3(sd, 'conv_before_upsample.0', numFeat, spec.embedDim);
      const stages = readShuffleStages(sd, upsamplePrefix, numFeat);
      conv3(sd, 'conv_last', out, numFeat);
      return { upsampler, scale: stages.reduce((a, b) => a * b, 1), numFeat, stages, upsamplePrefix };
    }
    case 'pixelshuffledirect': {
      const key = `${upsamplePrefix}.0.weight`;
      const { scale, outputChannels } = shuffleHeadOf(sd, key, out);
      if (outputChannels !== out) {
        throw new WeightError(key, `'${key}' gives ${outputChannels} output channels, expected ${out}`);
      }
      conv3(sd, `${upsamplePrefix}.0`, scale * scale * out, spec.embedDim);
      return { upsampler, scale, numFeat: 0, stages: [], upsamplePrefix };
    }
    case 'nearest+conv': {
      // One nearest ×2 + conv per doubling: conv_up1, then conv_up2 at x4 and conv_up3 at x8.
      const numFeat = dimOf(sd, 'conv_before_upsample.0.weight', 4, 0, 'the nearest+conv head');
      const doublings = NEAREST_STAGES.filter((prefix) => sd.has(`${prefix}.weight`)).length;
      conv3(sd, 'conv_before_upsample.0', numFeat, spec.embedDim);
      NEAREST_STAGES.slice(0, doublings).forEach((prefix) => conv3(sd, prefix, numFeat, numFeat));
      conv3(sd, 'conv_hr', numFeat, numFeat);
      conv3(sd, 'conv_last', out, numFeat);
      return { upsampler, scale: 2 ** doublings, numFeat, stages: [], upsamplePrefix };
    }
    case '':
      conv3(sd, 'conv_last', out, spec.embedDim);
      return { upsampler, scale: 1, numFeat: 0, stages: [], upsamplePrefix };
  }
}

/** The convs of the nearest+conv head's doublings, in order. */
const NEAREST_STAGES = ['conv_up1', 'conv_up2', 'conv_up3'] as const;

/** The conv + PixelShuffle stages read by readShuffleStages, on an NCHW map. */
export function shuffleStages(ctx: GraphContext, x: string, prefix: string, stages: readonly number[]): string {
  return stages.reduce((y, factor, i) => pixelShuffle(ctx, conv2d(ctx, y, `${prefix}.${2 * i}`), factor), x);
}

/**
 * The head on the body's features (NCHW). `input` is the normalised input, which the ''
 * head adds its output to.
 */
export function buildHead(ctx: GraphContext, features: string, input: string, head: Head): string {
  switch (head.upsampler) {
    case 'pixelshuffle': {
      // nn.LeakyReLU() with its default slope 0.01 here, unlike the 0.2 elsewhere.
      const x = leakyRelu(ctx, conv2d(ctx, features, 'conv_before_upsample.0'), 0.01);
      return conv2d(ctx, shuffleStages(ctx, x, head.upsamplePrefix, head.stages), 'conv_last');
    }
    case 'pixelshuffledirect':
      return pixelShuffle(ctx, conv2d(ctx, features, `${head.upsamplePrefix}.0`), head.scale);
    case 'nearest+conv': {
      const up = (x: string, prefix: string): string =>
        leakyRelu(ctx, conv2d(ctx, interpolateBy(ctx, x, 2, { mode: 'nearest' }), prefix), 0.2);
      const doublings = NEAREST_STAGES.slice(0, Math.log2(head.scale));
      const x = doublings.reduce(up, leakyRelu(ctx, conv2d(ctx, features, 'conv_before_upsample.0'), 0.01));
      return conv2d(ctx, leakyRelu(ctx, conv2d(ctx, x, 'conv_hr'), 0.2), 'conv_last');
    }
    case '':
      return ctx.g.op('Add', [input, conv2d(ctx, features, 'conv_last')]);
  }
}
