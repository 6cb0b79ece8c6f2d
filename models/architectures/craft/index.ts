// CRAFT, the Cross-Refinement Adaptive Fusion Transformer (Li et al. 2023;
// AVC2-UESTC/CRAFT-SR, as spandrel 0.4.2 ships it): residual groups of shifted rectangular
// window attention fused with a high-frequency convolution branch, and a one-step
// pixel-shuffle head. Any scale, window, width, depth and head count, with or without qkv
// bias and conv_after_body, RGB or grayscale weights.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import { PAD_UNIT, readCraftConfig, type CraftConfig } from './config';
import { buildCraftGraph } from './graph';

function describe(config: CraftConfig): ModelDescription {
  const [s0, s1] = config.splitSize;
  const grey = config.inChannels === 1 ? ', grayscale' : '';
  return {
    variant: `CRAFT (embed ${config.embedDim}, window ${s0}×${s1})${grey}`,
    scale: config.scale,
    inputMultiple: PAD_UNIT,
    // spandrel: fp16 and bf16, at least 16 px and a multiple of 16.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(16, PAD_UNIT),
      // Its fusion blocks attend across channels with queries and keys normalised over the
      // whole input, and shifts roll without a mask: tiles differ from the whole image.
      context: 'global',
    },
    params: {
      in_chans: config.inChannels,
      window_size: PAD_UNIT,
      embed_dim: config.embedDim,
      depths: config.depths,
      num_heads: config.numHeads,
      split_size_0: s0,
      split_size_1: s1,
      mlp_ratio: config.mlpHidden / config.embedDim,
      qkv_bias: config.qkvBias,
      upscale: config.scale,
      img_range: 1,
      resi_connection: config.resiConnection,
    },
  };
}

export const craft: ArchitectureModule<'craft', CraftConfig> = {
  id: 'craft',
  label: 'CRAFT',
  keys: hasAll('conv_first.weight', 'layers.0.residual_group.hf_blocks.0.attn.temperature'),
  readConfig: readCraftConfig,
  describe,
  build: buildCraftGraph,
};
