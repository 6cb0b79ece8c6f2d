// ATD, the Adaptive Token Dictionary transformer (Zhang et al. 2024; LabShuHangGU/Adaptive-
// Token-Dictionary, as spandrel 0.4.2 ships it), in SwinIR's shell: window attention, a
// cross attention to a learned token dictionary that each layer refines from the image, and
// attention within groups of tokens of the same dictionary category. Every head SwinIR has
// (pixelshuffle, pixelshuffledirect for ATD-light, nearest+conv x4, and '' restoration).
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import { atdVariantName, readATDConfig, type ATDConfig } from './config';
import { ATD_MINIMUM_SIZE, buildATDGraph } from './graph';

function describe(config: ATDConfig): ModelDescription {
  const variant = atdVariantName(config);
  return {
    variant: config.inChannels === 1 ? `${variant}, grayscale` : variant,
    scale: config.head.scale,
    // The forward mirrors its input to a multiple of the window itself, as spandrel runs it.
    inputMultiple: 1,
    // spandrel: at least 8 px, no fp16. The token dictionary is refined from every token and
    // tokens are grouped by category across the whole input, so tiles differ from it.
    traits: {
      ...PLAIN_TRAITS,
      context: 'global',
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(ATD_MINIMUM_SIZE),
      fp16: false,
    },
    params: {
      in_chans: config.inChannels,
      embed_dim: config.embedDim,
      depths: config.depths,
      num_heads: config.numHeads,
      window_size: config.windowSize,
      category_size: config.categorySize,
      num_tokens: config.numTokens,
      reducted_dim: config.reductedDim,
      convffn_kernel_size: config.convffnKernelSize,
      mlp_ratio: config.mlpRatio,
      qkv_bias: config.qkvBias,
      patch_norm: config.patchNorm,
      upscale: config.head.scale,
      img_range: config.imgRange,
      upsampler: config.head.upsampler,
      resi_connection: config.resiConnection,
      norm: config.norm,
    },
  };
}

export const atd: ArchitectureModule<'atd', ATDConfig> = {
  id: 'atd',
  label: 'ATD',
  keys: hasAll(
    'relative_position_index_SA',
    'conv_first.weight',
    'conv_first.bias',
    'layers.0.residual_group.td',
    'layers.0.residual_group.layers.0.sigma',
    'layers.0.residual_group.layers.0.norm1.weight',
    'layers.0.residual_group.layers.0.norm1.bias',
    'layers.0.residual_group.layers.0.norm2.weight',
    'layers.0.residual_group.layers.0.norm2.bias',
    'layers.0.residual_group.layers.0.norm3.weight',
    'layers.0.residual_group.layers.0.norm3.bias',
    'layers.0.residual_group.layers.0.wqkv.weight',
    'layers.0.residual_group.layers.0.attn_win.relative_position_bias_table',
    'layers.0.residual_group.layers.0.attn_win.proj.weight',
    'layers.0.residual_group.layers.0.attn_win.proj.bias',
    'layers.0.residual_group.layers.0.attn_atd.scale',
    'layers.0.residual_group.layers.0.attn_atd.wq.weight',
    'layers.0.residual_group.layers.0.attn_atd.wk.weight',
    'layers.0.residual_group.layers.0.attn_atd.wv.weight',
    'layers.0.residual_group.layers.0.attn_aca.logit_scale',
    'layers.0.residual_group.layers.0.attn_aca.proj.weight',
    'layers.0.residual_group.layers.0.convffn.fc1.weight',
    'layers.0.residual_group.layers.0.convffn.fc1.bias',
    'layers.0.residual_group.layers.0.convffn.dwconv.depthwise_conv.0.weight',
    'layers.0.residual_group.layers.0.convffn.dwconv.depthwise_conv.0.bias',
    'layers.0.residual_group.layers.0.convffn.fc2.weight',
    'layers.0.residual_group.layers.0.convffn.fc2.bias',
    'norm.weight',
    'norm.bias',
  ),
  readConfig: readATDConfig,
  describe,
  build: buildATDGraph,
};
