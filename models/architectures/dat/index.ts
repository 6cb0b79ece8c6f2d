// DAT, the Dual Aggregation Transformer (Chen et al. 2023; zhengchen1999/DAT
// basicsr/archs/dat_arch.py, as spandrel 0.4.2 ships it): residual groups alternating
// spatial window attention (two branches with transposed rectangular windows and a dynamic
// position bias) and channel attention, each with a convolution branch and gated feed-forward.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import { datVariantName, readDatConfig, type DatConfig } from './config';
import { buildDatGraph } from './graph';

function describe(config: DatConfig): ModelDescription {
  const params: Record<string, number | string | boolean | readonly number[]> = {
    embed_dim: config.embedDim,
    depth: config.depths,
    num_heads: config.numHeads,
    split_size: config.splitSize,
    expansion_factor: config.expansionFactor,
    qkv_bias: config.qkvBias,
    resi_connection: config.resiConnection,
    upscale: config.head.scale,
    upsampler: config.head.upsampler,
    img_range: config.imgRange,
  };
  if (config.imgSize !== null) params['img_size'] = config.imgSize;
  return {
    variant: datVariantName(config),
    scale: config.head.scale,
    // Spatial attention pads to this internally; tiles that are multiples avoid padding.
    inputMultiple: Math.max(...config.splitSize),
    // spandrel: no fp16 ("too much weirdness"), at least 16 px. The adaptive channel
    // attention attends across every token and its channel interaction pools the whole
    // input, so tiles differ from it (26 to 42 dB tiled against whole on the fixtures).
    traits: { ...PLAIN_TRAITS, context: 'global', size: sizeRequirement(16), fp16: false },
    params,
  };
}

export const dat: ArchitectureModule<'dat', DatConfig> = {
  id: 'dat',
  label: 'DAT',
  // spandrel's DAT keys, less the position buffers (split_size can then be given) and the
  // head's: enough to tell DAT from RGT, whose blocks have an MLP where DAT has ffn.sg.
  keys: hasAll(
    'conv_first.weight',
    'before_RG.1.weight',
    'layers.0.blocks.0.ffn.sg.norm.weight',
    'layers.0.blocks.0.attn.dwconv.0.weight',
    'layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight',
  ),
  readConfig: (sd) => readDatConfig(sd),
  describe,
  build: buildDatGraph,
};
