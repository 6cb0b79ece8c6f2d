// HAT, the Hybrid Attention Transformer (Chen et al. 2023; XPixelGroup/HAT
// hat/archs/hat_arch.py), in SwinIR's shell (../swin-shell). Each residual group (RHAG) is
// a run of hybrid attention blocks (HAB: shifted-window attention plus a channel-attention
// conv branch CAB scaled by conv_scale) followed by one overlapping cross-attention block
// (OCAB), whose keys and values come from larger windows that overlap their neighbours.
// Upstream's arch needs H and W to be multiples of the window and leaves padding to its
// model wrapper (reflect pad, crop the output); the graph does that padding itself.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import {
  checkStoredBuffer,
  dimOf,
  requireConv,
  requireLinear,
  requireNorm,
  requireShape,
  type BiasRule,
} from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import type { GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { layerNorm } from '../../nn/norm';
import { channelAttention } from '../../nn/channel-attention';
import { toFeatureMap, toTokenGrid } from '../../nn/shape';
import {
  NO_SHIFT,
  mergeHeads,
  multiHeadAttention,
  splitHeads,
  squareWindow,
  storedPositionBias,
  swinRelativePositionIndex,
  type GridShift,
  type WindowGrid,
} from '../../nn/window-attention';
import { readHead } from '../swin-shell/heads';
import {
  DIV2K_RGB_MEAN,
  LAYER_NORM_EPS,
  buildShellGraph,
  readResidualConnections,
  readShallowConv,
  requireShellTensors,
  shellParams,
  type ShellConfig,
} from '../swin-shell/shell';
import {
  blockWindowAttention,
  groupDepth,
  mlp,
  readAttentionTable,
  requireMlp,
  requireSwinBlock,
} from '../swin-shell/blocks';

/** `depths` counts the HABs of each residual group (RHAG), not the group's OCAB. */
export interface HATConfig extends ShellConfig {
  /** embed_dim / CAB's squeezed conv width. */
  readonly compressRatio: number;
  /** embed_dim / channel attention's bottleneck width. */
  readonly squeezeFactor: number;
  /** Weight of the CAB branch; 0.01 in every released HAT, and not stored in the weights. */
  readonly convScale: number;
  /** OCAB's key/value window: window + int(window × overlap_ratio). */
  readonly overlapWindowSize: number;
  readonly overlapRatio: number;
  /** Whether the attention projections (q, k, v) have a bias (upstream qkv_bias). */
  readonly qkvBias: boolean;
}

const SA_INDEX_KEY = 'relative_position_index_SA';
const OCA_INDEX_KEY = 'relative_position_index_OCA';
const DEFAULT_CONV_SCALE = 0.01;

function blockPrefix(layer: number, block: number): string {
  return `layers.${layer}.residual_group.blocks.${block}`;
}

function ocabPrefix(layer: number): string {
  return `layers.${layer}.residual_group.overlap_attn`;
}

/**
 * HAT's relative_position_index_OCA: query i in the ws × ws window, key j in the
 * overlapping ows × ows window, offset d = key − query per axis shifted by
 * ws − ows + 1 and combined with stride ws + ows − 1. Some entries are negative;
 * PyTorch indexing wraps them, and positionBias does the same.
 */
export function overlapRelativePositionIndex(windowSize: number, overlapSize: number): Int32Array {
  const nq = windowSize * windowSize;
  const nk = overlapSize * overlapSize;
  const offset = windowSize - overlapSize + 1;
  const stride = windowSize + overlapSize - 1;
  const index = new Int32Array(nq * nk);
  for (let i = 0; i < nq; i++) {
    const yi = Math.floor(i / windowSize);
    const xi = i % windowSize;
    for (let j = 0; j < nk; j++) {
      const yj = Math.floor(j / overlapSize);
      const xj = j % overlapSize;
      index[i * nk + j] = (yj - yi + offset) * stride + (xj - xi + offset);
    }
  }
  return index;
}

interface GroupShape {
  readonly depth: number;
  readonly heads: number;
  readonly windowSize: number;
  readonly hidden: number;
  readonly compressed: number;
  readonly squeezed: number;
  readonly overlapSize: number;
}

/** Reads one RHAG's hyper-parameters and checks every tensor of its HABs and OCAB. */
function readGroup(sd: StateDict, layer: number, c: number, qkvBias: BiasRule): GroupShape {
  const depth = groupDepth(sd, layer);
  const p0 = blockPrefix(layer, 0);
  const { key: tableKey, rows, windowSize, heads } = readAttentionTable(sd, `${p0}.attn`, c);
  const hidden = dimOf(sd, `${p0}.mlp.fc1.weight`, 2, 0, 'the MLP');
  const compressed = dimOf(sd, `${p0}.conv_block.cab.0.weight`, 4, 0, 'the CAB compression conv');
  const squeezed = dimOf(sd, `${p0}.conv_block.cab.3.attention.1.weight`, 4, 0, 'the CAB channel attention');

  for (let b = 0; b < depth; b++) {
    const p = blockPrefix(layer, b);
    requireShape(sd, `${p}.attn.relative_position_bias_table`, [rows, heads]);
    requireSwinBlock(sd, p, c, hidden, qkvBias);
    requireConv(sd, `${p}.conv_block.cab.0`, { out: compressed, in: c, kernel: 3 });
    requireConv(sd, `${p}.conv_block.cab.2`, { out: c, in: compressed, kernel: 3 });
    requireConv(sd, `${p}.conv_block.cab.3.attention.1`, { out: squeezed, in: c, kernel: 1 });
    requireConv(sd, `${p}.conv_block.cab.3.attention.3`, { out: c, in: squeezed, kernel: 1 });
  }

  const o = ocabPrefix(layer);
  const ocaTableKey = `${o}.relative_position_bias_table`;
  const what = 'overlapping attention bias table [(window + overlap window − 1)², heads]';
  const ocaRows = dimOf(sd, ocaTableKey, 2, 0, what);
  const side = Math.round(Math.sqrt(ocaRows));
  const overlapSize = side + 1 - windowSize;
  if (side * side !== ocaRows || overlapSize < windowSize || (overlapSize - windowSize) % 2 !== 0) {
    throw new WeightError(
      ocaTableKey,
      `tensor '${ocaTableKey}' has ${ocaRows} rows, expected (window + overlap window − 1)² with an overlap window ` +
        `exceeding window ${windowSize} by an even amount`,
    );
  }
  requireShape(sd, ocaTableKey, [ocaRows, heads]);
  requireNorm(sd, `${o}.norm1`, c);
  requireNorm(sd, `${o}.norm2`, c);
  requireLinear(sd, `${o}.qkv`, 3 * c, c, qkvBias);
  requireLinear(sd, `${o}.proj`, c, c);
  const ocaHidden = dimOf(sd, `${o}.mlp.fc1.weight`, 2, 0, 'the OCAB MLP');
  if (ocaHidden !== hidden) {
    throw new WeightError(
      `${o}.mlp.fc1.weight`,
      `tensor '${o}.mlp.fc1.weight' has ${ocaHidden} outputs, expected ${hidden} like '${tableKey}''s block MLP`,
    );
  }
  requireMlp(sd, `${o}.mlp`, c, hidden);
  return { depth, heads, windowSize, hidden, compressed, squeezed, overlapSize };
}

/** Reads every hyper-parameter from key names and shapes. */
function readHATConfig(sd: StateDict): HATConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3], 'HAT');
  // Upstream's qkv_bias: every q, k, v projection has a bias, or none has.
  const qkvBias = sd.has(`${blockPrefix(0, 0)}.attn.qkv.bias`);
  const layerCount = countNumbered(sd, 'layers');
  const groups = Array.from({ length: layerCount }, (_, i) =>
    readGroup(sd, i, embedDim, qkvBias ? 'required' : 'none'),
  );
  const [g0] = groups;
  if (!g0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");
  groups.forEach((g, i) => {
    for (const field of ['windowSize', 'hidden', 'compressed', 'squeezed', 'overlapSize'] as const) {
      if (g[field] !== g0[field]) {
        throw new WeightError(`layers.${i}`, `layer ${i} has ${field} ${g[field]}, layer 0 has ${g0[field]}`);
      }
    }
  });

  const ws = g0.windowSize;
  const ows = g0.overlapSize;
  const n = ws * ws;
  const layout = "HAT's relative-position layout";
  checkStoredBuffer(sd, SA_INDEX_KEY, swinRelativePositionIndex(squareWindow(ws)), [n, n], layout);
  checkStoredBuffer(sd, OCA_INDEX_KEY, overlapRelativePositionIndex(ws, ows), [n, ows * ows], layout);

  const resiConnection = readResidualConnections(sd, layerCount, ['1conv', 'identity'] as const);
  const config: HATConfig = {
    inChannels,
    embedDim,
    head: readHead(sd, { embedDim, outChannels: inChannels, allowed: ['pixelshuffle'] }),
    resiConnection,
    patchNorm: sd.has('patch_embed.norm.weight'),
    windowSize: ws,
    imgRange: 1,
    rgbMean: DIV2K_RGB_MEAN,
    depths: groups.map((g) => g.depth),
    numHeads: groups.map((g) => g.heads),
    mlpRatio: g0.hidden / embedDim,
    compressRatio: embedDim / g0.compressed,
    squeezeFactor: embedDim / g0.squeezed,
    convScale: DEFAULT_CONV_SCALE,
    overlapWindowSize: ows,
    overlapRatio: (ows - ws) / ws,
    qkvBias,
  };
  requireShellTensors(sd, config, layerCount);
  return config;
}

function describe(config: HATConfig): ModelDescription {
  const { scale } = config.head;
  return {
    variant: `HAT (embed ${config.embedDim}, ${config.depths.length} groups, window ${config.windowSize})`,
    scale,
    inputMultiple: config.windowSize,
    // spandrel: no fp16, at least 16 px.
    traits: { ...PLAIN_TRAITS, size: sizeRequirement(16), fp16: false },
    params: {
      ...shellParams(config),
      compress_ratio: config.compressRatio,
      squeeze_factor: config.squeezeFactor,
      conv_scale: config.convScale,
      overlap_ratio: config.overlapRatio,
      qkv_bias: config.qkvBias,
    },
  };
}

/** CAB on an NCHW map: conv, GELU, conv, then channel attention. */
function channelAttentionBlock(ctx: GraphContext, x: string, prefix: string): string {
  const features = conv2d(ctx, gelu(ctx, conv2d(ctx, x, `${prefix}.cab.0`)), `${prefix}.cab.2`);
  return channelAttention(ctx, features, {
    squeeze: `${prefix}.cab.3.attention.1`,
    excite: `${prefix}.cab.3.attention.3`,
  });
}

function hybridAttentionBlock(
  ctx: GraphContext,
  grid: WindowGrid,
  x: string,
  prefix: string,
  heads: number,
  shift: GridShift,
  c: HATConfig,
): string {
  const normed = layerNorm(ctx, x, `${prefix}.norm1`, LAYER_NORM_EPS);
  const convBranch = toTokenGrid(ctx, channelAttentionBlock(ctx, toFeatureMap(ctx, normed), `${prefix}.conv_block`));
  const attended = blockWindowAttention(ctx, grid, normed, prefix, {
    channels: c.embedDim,
    heads,
    windowSize: c.windowSize,
    shift,
  });
  const g = ctx.g;
  const mixed = g.op('Add', [g.op('Add', [x, attended]), g.op('Mul', [convBranch, ctx.scalar(c.convScale)])]);
  return g.op('Add', [mixed, mlp(ctx, layerNorm(ctx, mixed, `${prefix}.norm2`, LAYER_NORM_EPS), `${prefix}.mlp`)]);
}

function overlappingCrossAttentionBlock(
  ctx: GraphContext,
  grid: WindowGrid,
  x: string,
  prefix: string,
  heads: number,
  c: HATConfig,
): string {
  const g = ctx.g;
  const channels = c.embedDim;
  const headDim = channels / heads;
  const n = c.windowSize * c.windowSize;
  const ows = c.overlapWindowSize;
  const qkv = linear(ctx, layerNorm(ctx, x, `${prefix}.norm1`, LAYER_NORM_EPS), `${prefix}.qkv`);
  const lastAxis = ctx.ints([3]);
  const q = g.op('Slice', [qkv, ctx.ints([0]), ctx.ints([channels]), lastAxis], {}, `${prefix}.q`);
  const kv = g.op('Slice', [qkv, ctx.ints([channels]), ctx.ints([3 * channels]), lastAxis], {}, `${prefix}.kv`);
  const [query] = splitHeads(ctx, grid.partition(q, channels), 1, heads, headDim);
  const [key, value] = splitHeads(ctx, grid.overlappingWindows(kv, 2 * channels, squareWindow(ows)), 2, heads, headDim);
  if (query === undefined || key === undefined || value === undefined) throw new Error('splitHeads gave too few parts');
  const bias = storedPositionBias(
    ctx,
    `${prefix}.relative_position_bias_table`,
    'overlap',
    overlapRelativePositionIndex(c.windowSize, ows),
    n,
    ows * ows,
  );
  const attended = multiHeadAttention(ctx, { query, key, value, scale: headDim ** -0.5, biases: [bias] });
  const merged = grid.reverse(mergeHeads(ctx, attended, channels), channels);
  const afterAttention = g.op('Add', [linear(ctx, merged, `${prefix}.proj`), x]);
  const normed = layerNorm(ctx, afterAttention, `${prefix}.norm2`, LAYER_NORM_EPS);
  return g.op('Add', [afterAttention, mlp(ctx, normed, `${prefix}.mlp`)]);
}

function build(sd: StateDict, config: HATConfig): Uint8Array {
  const ws = config.windowSize;
  return buildShellGraph(sd, {
    graphName: 'hat',
    config,
    layerCount: config.depths.length,
    residualGroup: (ctx, tokens, layer, grid) => {
      const heads = config.numHeads[layer] ?? 0;
      let x = tokens;
      for (let b = 0; b < (config.depths[layer] ?? 0); b++) {
        // Odd HABs use shifted windows (upstream AttenBlocks: shift window_size // 2).
        const half = Math.floor(ws / 2);
        const shift = b % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT;
        x = hybridAttentionBlock(ctx, grid, x, blockPrefix(layer, b), heads, shift, config);
      }
      return overlappingCrossAttentionBlock(ctx, grid, x, ocabPrefix(layer), heads, config);
    },
  });
}

export const hat: ArchitectureModule<'hat', HATConfig> = {
  id: 'hat',
  label: 'HAT',
  keys: hasAll(
    'layers.0.residual_group.blocks.0.conv_block.cab.0.weight',
    'layers.0.residual_group.overlap_attn.relative_position_bias_table',
  ),
  readConfig: readHATConfig,
  describe,
  build,
};
