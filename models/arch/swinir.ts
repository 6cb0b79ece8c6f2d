// SwinIR (Liang et al. 2021; JingyunLiang/SwinIR models/network_swinir.py): residual Swin
// transformer blocks inside the image-restoration shell of swinir-common.ts. Covers the
// classical (pixelshuffle), lightweight (pixelshuffledirect), real-world (nearest+conv,
// ×2 and ×4) and same-size restoration ('' head: denoising, JPEG) variants, 1conv or
// 3conv residual convs, RGB or grayscale weights.
import type { Architecture, Detected } from './types';
import type { StateDict } from '../readers/state-dict';
import type { LayerBuilder } from '../onnx/layers';
import {
  type ShellConfig,
  buildShellGraph,
  checkShellTensors,
  countChildren,
  detectResidualConv,
  detectUpsampler,
  expectSwinBlock,
  groupDepth,
  type SwinGroupShape,
  mlp,
  readAttentionTable,
  requireShape,
  upstreamMean,
} from './swinir-common';
import {
  type GridShift,
  type WindowGrid,
  NO_SHIFT,
  checkStoredIndex,
  relativePositionBias,
  squareWindow,
  swinRelativePositionIndex,
  windowSelfAttention,
} from '../onnx/window-attention';

export interface SwinIRConfig extends ShellConfig {
  /** Swin blocks per residual group (RSTB). */
  readonly depths: readonly number[];
  /** Attention heads per residual group. */
  readonly numHeads: readonly number[];
  /** MLP hidden width / embed_dim. */
  readonly mlpRatio: number;
}

const SIGNATURE_KEY = 'layers.0.residual_group.blocks.0.attn.relative_position_bias_table';

function blockPrefix(layer: number, block: number): string {
  return `layers.${layer}.residual_group.blocks.${block}`;
}

/**
 * True for state dicts laid out like SwinIR but belonging to a relative that computes
 * something else: HAT (channel-attention and overlapping-attention blocks) and Swin2SR
 * (cosine attention with a continuous position-bias MLP).
 */
function isOtherSwinFamily(sd: StateDict): boolean {
  for (const key of sd.keys()) {
    if (key.includes('.conv_block.') || key.includes('.overlap_attn.') || key.startsWith('relative_position_index_'))
      return true;
    if (key.endsWith('.logit_scale') || key.includes('.cpb_mlp.')) return true;
  }
  return false;
}

/** Reads one residual group's depth, heads, window and MLP width, checking every block's tensors. */
function readGroup(sd: StateDict, layer: number, embedDim: number): SwinGroupShape {
  const depth = groupDepth(sd, layer);
  let first: SwinGroupShape | undefined;
  for (let b = 0; b < depth; b++) {
    const p = blockPrefix(layer, b);
    const { windowSize, heads } = readAttentionTable(sd, p, embedDim);
    const hidden = requireShape(sd, `${p}.mlp.fc1.weight`, 2, 'MLP')[0] as number;
    expectSwinBlock(sd, p, embedDim, hidden);
    const n = windowSize * windowSize;
    const indexKey = `${p}.attn.relative_position_index`;
    checkStoredIndex(indexKey, sd.get(indexKey), swinRelativePositionIndex(squareWindow(windowSize)), n, n);
    const shape = { depth, heads, windowSize, hidden };
    if (!first) first = shape;
    else if (shape.heads !== first.heads || shape.windowSize !== first.windowSize || shape.hidden !== first.hidden) {
      throw new Error(
        `'${p}' has ${shape.heads} heads, window ${shape.windowSize}, MLP ${shape.hidden}; ` +
          `block 0 of layer ${layer} has ${first.heads}, ${first.windowSize}, ${first.hidden}`,
      );
    }
  }
  return first as SwinGroupShape;
}

/** Recognises SwinIR weights and reads every hyper-parameter from key names and shapes. */
export function detectSwinIR(sd: StateDict): Detected<SwinIRConfig> | null {
  // The bias table alone is shared by relatives with other attention layouts (separate
  // q and kv projections), hence the packed qkv too.
  if (!sd.has(SIGNATURE_KEY) || !sd.has('layers.0.residual_group.blocks.0.attn.qkv.weight') || isOtherSwinFamily(sd))
    return null;

  const [embedDim, inChannels] = requireShape(sd, 'conv_first.weight', 4, 'shallow feature conv') as [number, number];
  if (inChannels !== 3 && inChannels !== 1) {
    throw new Error(`'conv_first.weight' takes ${inChannels} input channels, expected 3 (RGB) or 1 (grayscale)`);
  }
  if (sd.has('absolute_pos_embed')) {
    throw new Error(
      `'absolute_pos_embed' (ape=True) ties the network to its training size; expected no absolute position embedding`,
    );
  }

  const layerCount = countChildren(sd, 'layers.');
  const groups = Array.from({ length: layerCount }, (_, i) => readGroup(sd, i, embedDim));
  const g0 = groups[0] as SwinGroupShape;
  groups.forEach((g, i) => {
    if (g.windowSize !== g0.windowSize || g.hidden !== g0.hidden) {
      throw new Error(
        `layer ${i} has window ${g.windowSize} and MLP ${g.hidden}, layer 0 has ${g0.windowSize} and ${g0.hidden}`,
      );
    }
  });

  const resiConnection = detectResidualConv(sd, 'conv_after_body', ['1conv', '3conv']);
  for (let i = 0; i < layerCount; i++) {
    const own = detectResidualConv(sd, `layers.${i}.conv`, ['1conv', '3conv']);
    if (own !== resiConnection)
      throw new Error(`'layers.${i}.conv' is ${own} but 'conv_after_body' is ${resiConnection}`);
  }
  const { upsampler, scale } = detectUpsampler(sd, embedDim, inChannels);
  const patchNorm = sd.has('patch_embed.norm.weight');
  // Upstream's JPEG artifact-reduction models, the only released SwinIR with window 7
  // (JPEG's 8×8 blocks), were trained with img_range 255; every other release uses 1.
  // The weights do not record it, so the window size is the tell.
  const jpegArtifactModel = upsampler === '' && g0.windowSize === 7;

  const config: SwinIRConfig = {
    inChannels,
    embedDim,
    scale,
    upsampler,
    resiConnection,
    patchNorm,
    windowSize: g0.windowSize,
    imgRange: jpegArtifactModel ? 255 : 1,
    rgbMean: upstreamMean(inChannels),
    depths: groups.map((g) => g.depth),
    numHeads: groups.map((g) => g.heads),
    mlpRatio: g0.hidden / embedDim,
  };
  checkShellTensors(sd, config, layerCount);
  const head = {
    pixelshuffle: 'SwinIR classical',
    pixelshuffledirect: 'SwinIR lightweight',
    'nearest+conv': 'SwinIR real-world',
    '': jpegArtifactModel ? 'SwinIR JPEG artifact reduction' : 'SwinIR restoration (same size)',
  }[upsampler];
  const variant = inChannels === 1 ? `${head}, grayscale (applied per RGB channel)` : head;
  return {
    info: {
      family: 'swinir',
      variant,
      scale,
      inputMultiple: config.windowSize,
      params: {
        embed_dim: embedDim,
        depths: config.depths,
        num_heads: config.numHeads,
        window_size: config.windowSize,
        mlp_ratio: config.mlpRatio,
        upsampler,
        resi_connection: resiConnection,
        patch_norm: patchNorm,
        in_chans: inChannels,
        img_range: config.imgRange,
      },
    },
    config,
  };
}

function swinBlock(
  lb: LayerBuilder,
  grid: WindowGrid,
  x: string,
  prefix: string,
  heads: number,
  shift: GridShift,
  c: SwinIRConfig,
): string {
  const n = c.windowSize * c.windowSize;
  const index = swinRelativePositionIndex(squareWindow(c.windowSize));
  const positionBias = relativePositionBias(lb, `${prefix}.attn.relative_position_bias_table`, 'window', index, n, n);

  const attended = windowSelfAttention(lb, grid, lb.layerNorm(x, `${prefix}.norm1`), {
    channels: c.embedDim,
    heads,
    shift,
    qkvPrefix: `${prefix}.attn.qkv`,
    projPrefix: `${prefix}.attn.proj`,
    positionBias,
  });
  const afterAttention = lb.add(x, attended);
  return lb.add(afterAttention, mlp(lb, lb.layerNorm(afterAttention, `${prefix}.norm2`), `${prefix}.mlp`));
}

/** Builds the ONNX graph for weights `detectSwinIR` accepted. */
export function buildSwinIR(sd: StateDict, config: SwinIRConfig): Uint8Array {
  return buildShellGraph(sd, {
    graphName: 'swinir',
    config,
    layerCount: config.depths.length,
    residualGroup: (lb, tokens, layer, grid) => {
      let x = tokens;
      const depth = config.depths[layer] as number;
      for (let b = 0; b < depth; b++) {
        // Odd blocks use shifted windows (upstream BasicLayer: shift window_size // 2).
        const half = Math.floor(config.windowSize / 2);
        const shift = b % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT;
        x = swinBlock(lb, grid, x, blockPrefix(layer, b), config.numHeads[layer] as number, shift, config);
      }
      return x;
    },
  });
}

export const swinir: Architecture<SwinIRConfig> = {
  name: 'SwinIR',
  detect: detectSwinIR,
  build: buildSwinIR,
};
