// OmniSR, Omni Aggregation Networks for Lightweight Image Super-Resolution (Wang et al.
// 2023), as spandrel 0.4.2 has it: configuration in config.ts, forward in graph.ts.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import { readOmniSRConfig, type OmniSRConfig } from './config';
import { buildOmniSR } from './graph';

function describe(c: OmniSRConfig): ModelDescription {
  return {
    variant: `OmniSR (${c.features} features, ${c.groups} OSAG × ${c.blocks} blocks, window ${c.windowSize}${c.positionBias ? '' : ', no position bias'})`,
    scale: c.scale,
    // The graph zero-pads to the window itself, as the forward does; the engine's padding
    // to an input multiple mirrors the edge instead, which the forward never sees.
    inputMultiple: 1,
    // spandrel: at least 16 px (ESA's strided conv and 7×7 pool need 15 after padding to the window).
    // Its global pooling and channel attention see the whole input, so tiles differ from it.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: c.inChannels, output: c.outChannels },
      size: sizeRequirement(16),
      context: 'global',
    },
    params: {
      num_in_ch: c.inChannels,
      num_out_ch: c.outChannels,
      num_feat: c.features,
      block_num: c.blocks,
      pe: c.positionBias,
      window_size: c.windowSize,
      res_num: c.groups,
      up_scale: c.scale,
      bias: c.bias,
    },
  };
}

export const omnisr: ArchitectureModule<'omnisr', OmniSRConfig> = {
  id: 'omnisr',
  label: 'OmniSR',
  keys: hasAll('residual_layer.0.residual_layer.0.layer.0.fn.0.weight', 'input.weight', 'up.0.weight'),
  readConfig: readOmniSRConfig,
  describe,
  build: buildOmniSR,
};
