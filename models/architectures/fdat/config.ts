// Reading FDAT's hyper-parameters (spandrel's FDAT/__arch/fdat.py and its loader): the
// upsampler's kind and scale from the uint8 MetaUpsample buffer, the unshuffled input
// variant from `conv_first.1`, widths, heads and the window from the first block.
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { WeightError } from '../../weights/tensors';
import { checkUniUpsample, readMetaUpsample, type MetaUpsample, type UniUpsample } from '../uni-upsample';

export interface FDATConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** What spandrel reports: the meta scale, or 4 / unshuffle for the unshuffled variant. */
  readonly scale: number;
  /** pixel_unshuffle factor of the input (2 or 4; 1 when the input is not unshuffled). */
  readonly unshuffle: number;
  readonly embedDim: number;
  readonly numGroups: number;
  /** Blocks per group, alternating spatial (even) and channel (odd) attention. */
  readonly blocks: number;
  readonly numHeads: number;
  readonly windowSize: number;
  /** The feed-forward's width, int(embed_dim · ffn_expansion_ratio). */
  readonly ffnHidden: number;
  /** The channel gate's bottleneck, embed_dim // aim_reduction_ratio. */
  readonly gateHidden: number;
  readonly meta: MetaUpsample;
  readonly head: UniUpsample;
}

const META_VERSION = 3;
/** The unshuffled variant always upsamples by 4 after unshuffling by 4 / scale. */
const UNSHUFFLED_UPSAMPLE = 4;

/** conv_first (or conv_first.1 after pixel_unshuffle): channels in, width, scale and unshuffle factor. */
function readInput(sd: StateDict, meta: MetaUpsample): Pick<FDATConfig, 'inChannels' | 'scale' | 'unshuffle'> {
  if (!sd.has('conv_first.1.weight')) {
    return { inChannels: dimOf(sd, 'conv_first.weight', 4, 1, 'the first conv'), scale: meta.scale, unshuffle: 1 };
  }
  // As spandrel's loader reads it: the image has the output's channels, unshuffled by
  // 4 / scale before the conv.
  const key = 'conv_first.1.weight';
  const unshuffled = dimOf(sd, key, 4, 1, 'the conv after pixel_unshuffle');
  const unshuffle = Math.round(Math.sqrt(unshuffled / meta.outChannels));
  if ((unshuffle !== 2 && unshuffle !== 4) || unshuffle ** 2 * meta.outChannels !== unshuffled) {
    throw new WeightError(
      key,
      `'${key}' takes ${unshuffled} channels; expected ${meta.outChannels} image channels unshuffled by 2 or 4`,
    );
  }
  if (meta.scale !== UNSHUFFLED_UPSAMPLE) {
    throw new WeightError('upsampler.MetaUpsample', `an unshuffled FDAT upsamples by 4, its buffer says ${meta.scale}`);
  }
  return { inChannels: meta.outChannels, scale: UNSHUFFLED_UPSAMPLE / unshuffle, unshuffle };
}

export function readFDATConfig(sd: StateDict): FDATConfig {
  const check = new CheckedTensors(sd);
  const meta = readMetaUpsample(sd, 'upsampler.MetaUpsample', META_VERSION);
  const input = readInput(sd, meta);
  const firstConv = input.unshuffle > 1 ? 'conv_first.1' : 'conv_first';
  const embedDim = dimOf(sd, `${firstConv}.weight`, 4, 0, 'the first conv');
  const numGroups = countNumbered(sd, 'groups');
  const blocks = countNumbered(sd, 'groups.0.blocks');
  if (numGroups === 0 || blocks === 0 || blocks % 2 !== 0) {
    throw new WeightError(
      'groups.0.blocks',
      `found ${numGroups} groups of ${blocks} blocks; expected groups of an even number of blocks (spatial and channel pairs)`,
    );
  }
  const biasKey = 'groups.0.blocks.0.attn.bias';
  const numHeads = dimOf(sd, biasKey, 3, 0, 'the window attention bias [heads, window², window²]');
  const windowSize = Math.round(Math.sqrt(dimOf(sd, biasKey, 3, 2, 'the window attention bias')));
  if (embedDim % numHeads !== 0) {
    throw new WeightError(biasKey, `${numHeads} heads do not divide the width ${embedDim}`);
  }
  const c: FDATConfig = {
    ...input,
    outChannels: meta.outChannels,
    embedDim,
    numGroups,
    blocks,
    numHeads,
    windowSize,
    ffnHidden: dimOf(sd, 'groups.0.blocks.0.ffn.fc1.weight', 2, 0, 'the feed-forward'),
    gateHidden: dimOf(sd, 'groups.0.blocks.0.inter.cg.1.weight', 4, 0, 'the channel gate'),
    meta,
    head: checkUniUpsample(check, { prefix: 'upsampler', meta, inDim: embedDim, outChannels: meta.outChannels }),
  };

  const e = embedDim;
  check.conv(firstConv, { out: e, in: c.inChannels * c.unshuffle ** 2, kernel: 3 });
  for (let g = 0; g < numGroups; g++) {
    for (let b = 0; b < blocks; b++) {
      const p = `groups.${g}.blocks.${b}`;
      check.norm(`${p}.n1`, e);
      check.norm(`${p}.n2`, e);
      if (b % 2 === 0) check.shape(`${p}.attn.bias`, [numHeads, windowSize ** 2, windowSize ** 2]);
      else check.shape(`${p}.attn.temp`, [numHeads, 1, 1]);
      check.linear(`${p}.attn.qkv`, 3 * e, e, 'none');
      check.linear(`${p}.attn.proj`, e, e);
      check.conv(`${p}.conv.0`, { out: e, in: 1, kernel: 3, bias: 'none' });
      // Both gates are stored; a spatial block uses the channel one, a channel block the spatial one.
      check.conv(`${p}.inter.sg.0`, { out: 1, in: e, kernel: 1, bias: 'none' });
      check.conv(`${p}.inter.cg.1`, { out: c.gateHidden, in: e, kernel: 1, bias: 'none' });
      check.conv(`${p}.inter.cg.3`, { out: e, in: c.gateHidden, kernel: 1, bias: 'none' });
      check.linear(`${p}.ffn.fc1`, c.ffnHidden, e, 'none');
      check.linear(`${p}.ffn.fc2`, e, c.ffnHidden, 'none');
      check.conv(`${p}.ffn.smix`, { out: c.ffnHidden, in: 1, kernel: 3, bias: 'none' });
    }
    check.conv(`groups.${g}.conv`, { out: e, in: e, kernel: 3, bias: 'none' });
  }
  check.conv('conv_after', { out: e, in: e, kernel: 3, bias: 'none' });
  check.rejectOthers(`the tensors of an FDAT with ${numGroups} groups of ${blocks} blocks`);
  return c;
}
