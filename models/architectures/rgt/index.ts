// RGT, the Recursive Generalization Transformer (Chen et al. 2024; zhengchen1999/RGT, as
// spandrel 0.4.2 ships it): DAT's shell and spatial window attention (L-SA) alternating with
// recursive-generalization attention (RG-SA), in which every token attends to a small
// summary of the whole image, and a layer-scaled shortcut (HAI) around each block.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import { readRGTConfig, rgtVariantName, type RGTConfig } from './config';
import { RGT_MINIMUM_SIZE, buildRGTGraph } from './graph';

function describe(config: RGTConfig): ModelDescription {
  const variant = rgtVariantName(config);
  return {
    variant: config.inChannels === 1 ? `${variant}, grayscale` : variant,
    scale: config.head.scale,
    // The forward pads itself (zeros after the q/k/v projection), as spandrel runs it.
    inputMultiple: 1,
    // spandrel: at least 16 px, no fp16. RG-SA attends to a summary of the whole input, so
    // tiles differ from the whole image.
    traits: {
      ...PLAIN_TRAITS,
      context: 'global',
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(RGT_MINIMUM_SIZE),
      fp16: false,
    },
    params: {
      in_chans: config.inChannels,
      embed_dim: config.embedDim,
      depth: config.depths,
      num_heads: config.numHeads,
      mlp_ratio: config.mlpRatio,
      qkv_bias: config.qkvBias,
      upscale: config.head.scale,
      img_range: config.imgRange,
      resi_connection: config.resiConnection,
      split_size: config.splitSize,
      c_ratio: config.cRatio,
    },
  };
}

export const rgt: ArchitectureModule<'rgt', RGTConfig> = {
  id: 'rgt',
  label: 'RGT',
  keys: hasAll(
    'conv_first.weight',
    'before_RG.1.weight',
    'layers.0.blocks.0.gamma',
    'layers.0.blocks.0.norm1.weight',
    'layers.0.blocks.0.attn.qkv.weight',
    'layers.0.blocks.0.attn.proj.weight',
    'layers.0.blocks.0.attn.attns.0.rpe_biases',
    'layers.0.blocks.0.attn.attns.0.relative_position_index',
    'layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight',
    'layers.0.blocks.0.mlp.fc1.weight',
    'layers.0.blocks.0.mlp.fc2.weight',
    'layers.0.blocks.0.norm2.weight',
    'norm.weight',
    hasAny('conv_after_body.weight', 'conv_after_body.0.weight'),
    'conv_before_upsample.0.weight',
    'conv_last.weight',
  ),
  readConfig: readRGTConfig,
  describe,
  build: buildRGTGraph,
};
