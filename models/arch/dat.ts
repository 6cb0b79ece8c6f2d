// DAT (Dual Aggregation Transformer, Chen et al. 2023): detection from a state dict with
// upstream key names (zhengchen1999/DAT, basicsr/archs/dat_arch.py) and ONNX export.
import type { StateDict } from '../readers/state-dict';
import type { Architecture, Detected } from './types';
import { datVariantName, detectDatConfig, type DatConfig, type DatOverrides } from './dat-config';
import { buildDatGraph } from './dat-graph';

export type { DatConfig, DatOverrides, DatResiConnection, DatUpsampler } from './dat-config';
export { detectDatConfig } from './dat-config';

/** Detection with caller-supplied values for what the weights may not record. */
export function detectDat(sd: StateDict, overrides: DatOverrides = {}): Detected<DatConfig> | null {
  const config = detectDatConfig(sd, overrides);
  if (!config) return null;
  const params: Record<string, number | string | boolean | readonly number[]> = {
    embed_dim: config.embedDim,
    depth: config.depths,
    num_heads: config.numHeads,
    split_size: config.splitSize,
    expansion_factor: config.expansionFactor,
    qkv_bias: config.qkvBias,
    resi_connection: config.resiConnection,
    upsampler: config.upsampler,
    img_range: config.imgRange,
  };
  if (config.imgSize !== null) params['img_size'] = config.imgSize;
  return {
    info: {
      family: 'dat',
      variant: datVariantName(config),
      scale: config.scale,
      // Spatial attention pads to this internally; tiles that are multiples avoid padding.
      inputMultiple: Math.max(...config.splitSize),
      params,
    },
    config,
  };
}

export const dat: Architecture<DatConfig> = {
  name: 'dat',
  detect: (sd) => detectDat(sd),
  build: (sd, config) => buildDatGraph(sd, config),
};
