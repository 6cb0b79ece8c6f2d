// GRL (Li et al. 2023, "Efficient and Explicit Modelling of Image Hierarchies for Image
// Restoration"; ofsoundof/GRL-Image-Restoration, as spandrel 0.4.2 ships it): stages of
// blocks mixing Swin V2 window attention with anchored stripe attention, optionally a
// channel-attention conv branch (GRL-Base). Every head (pixelshuffle, pixelshuffledirect,
// nearest+conv x4, same-size restoration), qkv and anchor projection, conv type, with the
// 'model.' and 'model_g.' key prefixes of the official checkpoints; RGB or grey weights.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import { canonicalGrlWeights, readGrlConfig, type GrlConfig } from './config';
import { buildGrlGraph } from './graph';

function describe(config: GrlConfig): ModelDescription {
  const [s0, s1] = config.stripeSize;
  const grey = config.channels === 1 ? ', grayscale' : '';
  const size = config.depths.length < 6 ? (config.embedDim >= 96 ? 'small' : 'tiny') : 'base';
  return {
    variant: `GRL ${size} (embed ${config.embedDim}, window ${config.windowSize}, stripe ${s0}×${s1})${grey}`,
    scale: config.head.scale,
    inputMultiple: config.padSize,
    // spandrel: no fp16, no size requirement.
    traits: { ...PLAIN_TRAITS, channels: { input: config.channels, output: config.channels }, fp16: false },
    params: {
      in_channels: config.channels,
      out_channels: config.channels,
      embed_dim: config.embedDim,
      upscale: config.head.scale,
      upsampler: config.head.upsampler,
      depths: config.depths,
      num_heads_window: config.headsWindow,
      num_heads_stripe: config.headsStripe,
      window_size: config.windowSize,
      stripe_size: config.stripeSize,
      stripe_shift: true,
      mlp_ratio: config.mlpHidden / config.embedDim,
      qkv_bias: config.qkvBias,
      qkv_proj_type: config.qkvProjection,
      anchor_proj_type: config.anchorProjection,
      anchor_one_stage: config.anchorOneStage,
      anchor_window_down_factor: config.anchorDownFactor,
      local_connection: config.localConnection,
      conv_type: config.convType,
    },
  };
}

/** spandrel's condition, for bare keys and the official checkpoints' 'model.' and 'model_g.' prefixes. */
function grlKeys(prefix: string) {
  return hasAll(
    `${prefix}conv_first.weight`,
    `${prefix}norm_start.weight`,
    `${prefix}norm_end.weight`,
    `${prefix}layers.0.blocks.0.attn.window_attn.attn_transform.logit_scale`,
    `${prefix}layers.0.blocks.0.attn.stripe_attn.attn_transform1.logit_scale`,
  );
}

export const grl: ArchitectureModule<'grl', GrlConfig> = {
  id: 'grl',
  label: 'GRL',
  keys: hasAny(grlKeys(''), grlKeys('model.'), grlKeys('model_g.')),
  readConfig: (sd) => readGrlConfig(canonicalGrlWeights(sd)),
  describe,
  build: (sd, config) => buildGrlGraph(canonicalGrlWeights(sd), config),
};
