// SwinIR (Liang et al. 2021; JingyunLiang/SwinIR models/network_swinir.py): residual Swin
// transformer blocks inside the image-restoration shell (../swin-shell). Covers the
// classical (pixelshuffle), lightweight (pixelshuffledirect), real-world (nearest+conv, ×2
// and ×4) and same-size restoration ('' head: denoising, JPEG) variants, 1conv or 3conv
// residual convs, RGB or grayscale weights, and DiffBIR's SwinIR (its input
// pixel-unshuffled ×8 before the shallow conv, a ×8 nearest+conv head: x1 overall).
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { checkStoredBuffer, dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { NO_SHIFT, squareWindow, swinRelativePositionIndex } from '../../nn/window-attention';
import { readHead } from '../swin-shell/heads';
import {
  buildShellGraph,
  readResidualConnections,
  readShallowConv,
  requireShellTensors,
  shellParams,
  upstreamMean,
  type ShellConfig,
} from '../swin-shell/shell';
import { groupDepth, readAttentionTable, requireSwinBlock, swinBlock } from '../swin-shell/blocks';

/** SwinIR is the shell with Swin blocks in its residual groups (RSTB), its input unshuffled or not. */
export interface SwinIRConfig extends ShellConfig {
  readonly startUnshuffle: number;
}

interface GroupShape {
  readonly depth: number;
  readonly heads: number;
  readonly windowSize: number;
  readonly hidden: number;
}

function blockPrefix(layer: number, block: number): string {
  return `layers.${layer}.residual_group.blocks.${block}`;
}

/** Reads one residual group's depth, heads, window and MLP width, checking every block's tensors. */
function readGroup(sd: StateDict, layer: number, embedDim: number): GroupShape {
  const depth = groupDepth(sd, layer);
  const shapes = Array.from({ length: depth }, (_, b): GroupShape => {
    const p = blockPrefix(layer, b);
    const { windowSize, heads } = readAttentionTable(sd, `${p}.attn`, embedDim);
    const hidden = dimOf(sd, `${p}.mlp.fc1.weight`, 2, 0, 'the MLP');
    requireSwinBlock(sd, p, embedDim, hidden);
    const n = windowSize * windowSize;
    const index = swinRelativePositionIndex(squareWindow(windowSize));
    checkStoredBuffer(sd, `${p}.attn.relative_position_index`, index, [n, n], "Swin's relative-position layout");
    return { depth, heads, windowSize, hidden };
  });
  const [first, ...rest] = shapes;
  if (!first) throw new WeightError(blockPrefix(layer, 0), `residual group ${layer} is empty`);
  rest.forEach((shape, i) => {
    if (shape.heads !== first.heads || shape.windowSize !== first.windowSize || shape.hidden !== first.hidden) {
      const p = blockPrefix(layer, i + 1);
      throw new WeightError(
        p,
        `'${p}' has ${shape.heads} heads, window ${shape.windowSize}, MLP ${shape.hidden}; ` +
          `block 0 of layer ${layer} has ${first.heads}, ${first.windowSize}, ${first.hidden}`,
      );
    }
  });
  return first;
}

/**
 * The shallow conv: `conv_first` on RGB or grey, or DiffBIR's `conv_first.1` after a
 * PixelUnshuffle, whose factor spandrel reads from its input channels as RGB × factor².
 */
function readShallow(sd: StateDict): { embedDim: number; inChannels: number; startUnshuffle: number } {
  const key = 'conv_first.1.weight';
  if (!sd.has(key)) return { ...readShallowConv(sd, [3, 1], 'SwinIR'), startUnshuffle: 1 };
  const factor = Math.round(Math.sqrt(dimOf(sd, key, 4, 1, 'the unshuffled shallow conv') / 3));
  const { embedDim } = readShallowConv(sd, [3 * factor * factor], "SwinIR with DiffBIR's unshuffled RGB input", key);
  return { embedDim, inChannels: 3, startUnshuffle: factor };
}

/** Reads every hyper-parameter from key names and shapes. */
function readSwinIRConfig(sd: StateDict): SwinIRConfig {
  const { embedDim, inChannels, startUnshuffle } = readShallow(sd);

  const layerCount = countNumbered(sd, 'layers');
  const groups = Array.from({ length: layerCount }, (_, i) => readGroup(sd, i, embedDim));
  const [g0] = groups;
  if (!g0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");
  groups.forEach((g, i) => {
    if (g.windowSize !== g0.windowSize || g.hidden !== g0.hidden) {
      throw new WeightError(
        `layers.${i}`,
        `layer ${i} has window ${g.windowSize} and MLP ${g.hidden}, layer 0 has ${g0.windowSize} and ${g0.hidden}`,
      );
    }
  });

  const resiConnection = readResidualConnections(sd, layerCount, ['1conv', '3conv'] as const);
  const head = readHead(sd, {
    embedDim,
    outChannels: inChannels,
    allowed: ['pixelshuffle', 'pixelshuffledirect', 'nearest+conv', ''],
  });
  // Upstream's JPEG artifact-reduction models, the only released SwinIR with window 7
  // (JPEG's 8×8 blocks), were trained with img_range 255; every other release uses 1.
  // The weights do not record it, so the window size is the tell.
  const jpegArtifactModel = head.upsampler === '' && g0.windowSize === 7;
  const config: SwinIRConfig = {
    inChannels,
    embedDim,
    head,
    resiConnection,
    patchNorm: sd.has('patch_embed.norm.weight'),
    windowSize: g0.windowSize,
    imgRange: jpegArtifactModel ? 255 : 1,
    rgbMean: upstreamMean(inChannels),
    depths: groups.map((g) => g.depth),
    numHeads: groups.map((g) => g.heads),
    mlpRatio: g0.hidden / embedDim,
    startUnshuffle,
  };
  if (head.scale % startUnshuffle !== 0) {
    throw new WeightError(
      'conv_last.weight',
      `the head upscales x${head.scale}, which undoes no whole number of the input's unshuffle by ${startUnshuffle}`,
    );
  }
  requireShellTensors(sd, config, layerCount);
  return config;
}

function describe(config: SwinIRConfig): ModelDescription {
  const { upsampler } = config.head;
  const unshuffle = config.startUnshuffle;
  const jpeg = upsampler === '' && config.imgRange === 255;
  const kind = {
    pixelshuffle: 'SwinIR classical',
    pixelshuffledirect: 'SwinIR lightweight',
    'nearest+conv': 'SwinIR real-world',
    '': jpeg ? 'SwinIR JPEG artifact reduction' : 'SwinIR restoration (same size)',
  }[upsampler];
  const input =
    unshuffle > 1 ? `, DiffBIR's input (pixel-unshuffled ×${unshuffle})` : config.inChannels === 1 ? ', grayscale' : '';
  return {
    variant: `${kind}${input}`,
    scale: config.head.scale / unshuffle,
    inputMultiple: config.windowSize * unshuffle,
    // spandrel: no fp16 ("too much weirdness"), at least 16 px and a multiple of unshuffle²,
    // tiling discouraged.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(16, unshuffle * unshuffle),
      tiling: 'discouraged',
      fp16: false,
    },
    params: { ...shellParams(config), start_unshuffle: unshuffle },
  };
}

function build(sd: StateDict, config: SwinIRConfig): Uint8Array {
  return buildShellGraph(sd, {
    graphName: 'swinir',
    config,
    layerCount: config.depths.length,
    residualGroup: (ctx, tokens, layer, grid) => {
      let x = tokens;
      const depth = config.depths[layer] ?? 0;
      const heads = config.numHeads[layer] ?? 0;
      for (let b = 0; b < depth; b++) {
        // Odd blocks use shifted windows (upstream BasicLayer: shift window_size // 2).
        const half = Math.floor(config.windowSize / 2);
        const shift = b % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT;
        x = swinBlock(ctx, grid, x, blockPrefix(layer, b), {
          channels: config.embedDim,
          heads,
          windowSize: config.windowSize,
          shift,
        });
      }
      return x;
    },
  });
}

export const swinir: ArchitectureModule<'swinir', SwinIRConfig> = {
  id: 'swinir',
  label: 'SwinIR',
  keys: hasAll(
    'layers.0.residual_group.blocks.0.attn.relative_position_bias_table',
    'layers.0.residual_group.blocks.0.attn.qkv.weight',
  ),
  readConfig: readSwinIRConfig,
  describe,
  build,
};
