// DRCT, the Dense-residual-connected Transformer (Hsu et al. 2024; ming053l/DRCT, as
// spandrel 0.4.2 ships it), in SwinIR's shell (../swin-shell). Each residual dense group
// (RDG) runs five Swin blocks densely connected: block k sees the group's input
// concatenated with the k − 1 growth features (gc channels each, a 1×1 conv and LeakyReLU
// after each block), the fifth block's conv returns to embed_dim, and the group adds 0.2 ×
// that to its input. Blocks 2 and 4 use shifted windows when the model was built for
// images larger than one window.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { checkStoredBuffer, dimOf, requireConv, requireShape } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { imageGraph, type GraphContext } from '../../nn/context';
import { leakyRelu } from '../../nn/activation';
import { pointwiseConv } from '../../nn/linear';
import { padAxisTo, roundUp, runtimeDim } from '../../nn/shape';
import { NO_SHIFT, squareWindow, swinRelativePositionIndex, type WindowGrid } from '../../nn/window-attention';
import { readHead, type Head } from '../swin-shell/heads';
import {
  buildShellGraph,
  readResidualConv,
  readShallowConv,
  requireShellTensors,
  upstreamMean,
  type ShellConfig,
} from '../swin-shell/shell';
import { readAttentionTable, requireSwinBlock, swinBlock } from '../swin-shell/blocks';
import { attr } from '../../onnx/graph';

/** Swin blocks in every RDG (swin1 … swin5), each followed by its adjust conv. */
const BLOCKS = 5;
/** The blocks that use shifted windows (upstream shift_size window // 2). */
const SHIFTED_BLOCKS: ReadonlySet<number> = new Set([2, 4]);
/** Blocks 4 and 5 are built with mlp_ratio 1 whatever the model's mlp_ratio. */
const FULL_RATIO_BLOCKS = 3;
/** What each RDG adds of its last conv's output to its input. */
const DENSE_RESIDUAL_SCALE = 0.2;
/** spandrel's size requirement for every DRCT, whatever its window. */
const DESCRIPTOR_MULTIPLE = 16;

/**
 * The shell's numHeads are each RDG's first block's; block k has heads − ((embed + (k − 1)·gc)
 * mod heads). Its depths are the five blocks of every RDG.
 */
export interface DRCTConfig extends ShellConfig {
  /** Growth channels of each dense connection (upstream gc). */
  readonly growth: number;
  readonly qkvBias: boolean;
  /**
   * The training size spandrel reads from the stored shift masks (the window itself when
   * there are none); blocks 2 and 4 shift their windows only when it exceeds the window.
   */
  readonly imgSize: number;
}

function blockPrefix(layer: number, block: number): string {
  return `layers.${layer}.swin${block}`;
}

/** Width of block k's tokens: the group's input and k − 1 growth features. */
function blockChannels(c: Pick<DRCTConfig, 'embedDim' | 'growth'>, block: number): number {
  return c.embedDim + (block - 1) * c.growth;
}

/** Upstream RDG: every block after the first takes num_heads − (its width mod num_heads) heads. */
function blockHeads(heads: number, channels: number, block: number): number {
  return block === 1 ? heads : heads - (channels % heads);
}

function isShifted(c: DRCTConfig, block: number): boolean {
  return c.imgSize > c.windowSize && SHIFTED_BLOCKS.has(block);
}

/** Checks every tensor of RDG `layer` (its heads read from swin1's table) and returns the heads. */
function readGroup(sd: StateDict, layer: number, c: Omit<DRCTConfig, 'numHeads' | 'head'>): number {
  const { heads, windowSize } = readAttentionTable(sd, `${blockPrefix(layer, 1)}.attn`, c.embedDim);
  if (windowSize !== c.windowSize) {
    throw new WeightError(
      blockPrefix(layer, 1),
      `layer ${layer} has window ${windowSize}, layer 0 has ${c.windowSize}`,
    );
  }
  const rows = (2 * windowSize - 1) ** 2;
  const n = windowSize * windowSize;
  for (let k = 1; k <= BLOCKS; k++) {
    const p = blockPrefix(layer, k);
    const channels = blockChannels(c, k);
    const h = blockHeads(heads, channels, k);
    requireShape(sd, `${p}.attn.relative_position_bias_table`, [rows, h]);
    if (channels % h !== 0) {
      throw new WeightError(p, `'${p}' has ${h} heads for ${channels} channels, which they do not divide`);
    }
    const hidden = k <= FULL_RATIO_BLOCKS ? Math.trunc(channels * c.mlpRatio) : channels;
    requireSwinBlock(sd, p, channels, hidden, c.qkvBias ? 'required' : 'none');
    const index = swinRelativePositionIndex(squareWindow(windowSize));
    checkStoredBuffer(sd, `${p}.attn.relative_position_index`, index, [n, n], "Swin's relative-position layout");
    const out = k < BLOCKS ? c.growth : c.embedDim;
    requireConv(sd, `layers.${layer}.adjust${k}`, { out, in: channels, kernel: 1 });
  }
  return heads;
}

/** spandrel's img_size: from the first stored shift mask ((img / window)² windows), else the window. */
function readImgSize(sd: StateDict, windowSize: number): number {
  const key = `${blockPrefix(0, 2)}.attn_mask`;
  if (!sd.has(key)) return windowSize;
  const windows = dimOf(sd, key, 3, 0, 'a shift mask [windows, N, N]');
  const side = Math.floor(Math.sqrt(windows));
  if (side * side !== windows || side < 2) {
    throw new WeightError(key, `tensor '${key}' holds ${windows} windows, expected a square number above 1`);
  }
  return side * windowSize;
}

/** Reads every hyper-parameter as spandrel's DRCT loader does, checking every tensor the graph uses. */
export function readDRCTConfig(sd: StateDict): DRCTConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3, 1], 'DRCT');
  const layerCount = countNumbered(sd, 'layers');
  if (layerCount === 0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");
  const { windowSize } = readAttentionTable(sd, `${blockPrefix(0, 1)}.attn`, embedDim);
  const shape = {
    inChannels,
    embedDim,
    resiConnection: readResidualConv(sd, 'conv_after_body', ['1conv', 'identity']),
    patchNorm: sd.has('patch_embed.norm.weight'),
    windowSize,
    imgRange: 1,
    rgbMean: upstreamMean(inChannels),
    mlpRatio: dimOf(sd, `${blockPrefix(0, 1)}.mlp.fc1.weight`, 2, 0, 'the MLP') / embedDim,
    growth: dimOf(sd, 'layers.0.adjust1.weight', 4, 0, 'the first growth conv'),
    qkvBias: sd.has(`${blockPrefix(0, 1)}.attn.qkv.bias`),
    imgSize: readImgSize(sd, windowSize),
    depths: Array.from({ length: layerCount }, () => BLOCKS),
  };
  const numHeads = Array.from({ length: layerCount }, (_, i) => readGroup(sd, i, shape));
  // Without conv_last upstream's forward has no reconstruction at all (upsampler '').
  const head: Head = sd.has('conv_last.weight')
    ? readHead(sd, { embedDim, outChannels: inChannels, allowed: ['pixelshuffle'] })
    : { upsampler: '', scale: 1, numFeat: 0, stages: [], upsamplePrefix: 'upsample' };
  const config: DRCTConfig = { ...shape, numHeads, head };
  requireShellTensors(sd, config, layerCount, 'identity');
  return config;
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/** The multiple spandrel's descriptor pads to, made one the forward also runs on. */
function paddedMultiple(windowSize: number): number {
  return (windowSize * DESCRIPTOR_MULTIPLE) / greatestCommonDivisor(windowSize, DESCRIPTOR_MULTIPLE);
}

function describe(config: DRCTConfig): ModelDescription {
  const { upsampler, scale } = config.head;
  const base = `DRCT (embed ${config.embedDim}, ${config.numHeads.length} groups, window ${config.windowSize})`;
  const variant = upsampler === '' ? `${base} without reconstruction (returns its input)` : base;
  return {
    variant: config.inChannels === 1 ? `${variant}, grayscale` : variant,
    scale,
    // What spandrel pads to; a tile of such a size is run as it is.
    inputMultiple: paddedMultiple(config.windowSize),
    // spandrel: multiple of 16 whatever the window, no fp16.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: config.inChannels, output: config.inChannels },
      size: sizeRequirement(0, DESCRIPTOR_MULTIPLE),
      fp16: false,
    },
    params: {
      img_size: config.imgSize,
      embed_dim: config.embedDim,
      // As spandrel reports it: (6,) per group, which upstream only uses for drop-path rates.
      depths: config.numHeads.map(() => 6),
      num_heads: config.numHeads,
      window_size: config.windowSize,
      mlp_ratio: config.mlpRatio,
      qkv_bias: config.qkvBias,
      upscale: scale,
      upsampler,
      resi_connection: config.resiConnection,
      gc: config.growth,
      patch_norm: config.patchNorm,
      in_chans: config.inChannels,
      img_range: config.imgRange,
    },
  };
}

/**
 * The input as spandrel runs it. The forward needs H and W multiples of the window and
 * does not pad; the descriptor pads to multiples of 16 (reflected, then the edge repeated).
 * Where the forward runs as it is, so does the graph (what `call_fn` gives); elsewhere it
 * pads as the descriptor does, to a multiple the forward also runs on. The engine pads
 * tiles to that multiple itself (inputMultiple), so its tiles always match the descriptor.
 */
function padAsSpandrel(ctx: GraphContext, input: string, windowSize: number): string {
  const g = ctx.g;
  const multiple = paddedMultiple(windowSize);
  const height = runtimeDim(ctx, input, 2);
  const width = runtimeDim(ctx, input, 3);
  const fitsWindow = (length: string): string =>
    g.op('Equal', [g.op('Mod', [length, ctx.ints([windowSize])]), ctx.ints([0])]);
  const runsAsIs = g.op('And', [fitsWindow(height), fitsWindow(width)], {}, 'runs_as_is');
  const target = (length: string): string => g.op('Where', [runsAsIs, length, roundUp(ctx, length, multiple)]);
  const rows = padAxisTo(ctx, input, 2, height, target(height));
  return padAxisTo(ctx, rows, 3, width, target(width));
}

/** One RDG on a [B, H, W, C] grid; returns 0.2 × its last conv, which the shell adds to the input. */
function residualDenseGroup(ctx: GraphContext, grid: WindowGrid, x: string, layer: number, c: DRCTConfig): string {
  const half = Math.floor(c.windowSize / 2);
  const heads = c.numHeads[layer] ?? 0;
  const features = [x];
  for (let k = 1; k <= BLOCKS; k++) {
    const channels = blockChannels(c, k);
    const input = k === 1 ? x : ctx.g.op('Concat', features, { axis: attr.int(3) }, 'dense_concat');
    const attended = swinBlock(ctx, grid, input, blockPrefix(layer, k), {
      channels,
      heads: blockHeads(heads, channels, k),
      windowSize: c.windowSize,
      shift: isShifted(c, k) ? { rows: half, cols: half } : NO_SHIFT,
    });
    const adjusted = pointwiseConv(ctx, attended, `layers.${layer}.adjust${k}`);
    if (k === BLOCKS) return ctx.g.op('Mul', [adjusted, ctx.scalar(DENSE_RESIDUAL_SCALE)]);
    features.push(leakyRelu(ctx, adjusted, 0.2));
  }
  throw new Error('unreachable: an RDG ends at its last block');
}

function build(sd: StateDict, config: DRCTConfig): Uint8Array {
  if (config.head.upsampler === '') {
    // (x − mean)·img_range / img_range + mean, as the forward computes it.
    const c = config.inChannels;
    const spec = { name: 'drct', sd, inputChannels: c, outputChannels: c, description: 'drct' };
    return imageGraph(spec, (ctx, input) => {
      const mean = ctx.g.f32('rgb_mean', config.rgbMean, [1, config.rgbMean.length, 1, 1]);
      return ctx.g.op('Add', [ctx.g.op('Sub', [input, mean]), mean]);
    });
  }
  return buildShellGraph(sd, {
    graphName: 'drct',
    config,
    layerCount: config.numHeads.length,
    groupConnection: 'identity',
    padInput: (ctx, input) => padAsSpandrel(ctx, input, config.windowSize),
    residualGroup: (ctx, tokens, layer, grid) => residualDenseGroup(ctx, grid, tokens, layer, config),
  });
}

export const drct: ArchitectureModule<'drct', DRCTConfig> = {
  id: 'drct',
  label: 'DRCT',
  keys: hasAll(
    'conv_first.weight',
    'conv_first.bias',
    'layers.0.swin1.norm1.weight',
    'layers.0.swin1.norm1.bias',
    'layers.0.swin1.attn.relative_position_bias_table',
    'layers.0.swin1.attn.relative_position_index',
    'layers.0.swin1.attn.qkv.weight',
    'layers.0.swin1.attn.proj.weight',
    'layers.0.swin1.attn.proj.bias',
    'layers.0.swin1.norm2.weight',
    'layers.0.swin1.mlp.fc1.weight',
    'layers.0.swin1.mlp.fc1.bias',
    'layers.0.swin1.mlp.fc2.weight',
    'layers.0.adjust1.weight',
    'layers.0.swin2.norm1.weight',
    'layers.0.adjust2.weight',
    'layers.0.swin3.norm1.weight',
    'layers.0.adjust3.weight',
    'layers.0.swin4.norm1.weight',
    'layers.0.adjust4.weight',
    'layers.0.swin5.norm1.weight',
    'layers.0.adjust5.weight',
    'norm.weight',
    'norm.bias',
  ),
  readConfig: readDRCTConfig,
  describe,
  build,
};
