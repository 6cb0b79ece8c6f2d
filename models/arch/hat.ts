// HAT, the Hybrid Attention Transformer (Chen et al. 2023; XPixelGroup/HAT
// hat/archs/hat_arch.py), in SwinIR's shell (swinir-common.ts). Each residual group
// (RHAG) is a run of hybrid attention blocks (HAB: shifted-window attention plus a
// channel-attention conv branch CAB scaled by conv_scale) followed by one overlapping
// cross-attention block (OCAB), whose keys and values come from larger windows that
// overlap their neighbours. Upstream's arch needs H and W to be multiples of the window
// and leaves padding to its model wrapper (reflect pad, crop the output); the graph does
// that padding itself, so any input size works.
import type { Architecture, Detected } from './types';
import type { StateDict } from '../readers/state-dict';
import type { LayerBuilder } from '../onnx/layers';
import {
  type ShellConfig,
  DIV2K_RGB_MEAN,
  buildShellGraph,
  checkShellTensors,
  countChildren,
  detectResidualConv,
  detectUpsampler,
  expectConv,
  expectLinear,
  expectNorm,
  expectShape,
  mlp,
  requireShape,
  readAttentionTable,
  expectSwinBlock,
  groupDepth,
  type SwinGroupShape,
} from './swinir-common';
import {
  type GridShift,
  type WindowGrid,
  NO_SHIFT,
  checkStoredIndex,
  mergeHeads,
  multiHeadAttention,
  relativePositionBias,
  splitHeads,
  squareWindow,
  swinRelativePositionIndex,
  toFeatureMap,
  toTokenGrid,
  windowSelfAttention,
} from '../onnx/window-attention';

export interface HATConfig extends ShellConfig {
  /** HABs per residual group (RHAG), not counting the group's OCAB. */
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  readonly mlpRatio: number;
  /** embed_dim / CAB's squeezed conv width. */
  readonly compressRatio: number;
  /** embed_dim / channel attention's bottleneck width. */
  readonly squeezeFactor: number;
  /** Weight of the CAB branch; 0.01 in every released HAT, and not stored in the weights. */
  readonly convScale: number;
  /** OCAB's key/value window: window + int(window × overlap_ratio). */
  readonly overlapWindowSize: number;
  readonly overlapRatio: number;
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
 * PyTorch indexing wraps them, and relativePositionBias does the same.
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

interface GroupShape extends SwinGroupShape {
  readonly compressed: number;
  readonly squeezed: number;
  readonly overlapSize: number;
}

/** Reads one RHAG's hyper-parameters and checks every tensor of its HABs and OCAB. */
function readGroup(sd: StateDict, layer: number, c: number): GroupShape {
  const depth = groupDepth(sd, layer);
  const p0 = blockPrefix(layer, 0);
  const { key: tableKey, rows, windowSize, heads } = readAttentionTable(sd, p0, c);
  const hidden = requireShape(sd, `${p0}.mlp.fc1.weight`, 2, 'MLP')[0] as number;
  const compressed = requireShape(sd, `${p0}.conv_block.cab.0.weight`, 4, 'CAB compression conv')[0] as number;
  const squeezed = requireShape(
    sd,
    `${p0}.conv_block.cab.3.attention.1.weight`,
    4,
    'CAB channel attention',
  )[0] as number;

  for (let b = 0; b < depth; b++) {
    const p = blockPrefix(layer, b);
    expectShape(sd, `${p}.attn.relative_position_bias_table`, [rows, heads]);
    expectSwinBlock(sd, p, c, hidden);
    expectConv(sd, `${p}.conv_block.cab.0`, compressed, c, 3);
    expectConv(sd, `${p}.conv_block.cab.2`, c, compressed, 3);
    expectConv(sd, `${p}.conv_block.cab.3.attention.1`, squeezed, c, 1);
    expectConv(sd, `${p}.conv_block.cab.3.attention.3`, c, squeezed, 1);
  }

  const o = ocabPrefix(layer);
  const ocaTableKey = `${o}.relative_position_bias_table`;
  const ocaTable = requireShape(sd, ocaTableKey, 2, 'overlapping attention bias table');
  const side = Math.round(Math.sqrt(ocaTable[0] as number));
  const overlapSize = side + 1 - windowSize;
  if (side * side !== ocaTable[0] || overlapSize < windowSize || (overlapSize - windowSize) % 2 !== 0) {
    throw new Error(
      `'${ocaTableKey}' has ${ocaTable[0]} rows, expected (window + overlap window − 1)² with an overlap window ` +
        `exceeding window ${windowSize} by an even amount`,
    );
  }
  if (ocaTable[1] !== heads)
    throw new Error(`'${ocaTableKey}' has ${ocaTable[1]} heads, expected ${heads} like '${tableKey}'`);
  expectNorm(sd, `${o}.norm1`, c);
  expectNorm(sd, `${o}.norm2`, c);
  expectLinear(sd, `${o}.qkv`, 3 * c, c);
  expectLinear(sd, `${o}.proj`, c, c);
  const ocaHidden = requireShape(sd, `${o}.mlp.fc1.weight`, 2, 'OCAB MLP')[0] as number;
  if (ocaHidden !== hidden)
    throw new Error(`'${o}.mlp.fc1.weight' has ${ocaHidden} outputs, expected ${hidden} like the HABs' MLP`);
  expectLinear(sd, `${o}.mlp.fc1`, hidden, c);
  expectLinear(sd, `${o}.mlp.fc2`, c, hidden);
  return { depth, heads, windowSize, hidden, compressed, squeezed, overlapSize };
}

/** Recognises HAT weights and reads every hyper-parameter from key names and shapes. */
export function detectHAT(sd: StateDict): Detected<HATConfig> | null {
  if (
    !sd.has('layers.0.residual_group.blocks.0.conv_block.cab.0.weight') ||
    !sd.has('layers.0.residual_group.overlap_attn.relative_position_bias_table')
  ) {
    return null;
  }
  const [embedDim, inChannels] = requireShape(sd, 'conv_first.weight', 4, 'shallow feature conv') as [number, number];
  if (inChannels !== 3) {
    throw new Error(
      `'conv_first.weight' takes ${inChannels} input channels; only 3-channel (RGB) HAT models are supported`,
    );
  }
  if (sd.has('absolute_pos_embed')) {
    throw new Error(
      `'absolute_pos_embed' (ape=True) ties the network to its training size; expected no absolute position embedding`,
    );
  }

  const layerCount = countChildren(sd, 'layers.');
  const groups = Array.from({ length: layerCount }, (_, i) => readGroup(sd, i, embedDim));
  const g0 = groups[0] as GroupShape;
  groups.forEach((g, i) => {
    for (const field of ['windowSize', 'hidden', 'compressed', 'squeezed', 'overlapSize'] as const) {
      if (g[field] !== g0[field]) throw new Error(`layer ${i} has ${field} ${g[field]}, layer 0 has ${g0[field]}`);
    }
  });

  const ws = g0.windowSize;
  const n = ws * ws;
  checkStoredIndex(SA_INDEX_KEY, sd.get(SA_INDEX_KEY), swinRelativePositionIndex(squareWindow(ws)), n, n);
  const ows = g0.overlapSize;
  checkStoredIndex(OCA_INDEX_KEY, sd.get(OCA_INDEX_KEY), overlapRelativePositionIndex(ws, ows), n, ows * ows);

  const resiConnection = detectResidualConv(sd, 'conv_after_body', ['1conv', 'identity']);
  for (let i = 0; i < layerCount; i++) {
    const own = detectResidualConv(sd, `layers.${i}.conv`, ['1conv', 'identity']);
    if (own !== resiConnection)
      throw new Error(`'layers.${i}.conv' is ${own} but 'conv_after_body' is ${resiConnection}`);
  }
  const { upsampler, scale } = detectUpsampler(sd, embedDim, inChannels);
  if (upsampler !== 'pixelshuffle') {
    throw new Error(
      `HAT's reconstruction head is pixelshuffle ('conv_before_upsample', 'upsample.*', 'conv_last'); found a ${upsampler || 'no-upsampling'} head`,
    );
  }
  const patchNorm = sd.has('patch_embed.norm.weight');

  const config: HATConfig = {
    inChannels,
    embedDim,
    scale,
    upsampler,
    resiConnection,
    patchNorm,
    windowSize: ws,
    imgRange: 1,
    rgbMean: DIV2K_RGB_MEAN,
    depths: groups.map((g) => g.depth),
    numHeads: groups.map((g) => g.heads),
    mlpRatio: g0.hidden / embedDim,
    compressRatio: embedDim / g0.compressed,
    squeezeFactor: embedDim / g0.squeezed,
    convScale: DEFAULT_CONV_SCALE,
    overlapWindowSize: g0.overlapSize,
    overlapRatio: (g0.overlapSize - ws) / ws,
  };
  checkShellTensors(sd, config, layerCount);
  return {
    info: {
      family: 'hat',
      variant: `HAT (embed ${embedDim}, ${layerCount} groups, window ${ws})`,
      scale,
      inputMultiple: ws,
      params: {
        embed_dim: embedDim,
        depths: config.depths,
        num_heads: config.numHeads,
        window_size: ws,
        mlp_ratio: config.mlpRatio,
        compress_ratio: config.compressRatio,
        squeeze_factor: config.squeezeFactor,
        conv_scale: config.convScale,
        overlap_ratio: config.overlapRatio,
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

/** CAB on an NCHW map: conv, GELU, conv, then channel attention (squeeze-excite). */
function channelAttentionBlock(lb: LayerBuilder, x: string, prefix: string): string {
  const features = lb.conv2d(lb.gelu(lb.conv2d(x, `${prefix}.cab.0`)), `${prefix}.cab.2`);
  const pooled = lb.g.op('GlobalAveragePool', [features], {}, `${prefix}.pool`);
  const squeezed = lb.g.op('Relu', [lb.conv2d(pooled, `${prefix}.cab.3.attention.1`)]);
  const weights = lb.g.op('Sigmoid', [lb.conv2d(squeezed, `${prefix}.cab.3.attention.3`)]);
  return lb.mul(features, weights);
}

function hybridAttentionBlock(
  lb: LayerBuilder,
  grid: WindowGrid,
  x: string,
  prefix: string,
  heads: number,
  shift: GridShift,
  c: HATConfig,
): string {
  const n = c.windowSize * c.windowSize;
  const normed = lb.layerNorm(x, `${prefix}.norm1`);
  const convBranch = toTokenGrid(lb, channelAttentionBlock(lb, toFeatureMap(lb, normed), `${prefix}.conv_block`));
  const attended = windowSelfAttention(lb, grid, normed, {
    channels: c.embedDim,
    heads,
    shift,
    qkvPrefix: `${prefix}.attn.qkv`,
    projPrefix: `${prefix}.attn.proj`,
    positionBias: relativePositionBias(
      lb,
      `${prefix}.attn.relative_position_bias_table`,
      'window',
      swinRelativePositionIndex(squareWindow(c.windowSize)),
      n,
      n,
    ),
  });
  const mixed = lb.add(lb.add(x, attended), lb.mul(convBranch, lb.scalar(c.convScale)));
  return lb.add(mixed, mlp(lb, lb.layerNorm(mixed, `${prefix}.norm2`), `${prefix}.mlp`));
}

function overlappingCrossAttentionBlock(
  lb: LayerBuilder,
  grid: WindowGrid,
  x: string,
  prefix: string,
  heads: number,
  c: HATConfig,
): string {
  const channels = c.embedDim;
  const headDim = channels / heads;
  const n = c.windowSize * c.windowSize;
  const ows = c.overlapWindowSize;
  const qkv = lb.linear(lb.layerNorm(x, `${prefix}.norm1`), `${prefix}.qkv`);
  const lastAxis = lb.ints([3]);
  const q = lb.g.op('Slice', [qkv, lb.ints([0]), lb.ints([channels]), lastAxis], {}, `${prefix}.q`);
  const kv = lb.g.op('Slice', [qkv, lb.ints([channels]), lb.ints([3 * channels]), lastAxis], {}, `${prefix}.kv`);
  const [query] = splitHeads(lb, grid.partition(q, channels), 1, heads, headDim) as [string];
  const [key, value] = splitHeads(
    lb,
    grid.overlappingWindows(kv, 2 * channels, squareWindow(ows)),
    2,
    heads,
    headDim,
  ) as [string, string];
  const bias = relativePositionBias(
    lb,
    `${prefix}.relative_position_bias_table`,
    'overlap',
    overlapRelativePositionIndex(c.windowSize, ows),
    n,
    ows * ows,
  );
  const attended = multiHeadAttention(lb, { query, key, value, scale: headDim ** -0.5, biases: [bias] });
  const merged = grid.reverse(mergeHeads(lb, attended, channels), channels);
  const afterAttention = lb.add(lb.linear(merged, `${prefix}.proj`), x);
  return lb.add(afterAttention, mlp(lb, lb.layerNorm(afterAttention, `${prefix}.norm2`), `${prefix}.mlp`));
}

/** Builds the ONNX graph for weights `detectHAT` accepted. */
export function buildHAT(sd: StateDict, config: HATConfig): Uint8Array {
  const ws = config.windowSize;
  return buildShellGraph(sd, {
    graphName: 'hat',
    config,
    layerCount: config.depths.length,
    residualGroup: (lb, tokens, layer, grid) => {
      const heads = config.numHeads[layer] as number;
      let x = tokens;
      for (let b = 0; b < (config.depths[layer] as number); b++) {
        // Odd HABs use shifted windows (upstream AttenBlocks: shift window_size // 2).
        const half = Math.floor(ws / 2);
        const shift = b % 2 === 1 ? { rows: half, cols: half } : NO_SHIFT;
        x = hybridAttentionBlock(lb, grid, x, blockPrefix(layer, b), heads, shift, config);
      }
      return overlappingCrossAttentionBlock(lb, grid, x, ocabPrefix(layer), heads, config);
    },
  });
}

export const hat: Architecture<HATConfig> = {
  name: 'HAT',
  detect: detectHAT,
  build: buildHAT,
};
