// SAFMN (Sun et al. 2023; spandrel's SAFMN/__arch/safmn.py): a conv to the feature width,
// a run of attention blocks (blocks.ts) with a long residual, and a pixel-shuffle head.
// The forward does not pad; below 8 px its deepest pooling level is empty, so the graph
// pads such inputs as spandrel's call API would (bottom and right, mirrored) and crops.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { WeightError } from '../../weights/tensors';
import { imageGraph } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { pixelShuffle } from '../../nn/shuffle';
import { withRequirement } from '../../nn/shape';
import { SAFM_MINIMUM, attBlock, checkAttBlock, readAttBlockShape, type AttBlockShape } from './blocks';

/** The class hard-codes RGB in and out. */
const IMAGE_CHANNELS = 3;
/** spandrel's size requirement for SAFMN: sides a multiple of 8. */
const SPANDREL_MULTIPLE = 8;

export interface SAFMNConfig extends AttBlockShape {
  readonly nBlocks: number;
  readonly scale: number;
}

function readConfig(sd: StateDict): SAFMNConfig {
  const check = new CheckedTensors(sd);
  const dim = dimOf(sd, 'to_feat.weight', 4, 0, 'the first conv');
  check.conv('to_feat', { out: dim, in: IMAGE_CHANNELS, kernel: 3 });
  const nBlocks = countNumbered(sd, 'feats');
  if (nBlocks === 0) throw new WeightError('feats.0', "the weights have no 'feats.0.*' (no attention blocks)");
  const shape = readAttBlockShape(check, 'feats.0', dim);
  for (let i = 0; i < nBlocks; i++) checkAttBlock(check, `feats.${i}`, shape);
  const head = shuffleHeadOf(sd, 'to_img.0.weight', IMAGE_CHANNELS);
  if (head.outputChannels !== IMAGE_CHANNELS) {
    throw new WeightError('to_img.0.weight', `'to_img.0.weight' must have 3 × scale² output channels`);
  }
  check.conv('to_img.0', { out: IMAGE_CHANNELS * head.scale ** 2, in: dim, kernel: 3 });
  check.rejectOthers(`the tensors of a ${nBlocks}-block SAFMN`);
  return { ...shape, nBlocks, scale: head.scale };
}

function describe(c: SAFMNConfig): ModelDescription {
  return {
    variant: `SAFMN (${c.dim} channels, ${c.nBlocks} blocks)`,
    scale: c.scale,
    // What spandrel asks, so that the engine's tiles never meet the in-graph padding.
    inputMultiple: SPANDREL_MULTIPLE,
    // spandrel: no fp16, sides a multiple of 8.
    traits: { ...PLAIN_TRAITS, size: sizeRequirement(0, SPANDREL_MULTIPLE), fp16: false },
    params: { dim: c.dim, n_blocks: c.nBlocks, ffn_scale: c.hidden / c.dim, upscaling_factor: c.scale },
  };
}

function build(sd: StateDict, c: SAFMNConfig): Uint8Array {
  const spec = {
    name: 'safmn',
    sd,
    inputChannels: IMAGE_CHANNELS,
    outputChannels: IMAGE_CHANNELS,
    description: `SAFMN x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, { minimum: SAFM_MINIMUM, multiple: 1, scale: c.scale }, (x) => {
      const features = conv2d(ctx, x, 'to_feat');
      let f = features;
      for (let i = 0; i < c.nBlocks; i++) f = attBlock(ctx, f, `feats.${i}`, c.dim);
      const body = ctx.g.op('Add', [f, features], {}, 'long_residual');
      return pixelShuffle(ctx, conv2d(ctx, body, 'to_img.0'), c.scale);
    }),
  );
}

export const safmn: ArchitectureModule<'safmn', SAFMNConfig> = {
  id: 'safmn',
  label: 'SAFMN',
  keys: hasAll(
    'to_feat.weight',
    'feats.0.norm1.weight',
    'feats.0.norm2.weight',
    'feats.0.safm.mfr.0.weight',
    'feats.0.safm.mfr.3.weight',
    'feats.0.safm.aggr.weight',
    'feats.0.ccm.ccm.0.weight',
    'feats.0.ccm.ccm.2.weight',
    'to_img.0.weight',
  ),
  readConfig,
  describe,
  build,
};
