// MM-RealSR (Mou et al. 2022, MMRRDBNet_test as spandrel carries it): ESRGAN's RRDBNet
// whose blocks are each followed by an affine modulation, (1 + γ)·x + β, with γ and β
// computed from the degrees of degradation a small estimator reads off the whole image.
// The estimator has one branch per degradation (a conv, residual blocks and stride-2 convs,
// a global average, two linears and a sigmoid); the degrees go through a linear embedding
// and each block's three-linear MLP. The forward returns (image, degrees); spandrel's
// call_fn takes the image, and so does this graph.
//
// Only x4 runs: at x2 and x1 the class unshuffles the input for the trunk but hands the
// estimator, built for the unshuffled channels, the image itself, so its own forward
// fails. The activation of the degrees (sigmoid or tanh) is not in the weights: like
// spandrel, this takes sigmoid.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, channelsNote, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, rejectOtherTensors, requireConv, requireLinear } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { linear } from '../../nn/linear';
import { relu, sigmoid } from '../../nn/activation';
import { globalPool } from '../../nn/pool';
import { attr } from '../../onnx/graph';
import { requireRrdbTrunk, rrdbKeys, unshuffleFactorOf } from '../esrgan/config';
import { rrdb, rrdbUpsampler } from '../esrgan/graph';

/** One step of an estimator branch: a residual block, or a stride-2 conv to `out` channels. */
type EstimatorStep =
  | { readonly kind: 'block'; readonly channels: number }
  | { readonly kind: 'down'; readonly in: number; readonly out: number };

export interface MmRealSrConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly numFeat: number;
  readonly numBlock: number;
  readonly numGrowCh: number;
  readonly numDegradation: number;
  /** Channels of each estimator branch's first conv. */
  readonly estimatorWidth: number;
  /** The steps of every estimator branch (all branches are built alike). */
  readonly estimator: readonly EstimatorStep[];
}

/** The width of the degradation embedding and of the estimator's hidden linear, fixed upstream. */
const EMBED = 512;
const UPSAMPLE_STAGES = 2;
const SCALE = 4;

/**
 * The steps of `de_net.body.0`: a child with conv1/conv2 is a residual block, a bare conv a
 * downsampling conv. spandrel cannot tell a stride-1 conv from a stride-2 one in the weights
 * and takes stride 2, which every released configuration uses.
 */
function readEstimator(sd: StateDict, width: number): EstimatorStep[] {
  const steps: EstimatorStep[] = [];
  let channels = width;
  const length = countNumbered(sd, 'de_net.body.0');
  for (let i = 0; i < length; i++) {
    const prefix = `de_net.body.0.${i}`;
    if (sd.has(`${prefix}.conv1.weight`)) {
      steps.push({ kind: 'block', channels });
    } else {
      const out = dimOf(sd, `${prefix}.weight`, 4, 0, 'a downsampling conv of the degradation estimator');
      steps.push({ kind: 'down', in: channels, out });
      channels = out;
    }
  }
  return steps;
}

function readConfig(sd: StateDict): MmRealSrConfig {
  const numBlock = countNumbered(sd, 'body');
  const keys = rrdbKeys('basicsr', numBlock, UPSAMPLE_STAGES);
  const firstIn = dimOf(sd, 'conv_first.weight', 4, 1, 'the first conv');
  const numFeat = dimOf(sd, 'conv_first.weight', 4, 0, 'the first conv');
  const outChannels = dimOf(sd, 'conv_last.weight', 4, 0, 'the last conv');
  const factor = unshuffleFactorOf(firstIn, outChannels);
  if (factor > 1) {
    throw new WeightError(
      'conv_first.weight',
      `the first conv takes ${firstIn} channels for ${outChannels}-channel output: an x${SCALE / factor} MMRealSR ` +
        '(pixel_unshuffle ' +
        `${factor}), whose degradation estimator is built for the unshuffled input but given the image; ` +
        "the reference code (MM-RealSR's MMRRDBNet_test, as spandrel 0.4.2 runs it) cannot run it either, only x4",
    );
  }
  const numGrowCh = dimOf(sd, 'body.0.rdb1.conv1.weight', 4, 0, 'a dense conv');
  const known = requireRrdbTrunk(sd, keys, { firstIn, outChannels, numFeat, numGrowCh, numBlock, plus: false });

  const numDegradation = dimOf(sd, 'dd_embed.0.weight', 2, 1, 'the degradation embedding');
  const linearAt = (prefix: string, out: number, inFeatures: number): void => {
    requireLinear(sd, prefix, out, inFeatures);
    known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  };
  const convAt = (prefix: string, out: number, inChannels: number): void => {
    requireConv(sd, prefix, { out, in: inChannels, kernel: 3 });
    known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  };
  linearAt('dd_embed.0', EMBED, numDegradation);
  const hidden = Math.floor((EMBED + 2 * numFeat) / 2);
  for (let b = 0; b < numBlock; b++) {
    linearAt(`am_list.${b}.fc.0`, hidden, EMBED);
    linearAt(`am_list.${b}.fc.2`, hidden, hidden);
    linearAt(`am_list.${b}.fc.4`, 2 * numFeat, hidden);
  }
  const width = dimOf(sd, 'de_net.conv_first.0.weight', 4, 0, 'the degradation estimator');
  const estimator = readEstimator(sd, width);
  const last = estimator.reduce((w, step) => (step.kind === 'down' ? step.out : w), width);
  for (let d = 0; d < numDegradation; d++) {
    convAt(`de_net.conv_first.${d}`, width, firstIn);
    estimator.forEach((step, i) => {
      const prefix = `de_net.body.${d}.${i}`;
      if (step.kind === 'down') convAt(prefix, step.out, step.in);
      else for (const c of ['conv1', 'conv2']) convAt(`${prefix}.${c}`, step.channels, step.channels);
    });
    linearAt(`de_net.fc_degree.${d}.0`, EMBED, last);
    linearAt(`de_net.fc_degree.${d}.2`, 1, EMBED);
  }
  rejectOtherTensors(
    sd,
    known,
    `the tensors of a ${numBlock}-block MMRealSR with ${numDegradation} degradation branches of ${estimator.length} steps`,
  );
  return {
    inChannels: firstIn,
    outChannels,
    numFeat,
    numBlock,
    numGrowCh,
    numDegradation,
    estimatorWidth: width,
    estimator,
  };
}

/** The estimator as spandrel's constructor arguments: widths, blocks and downscales per stage. */
function estimatorStages(config: MmRealSrConfig): { feats: number[]; blocks: number[]; downs: number[] } {
  const stages = { feats: [] as number[], blocks: [] as number[], downs: [] as number[] };
  let width = config.estimatorWidth;
  let blocks = 0;
  const close = (down: number): void => {
    stages.feats.push(width);
    stages.blocks.push(blocks);
    stages.downs.push(down);
    blocks = 0;
  };
  for (const step of config.estimator) {
    if (step.kind === 'block') blocks++;
    else {
      close(2);
      width = step.out;
    }
  }
  if (blocks > 0) close(1);
  return stages;
}

function describe(config: MmRealSrConfig): ModelDescription {
  const channels = { input: config.inChannels, output: config.outChannels };
  const stages = estimatorStages(config);
  return {
    variant: `MMRealSR (${config.numBlock} blocks, ${config.numDegradation} degradations${channelsNote(channels)})`,
    scale: SCALE,
    inputMultiple: 1,
    traits: { ...PLAIN_TRAITS, channels, size: sizeRequirement(16) },
    params: {
      num_in_ch: config.inChannels,
      num_out_ch: config.outChannels,
      scale: SCALE,
      num_feat: config.numFeat,
      num_block: config.numBlock,
      num_grow_ch: config.numGrowCh,
      num_degradation: config.numDegradation,
      degradation_degree_actv: 'sigmoid',
      num_feats: stages.feats,
      num_blocks: stages.blocks,
      downscales: stages.downs,
    },
  };
}

/** Branch `d` of the estimator: the degree of one degradation, [1, 1]. */
function degree(ctx: GraphContext, x: string, config: MmRealSrConfig, d: number): string {
  let y = conv2d(ctx, x, `de_net.conv_first.${d}`);
  config.estimator.forEach((step, i) => {
    const prefix = `de_net.body.${d}.${i}`;
    if (step.kind === 'down') {
      y = conv2d(ctx, y, prefix, { stride: 2, padding: 1 });
    } else {
      const branch = conv2d(ctx, relu(ctx, conv2d(ctx, y, `${prefix}.conv1`)), `${prefix}.conv2`);
      y = ctx.g.op('Add', [y, branch], {}, 'estimator_block');
    }
  });
  const pooled = ctx.g.op('Flatten', [globalPool(ctx, y, 'avg')], { axis: attr.int(1) });
  const hidden = relu(ctx, linear(ctx, pooled, `de_net.fc_degree.${d}.0`));
  return sigmoid(ctx, linear(ctx, hidden, `de_net.fc_degree.${d}.2`));
}

/** Block `b`'s (1 + γ)·x + β, with γ and β from its MLP on the embedding [1, 512]. */
function modulate(ctx: GraphContext, x: string, embedding: string, b: number, numFeat: number): string {
  const mlp = (v: string, i: number): string => linear(ctx, v, `am_list.${b}.fc.${i}`);
  const out = mlp(relu(ctx, mlp(relu(ctx, mlp(embedding, 0)), 2)), 4);
  const asMap = ctx.g.op('Reshape', [out, ctx.ints([1, 2 * numFeat, 1, 1])]);
  const [gamma, beta] = ctx.g.opN('Split', [asMap, ctx.ints([numFeat, numFeat])], 2, { axis: attr.int(1) });
  if (gamma === undefined || beta === undefined) throw new Error('Split gave fewer than two outputs');
  const scale = ctx.g.op('Add', [gamma, ctx.scalar(1)]);
  return ctx.g.op('Add', [ctx.g.op('Mul', [scale, x]), beta], {}, 'modulated');
}

function build(sd: StateDict, config: MmRealSrConfig): Uint8Array {
  const spec = {
    name: 'mmrealsr',
    sd,
    inputChannels: config.inChannels,
    outputChannels: config.outChannels,
    description: `MMRealSR x${SCALE}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const keys = rrdbKeys('basicsr', config.numBlock, UPSAMPLE_STAGES);
    const degrees = Array.from({ length: config.numDegradation }, (_, d) => degree(ctx, input, config, d));
    const joined = ctx.g.op('Concat', degrees, { axis: attr.int(1) }, 'degrees');
    const embedding = relu(ctx, linear(ctx, joined, 'dd_embed.0'));
    const feat = conv2d(ctx, input, keys.firstConv);
    let body = feat;
    for (let b = 0; b < config.numBlock; b++) {
      body = modulate(ctx, rrdb(ctx, body, keys, b, false), embedding, b, config.numFeat);
    }
    const trunk = ctx.g.op('Add', [feat, conv2d(ctx, body, keys.trunkConv)]);
    return rrdbUpsampler(ctx, trunk, keys, 2);
  });
}

export const mmrealsr: ArchitectureModule<'mmrealsr', MmRealSrConfig> = {
  id: 'mmrealsr',
  label: 'MMRealSR',
  keys: hasAll(
    'conv_first.weight',
    'conv_body.weight',
    'conv_up1.weight',
    'conv_up2.weight',
    'conv_hr.weight',
    'conv_last.weight',
    'body.0.rdb1.conv1.weight',
    'am_list.0.fc.0.weight',
    'de_net.conv_first.0.weight',
    'de_net.body.0.0.conv1.weight',
    'de_net.fc_degree.0.0.weight',
    'dd_embed.0.weight',
  ),
  readConfig,
  describe,
  build,
};
