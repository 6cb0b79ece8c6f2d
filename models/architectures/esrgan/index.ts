// ESRGAN's RRDBNet (Wang et al. 2018) in all three key layouts it is stored in: BasicSR and
// Real-ESRGAN (RealESRGAN_x4plus, x2plus, anime_6B, most community models, and the x8 forks'
// extra conv_up3), the 2019 re-release that BSRGAN and pre-1.0 BasicSR use, and the 2018
// release (RRDB_ESRGAN_x4.pth and most "old arch" community models); grey and RGBA models in
// any of them, and ESRGAN+ (Rakotonirina and Rasoanaivo 2020).
import type { ArchitectureModule, ModelDescription, Params } from '../types';
import { PLAIN_TRAITS, channelsNote, sizeRequirement } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import { WeightError } from '../../weights/tensors';
import type { StateDict } from '../../weights/state-dict';
import {
  countBlocks,
  countOldUpsampleStages,
  countUpsampleStages,
  readRrdbConfig,
  type RrdbLayout,
  type RrdbNetConfig,
} from './config';
import { buildRrdbNet } from './graph';

interface NamedLayout {
  readonly layout: Exclude<RrdbLayout, 'esrgan-2018'>;
  readonly label: string;
  /** Matches a dense conv inside the body and captures its block index. */
  readonly denseConv: RegExp;
  /** Matches an upsample conv and captures its 1-based stage number. */
  readonly upConv: RegExp;
  readonly upName: (stage: number) => string;
}

const NAMED_LAYOUTS: readonly NamedLayout[] = [
  {
    layout: 'basicsr',
    label: 'BasicSR / Real-ESRGAN keys',
    denseConv: /^body\.(\d+)\.rdb\d+\.conv\d+\.(weight|bias)$/,
    upConv: /^conv_up(\d+)\./,
    upName: (i) => `conv_up${i}`,
  },
  {
    layout: 'esrgan-2019',
    label: 'ESRGAN 2019 / BSRGAN keys',
    denseConv: /^RRDB_trunk\.(\d+)\.RDB\d+\.conv\d+\.(weight|bias)$/,
    upConv: /^upconv(\d+)\./,
    upName: (i) => `upconv${i}`,
  },
];

/** A dense conv of the 2018 layout, its block index captured. */
const OLD_BLOCK = /^model\.1\.sub\.(\d+)\.RDB\d+\./;

function readConfig(sd: StateDict): RrdbNetConfig {
  const keys = [...sd.keys()];
  if (sd.has('model.0.weight'))
    return readRrdbConfig(sd, 'esrgan-2018', countBlocks(keys, OLD_BLOCK), countOldUpsampleStages(keys));
  const named = NAMED_LAYOUTS.find((l) => keys.some((k) => l.denseConv.test(k)));
  if (!named)
    throw new WeightError('body.0', "no RRDB blocks found (expected keys such as 'body.0.rdb1.conv1.weight')");
  return readRrdbConfig(
    sd,
    named.layout,
    countBlocks(keys, named.denseConv),
    countUpsampleStages(keys, named.upConv, named.upName),
  );
}

function describe(config: RrdbNetConfig): ModelDescription {
  const unshuffled = config.unshuffleFactor > 1 ? `, pixel_unshuffle ${config.unshuffleFactor}` : '';
  const layoutLabel =
    config.layout === 'esrgan-2018'
      ? 'old ESRGAN keys'
      : (NAMED_LAYOUTS.find((l) => l.layout === config.layout)?.label ?? config.layout);
  // Upstream's constructor argument names, so the registry reads like the training config.
  // The 2018 constructor's `gc` was ignored upstream (growth is fixed at 32 there); this is
  // the growth the weights actually have.
  const params: Params =
    config.layout === 'esrgan-2018'
      ? {
          in_nc: config.inChannels,
          out_nc: config.outChannels,
          nf: config.numFeat,
          nb: config.numBlock,
          gc: config.numGrowCh,
          upscale: config.scale,
          pixel_unshuffle: config.unshuffleFactor,
          upsample_stages: config.upsampleStages,
          plus: config.plus,
        }
      : {
          num_in_ch: config.inChannels,
          num_out_ch: config.outChannels,
          scale: config.scale,
          num_feat: config.numFeat,
          num_block: config.numBlock,
          num_grow_ch: config.numGrowCh,
          pixel_unshuffle: config.unshuffleFactor,
          upsample_stages: config.upsampleStages,
          plus: config.plus,
        };
  const channels = { input: config.inChannels, output: config.outChannels };
  return {
    variant: `${config.plus ? 'ESRGAN+ RRDBNet' : 'RRDBNet'} (${layoutLabel}${unshuffled}${channelsNote(channels)})`,
    scale: config.scale,
    // Unshuffled inputs are reflect-padded inside the graph, so no multiple is needed.
    inputMultiple: 1,
    // spandrel asks for a multiple of 4 whenever the model unshuffles its input.
    traits: { ...PLAIN_TRAITS, channels, size: sizeRequirement(2, config.unshuffleFactor > 1 ? 4 : 1) },
    params,
  };
}

export const esrgan: ArchitectureModule<'esrgan', RrdbNetConfig> = {
  id: 'esrgan',
  label: 'ESRGAN (RRDBNet)',
  family: { id: 'esrgan', label: 'ESRGAN' },
  keys: hasAny(
    hasAll('model.0.weight', 'model.1.sub.0.RDB1.conv1.0.weight'),
    hasAll('conv_first.weight', 'body.0.rdb1.conv1.weight', 'conv_body.weight', 'conv_last.weight'),
    hasAll('conv_first.weight', 'RRDB_trunk.0.RDB1.conv1.weight', 'trunk_conv.weight', 'conv_last.weight'),
    hasAll('model.0.weight', 'model.1.sub.0.RDB1.conv1x1.weight'),
  ),
  readConfig,
  describe,
  build: buildRrdbNet,
};
