// SAFMN-BCIE, SAFMN for same-size restoration (spandrel's SAFMNBCIE/__arch/safmn_bcie.py,
// from the NTIRE 2024 bracketing image-enhancement entry): pixel-unshuffled input, groups
// of SAFMN attention blocks (../safmn/blocks.ts) each closed by a conv and a residual, and a
// pixel-shuffle back to full size. The forward does not pad: sides must divide by the
// unshuffle factor and leave at least 8 px after it, so the graph pads other inputs as
// spandrel's call API would (bottom and right, mirrored) and crops.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { WeightError } from '../../weights/tensors';
import { imageGraph } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { pixelShuffle, pixelUnshuffle } from '../../nn/shuffle';
import { withRequirement } from '../../nn/shape';
import { SAFM_MINIMUM, attBlock, checkAttBlock, readAttBlockShape, type AttBlockShape } from '../safmn/blocks';

const IMAGE_CHANNELS = 3;
/** spandrel's size requirement for SAFMN-BCIE: sides a multiple of 16. */
const SPANDREL_MULTIPLE = 16;

export interface SAFMNBCIEConfig extends AttBlockShape {
  readonly nBlocks: number;
  /** Attention blocks in each group. */
  readonly numLayers: number;
  /** The pixel-unshuffle factor of the input (upscaling_factor upstream; the output is full size). */
  readonly unshuffle: number;
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

function readConfig(sd: StateDict): SAFMNBCIEConfig {
  const check = new CheckedTensors(sd);
  const dim = dimOf(sd, 'to_feat.1.weight', 4, 0, 'the first conv');
  const unshuffledChannels = dimOf(sd, 'to_feat.1.weight', 4, 1, 'the first conv');
  const unshuffle = Math.round(Math.sqrt(unshuffledChannels / IMAGE_CHANNELS));
  if (unshuffle < 1 || IMAGE_CHANNELS * unshuffle ** 2 !== unshuffledChannels) {
    throw new WeightError(
      'to_feat.1.weight',
      `'to_feat.1.weight' takes ${unshuffledChannels} channels, expected 3 × f² for pixel_unshuffle f (12 for f = 2)`,
    );
  }
  check.conv('to_feat.1', { out: dim, in: unshuffledChannels, kernel: 3 });
  const nBlocks = countNumbered(sd, 'feats');
  if (nBlocks === 0) throw new WeightError('feats.0', "the weights have no 'feats.0.*' (no block groups)");
  const numLayers = countNumbered(sd, 'feats.0.layers');
  if (numLayers === 0) throw new WeightError('feats.0.layers.0', "the weights have no 'feats.0.layers.0.*'");
  const shape = readAttBlockShape(check, 'feats.0.layers.0', dim);
  for (let i = 0; i < nBlocks; i++) {
    for (let j = 0; j < numLayers; j++) checkAttBlock(check, `feats.${i}.layers.${j}`, shape);
    check.conv(`feats.${i}.conv`, { out: dim, in: dim, kernel: 3 });
  }
  check.conv('to_img.0', { out: dim * unshuffle ** 2, in: dim, kernel: 3 });
  check.conv('to_img.2', { out: IMAGE_CHANNELS, in: dim, kernel: 3 });
  check.rejectOthers(`the tensors of a SAFMN-BCIE with ${nBlocks} groups of ${numLayers} blocks`);
  return { ...shape, nBlocks, numLayers, unshuffle };
}

function describe(c: SAFMNBCIEConfig): ModelDescription {
  const lcm = (SPANDREL_MULTIPLE * c.unshuffle) / greatestCommonDivisor(SPANDREL_MULTIPLE, c.unshuffle);
  return {
    variant: `SAFMN-BCIE (pixel_unshuffle ${c.unshuffle}, ${c.dim} channels, ${c.nBlocks} × ${c.numLayers} blocks)`,
    scale: 1,
    // spandrel's multiple, and the unshuffle factor's, so that tiles need no in-graph padding.
    inputMultiple: lcm,
    // spandrel: no fp16, sides a multiple of 16.
    // Its pooling pyramid, at half resolution, reaches 16 px cells four blocks deep: tiles
    // overlapping by 16 differ from the whole image (28.9 dB with the fixture's weights).
    traits: { ...PLAIN_TRAITS, size: sizeRequirement(0, SPANDREL_MULTIPLE), context: 'global', fp16: false },
    params: {
      dim: c.dim,
      n_blocks: c.nBlocks,
      num_layers: c.numLayers,
      ffn_scale: c.hidden / c.dim,
      upscaling_factor: c.unshuffle,
    },
  };
}

function build(sd: StateDict, c: SAFMNBCIEConfig): Uint8Array {
  const spec = {
    name: 'safmn_bcie',
    sd,
    inputChannels: IMAGE_CHANNELS,
    outputChannels: IMAGE_CHANNELS,
    description: `SAFMN-BCIE (pixel_unshuffle ${c.unshuffle})`,
  };
  const requirement = { minimum: SAFM_MINIMUM * c.unshuffle, multiple: c.unshuffle, scale: 1 };
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, requirement, (x) => {
      const g = ctx.g;
      const features = conv2d(ctx, pixelUnshuffle(ctx, x, c.unshuffle, IMAGE_CHANNELS), 'to_feat.1');
      let f = features;
      for (let i = 0; i < c.nBlocks; i++) {
        let layer = f;
        for (let j = 0; j < c.numLayers; j++) layer = attBlock(ctx, layer, `feats.${i}.layers.${j}`, c.dim);
        f = g.op('Add', [conv2d(ctx, layer, `feats.${i}.conv`), f], {}, 'group_residual');
      }
      const body = g.op('Add', [f, features], {}, 'long_residual');
      const full = pixelShuffle(ctx, conv2d(ctx, body, 'to_img.0'), c.unshuffle);
      return conv2d(ctx, full, 'to_img.2');
    }),
  );
}

export const safmnbcie: ArchitectureModule<'safmnbcie', SAFMNBCIEConfig> = {
  id: 'safmnbcie',
  label: 'SAFMN BCIE',
  keys: hasAll(
    'to_feat.1.weight',
    'to_feat.1.bias',
    'feats.0.layers.0.norm1.weight',
    'feats.0.layers.0.norm2.weight',
    'feats.0.layers.0.safm.mfr.0.weight',
    'feats.0.layers.0.safm.mfr.3.weight',
    'feats.0.layers.0.ccm.ccm.0.weight',
    'feats.0.layers.0.ccm.ccm.2.weight',
    'feats.0.conv.weight',
    'feats.0.conv.bias',
    'to_img.0.weight',
    'to_img.0.bias',
    'to_img.2.weight',
    'to_img.2.bias',
  ),
  readConfig,
  describe,
  build,
};
