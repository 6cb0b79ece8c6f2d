// Swin2SR (Conde et al. 2022; mv-lab/swin2sr models/network_swin2sr.py, as spandrel 0.4.2
// ships it): SwinIR with Swin Transformer V2 blocks. Covers every head (classical
// pixelshuffle at x1 to x8 and x3, lightweight pixelshuffledirect, real-world nearest+conv
// x4, same-size restoration, and the compressed-SR pixelshuffle_aux and pixelshuffle_hf),
// 1conv or 3conv, with or without q/v biases and patch norm, RGB or grayscale weights.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import { shellParams } from '../swin-shell/shell';
import { readSwin2SRConfig, type Swin2SRConfig } from './config';
import { buildSwin2SRGraph } from './graph';

function describe(config: Swin2SRConfig): ModelDescription {
  const kind = {
    pixelshuffle: 'Swin2SR classical',
    pixelshuffle_aux: 'Swin2SR compressed-image SR (auxiliary head)',
    pixelshuffle_hf: 'Swin2SR classical with a high-frequency branch',
    pixelshuffledirect: 'Swin2SR lightweight',
    'nearest+conv': 'Swin2SR real-world',
    '': config.imgRange === 255 ? 'Swin2SR JPEG artifact reduction' : 'Swin2SR restoration (same size)',
  }[config.upsampler];
  return {
    variant: config.inChannels === 1 ? `${kind}, grayscale` : kind,
    scale: config.head.scale,
    inputMultiple: config.windowSize,
    // spandrel: no fp16 ("too much weirdness"), at least 16 px.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(16),
      fp16: false,
    },
    params: {
      ...shellParams(config),
      upsampler: config.upsampler,
      qkv_bias: config.qkvBias,
      img_size: config.imgSize,
    },
  };
}

export const swin2sr: ArchitectureModule<'swin2sr', Swin2SRConfig> = {
  id: 'swin2sr',
  label: 'Swin2SR',
  // spandrel's condition: SwinIR's keys plus the patch-embedding conv, which SwinIR lacks.
  keys: hasAll(
    'layers.0.residual_group.blocks.0.norm1.weight',
    'patch_embed.proj.weight',
    'conv_first.weight',
    'layers.0.residual_group.blocks.0.mlp.fc1.bias',
    'layers.0.residual_group.blocks.0.attn.relative_position_index',
  ),
  readConfig: readSwin2SRConfig,
  describe,
  build: buildSwin2SRGraph,
};
