// Reading DAT's hyper-parameters from a state dict (zhengchen1999/DAT, as spandrel 0.4.2
// ships it). Everything here is a plain function of key names, shapes and the few buffers
// upstream stores, so it is tested without ONNX.
import type { StateDict, Tensor } from '../../weights/state-dict';
import { WeightError, shapeText, valueAt } from '../../weights/tensors';
import {
  checkStoredBuffer,
  dimOf,
  requireBatchNorm,
  requireConv,
  requireLinear,
  requireNorm,
  requireShape,
  type BiasRule,
} from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { swinRelativePositionIndex } from '../../nn/window-attention';
import { readHead, type Head } from '../swin-shell/heads';
import { readResidualConv, requireResidualConv } from '../swin-shell/shell';
import { relativeOffsets } from './position-bias';

export type DatResiConnection = '1conv' | '3conv';

export interface DatConfig {
  readonly embedDim: number;
  /** Blocks per residual group. */
  readonly depths: readonly number[];
  /** Heads per residual group: the channel attention has them all, each spatial branch num_heads // 2. */
  readonly numHeads: readonly number[];
  /** Spatial window [height, width] of branch 0; branch 1 uses the transposed window. */
  readonly splitSize: readonly [number, number];
  /** Width of the feed-forward's first linear layer, int(embedDim * expansionFactor). */
  readonly ffnHiddenDim: number;
  readonly expansionFactor: number;
  readonly qkvBias: boolean;
  readonly resiConnection: DatResiConnection;
  readonly head: Head;
  /** Not stored in the weights; every published DAT uses 1. */
  readonly imgRange: number;
  /** Training patch size, when the stored shift masks reveal it (only informative). */
  readonly imgSize: number | null;
}

/** What the weights cannot tell, supplied by the caller. */
export interface DatOverrides {
  /** Needed only when the checkpoint was saved without its position buffers. */
  readonly splitSize?: readonly [number, number];
  readonly imgRange?: number;
}

/** DAT alternates spatial (even index) and channel (odd index) attention blocks. */
export function isSpatialBlock(blockIndex: number): boolean {
  return blockIndex % 2 === 0;
}

/** Upstream's shift schedule: which spatial blocks roll their windows by half a window. */
export function isShiftedBlock(groupIndex: number, blockIndex: number): boolean {
  return (
    (groupIndex % 2 === 0 && blockIndex > 0 && (blockIndex - 2) % 4 === 0) ||
    (groupIndex % 2 !== 0 && blockIndex % 4 === 0)
  );
}

/** Heads of each spatial branch: upstream builds both with num_heads // 2. */
export function branchHeads(heads: number): number {
  return Math.floor(heads / 2);
}

/** The dynamic position bias' hidden width: DynamicPosBias(dim/2 // 4).pos_dim = that // 4. */
export function positionBiasDim(embedDim: number): number {
  return Math.floor(Math.floor(Math.floor(embedDim / 2) / 4) / 4);
}

/**
 * Branch 0's window from a stored `rpe_biases` ([(2h-1)(2w-1), 2] relative coordinates,
 * row-major from (1-h, 1-w) to (h-1, w-1)), so its last row is (h-1, w-1).
 */
export function windowFromRpeBiases(t: Tensor, key: string): [number, number] {
  const rows = t.shape[0] ?? 0;
  if (t.shape.length !== 2 || t.shape[1] !== 2) {
    throw new WeightError(key, `tensor '${key}' has shape ${shapeText(t.shape)}, expected [(2h-1)*(2w-1), 2]`);
  }
  const h = valueAt(t, 2 * rows - 2) + 1;
  const w = valueAt(t, 2 * rows - 1) + 1;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || (2 * h - 1) * (2 * w - 1) !== rows) {
    throw new WeightError(
      key,
      `tensor '${key}' ends with (${h - 1}, ${w - 1}) over ${rows} rows, expected (h-1, w-1) with (2h-1)*(2w-1) rows`,
    );
  }
  return [h, w];
}

/**
 * A window from a stored `relative_position_index` ([N, N], N = h*w). Along its first row
 * the index falls by 1 per step within a window row and by w when a row wraps, which
 * gives w; h = N / w. A 1 x n and an n x 1 window have identical indices: this returns 1 x n.
 */
export function windowFromRelativeIndex(t: Tensor, key: string): [number, number] {
  const n = t.shape[0] ?? 0;
  if (t.shape.length !== 2 || t.shape[1] !== n || n < 1) {
    throw new WeightError(key, `tensor '${key}' has shape ${shapeText(t.shape)}, expected [N, N]`);
  }
  let w = n;
  for (let j = 1; j < n; j++) {
    if (valueAt(t, j) - valueAt(t, j - 1) !== -1) {
      w = j;
      break;
    }
  }
  if (n % w !== 0) {
    throw new WeightError(
      key,
      `tensor '${key}': first row steps suggest window width ${w}, which does not divide N = ${n}`,
    );
  }
  return [n / w, w];
}

/** split_size from the first spatial block that still has its position buffers. */
function readSplitSize(sd: StateDict, depths: readonly number[]): [number, number] | null {
  for (let i = 0; i < depths.length; i++) {
    for (let b = 0; b < (depths[i] ?? 0); b += 2) {
      for (const branch of [0, 1]) {
        const prefix = `layers.${i}.blocks.${b}.attn.attns.${branch}`;
        const rpe = sd.get(`${prefix}.rpe_biases`);
        const index = sd.get(`${prefix}.relative_position_index`);
        let window: [number, number] | null = null;
        if (rpe) window = windowFromRpeBiases(rpe, `${prefix}.rpe_biases`);
        else if (index) window = windowFromRelativeIndex(index, `${prefix}.relative_position_index`);
        if (window) return branch === 0 ? window : [window[1], window[0]];
      }
    }
  }
  return null;
}

/** The graph regenerates the position buffers from split_size; a stored one that differs is refused. */
export function requirePositionBuffers(sd: StateDict, prefix: string, h: number, w: number): void {
  const what = `a ${h}x${w} window`;
  const n = h * w;
  checkStoredBuffer(sd, `${prefix}.rpe_biases`, relativeOffsets(h, w), [(2 * h - 1) * (2 * w - 1), 2], what);
  const index = swinRelativePositionIndex({ height: h, width: w });
  checkStoredBuffer(sd, `${prefix}.relative_position_index`, index, [n, n], what);
}

/** The convolution branch, the two interaction gates and the projection, shared by both attention kinds. */
function requireAttentionConvs(sd: StateDict, prefix: string, c: number): void {
  const c8 = Math.floor(c / 8);
  const c16 = Math.floor(c / 16);
  requireConv(sd, `${prefix}.dwconv.0`, { out: c, in: 1, kernel: 3 });
  requireBatchNorm(sd, `${prefix}.dwconv.1`, c);
  requireConv(sd, `${prefix}.channel_interaction.1`, { out: c8, in: c, kernel: 1 });
  requireBatchNorm(sd, `${prefix}.channel_interaction.2`, c8);
  requireConv(sd, `${prefix}.channel_interaction.4`, { out: c, in: c8, kernel: 1 });
  requireConv(sd, `${prefix}.spatial_interaction.0`, { out: c16, in: c, kernel: 1 });
  requireBatchNorm(sd, `${prefix}.spatial_interaction.1`, c16);
  requireConv(sd, `${prefix}.spatial_interaction.3`, { out: 1, in: c16, kernel: 1 });
  requireLinear(sd, `${prefix}.proj`, c, c);
}

export function requirePositionBias(sd: StateDict, prefix: string, posDim: number, heads: number): void {
  requireLinear(sd, `${prefix}.pos_proj`, posDim, 2);
  for (const stage of ['pos1', 'pos2']) {
    requireNorm(sd, `${prefix}.${stage}.0`, posDim);
    requireLinear(sd, `${prefix}.${stage}.2`, posDim, posDim);
  }
  requireNorm(sd, `${prefix}.pos3.0`, posDim);
  requireLinear(sd, `${prefix}.pos3.2`, heads, posDim);
}

/** The spatially gated feed-forward (DAT's SGFN, RGT's MLP): fc1, the gate's norm and depthwise conv, fc2. */
export function requireGatedFeedForward(sd: StateDict, prefix: string, c: number, hidden: number): void {
  requireLinear(sd, `${prefix}.fc1`, hidden, c);
  requireNorm(sd, `${prefix}.sg.norm`, hidden / 2);
  requireConv(sd, `${prefix}.sg.conv`, { out: hidden / 2, in: 1, kernel: 3 });
  requireLinear(sd, `${prefix}.fc2`, c, hidden / 2);
}

/** Heads of group i: channel blocks store temperature [heads, 1, 1]; spatial blocks num_heads // 2 per branch. */
function readHeads(sd: StateDict, group: number, depth: number): number {
  if (depth > 1) return dimOf(sd, `layers.${group}.blocks.1.attn.temperature`, 3, 0, 'temperature [heads, 1, 1]');
  const posKey = `layers.${group}.blocks.0.attn.attns.0.pos.pos3.2.weight`;
  // As spandrel reads it: a one-block group has no channel block to count the heads.
  return 2 * dimOf(sd, posKey, 2, 0, 'the position bias output [num_heads // 2, pos_dim]');
}

/**
 * The configuration a DAT state dict implies, with every tensor checked against it.
 * Throws naming the key when the weights do not fit.
 */
export function readDatConfig(sd: StateDict, overrides: DatOverrides = {}): DatConfig {
  const c = dimOf(sd, 'conv_first.weight', 4, 0, 'the shallow feature conv [embed_dim, 3, 3, 3]');
  requireShape(sd, 'conv_first.weight', [c, 3, 3, 3]);
  requireNorm(sd, 'before_RG.1', c);
  requireNorm(sd, 'norm', c);

  const groups = countNumbered(sd, 'layers');
  if (groups === 0) throw new WeightError('layers.0', "the weights have no tensor 'layers.0.blocks.0.norm1.weight'");
  const depths = Array.from({ length: groups }, (_, i) => countNumbered(sd, `layers.${i}.blocks`));
  const numHeads = depths.map((d, i) => readHeads(sd, i, d));

  const fc1 = 'layers.0.blocks.0.ffn.fc1.weight';
  const ffnHiddenDim = dimOf(sd, fc1, 2, 0, 'the feed-forward [hidden, embed_dim]');
  if (ffnHiddenDim % 2 !== 0) {
    throw new WeightError(
      fc1,
      `tensor '${fc1}' has ${ffnHiddenDim} outputs, expected an even number (the spatial gate halves it)`,
    );
  }
  const qkvBias = sd.has('layers.0.blocks.0.attn.qkv.bias');
  const qkvRule: BiasRule = qkvBias ? 'required' : 'none';
  const resiConnection = readResidualConv(sd, 'conv_after_body', ['1conv', '3conv'] as const);

  const stored = readSplitSize(sd, depths);
  const given = overrides.splitSize;
  const splitSize: readonly [number, number] | null = given ? [given[0], given[1]] : stored;
  if (!splitSize) {
    throw new WeightError(
      'layers.0.blocks.0.attn.attns.0.rpe_biases',
      "the weights have no 'layers.0.blocks.0.attn.attns.0.rpe_biases' or 'relative_position_index' buffer, " +
        'and nothing else in them determines split_size: pass it explicitly',
    );
  }
  if (stored && overrides.splitSize && (stored[0] !== splitSize[0] || stored[1] !== splitSize[1])) {
    throw new Error(
      `split_size [${splitSize.join(', ')}] was given but the stored position buffers say [${stored.join(', ')}]`,
    );
  }
  const [s0, s1] = splitSize;
  if (Math.max(s0, s1) % Math.min(s0, s1) !== 0) {
    throw new Error(
      `split_size [${s0}, ${s1}]: upstream pads to max(split_size), which must be a multiple of the other side`,
    );
  }

  const posDim = positionBiasDim(c);
  const half = Math.floor(c / 2);
  let imgSize: number | null = null;
  for (let i = 0; i < groups; i++) {
    const heads = numHeads[i] ?? 0;
    const perBranch = branchHeads(heads);
    if (perBranch < 1 || half % perBranch !== 0 || c % heads !== 0) {
      throw new WeightError(
        `layers.${i}`,
        `group ${i}: ${heads} heads do not split embed_dim ${c} into two spatial branches of whole heads`,
      );
    }
    const group = `layers.${i}`;
    for (let b = 0; b < (depths[i] ?? 0); b++) {
      const block = `${group}.blocks.${b}`;
      requireNorm(sd, `${block}.norm1`, c);
      requireNorm(sd, `${block}.norm2`, c);
      requireLinear(sd, `${block}.attn.qkv`, 3 * c, c, qkvRule);
      requireAttentionConvs(sd, `${block}.attn`, c);
      if (isSpatialBlock(b)) {
        for (const branch of [0, 1]) {
          const branchPrefix = `${block}.attn.attns.${branch}`;
          requirePositionBias(sd, `${branchPrefix}.pos`, posDim, perBranch);
          // Branch 1 uses the transposed window.
          requirePositionBuffers(sd, branchPrefix, branch === 0 ? s0 : s1, branch === 0 ? s1 : s0);
        }
        const mask = sd.get(`${block}.attn.attn_mask_0`);
        if (mask && mask.shape.length === 3) imgSize = Math.round(Math.sqrt((mask.shape[0] ?? 0) * s0 * s1));
      } else {
        requireShape(sd, `${block}.attn.temperature`, [heads, 1, 1]);
      }
      requireGatedFeedForward(sd, `${block}.ffn`, c, ffnHiddenDim);
    }
    requireResidualConv(sd, `${group}.conv`, resiConnection, c);
  }
  requireResidualConv(sd, 'conv_after_body', resiConnection, c);

  return {
    embedDim: c,
    depths,
    numHeads,
    splitSize: [s0, s1],
    ffnHiddenDim,
    expansionFactor: ffnHiddenDim / c,
    qkvBias,
    resiConnection,
    head: readHead(sd, { embedDim: c, outChannels: 3, allowed: ['pixelshuffle', 'pixelshuffledirect'] }),
    imgRange: overrides.imgRange ?? 1,
    imgSize,
  };
}

/** The published variant a configuration matches, for display. */
export function datVariantName(cfg: DatConfig): string {
  const six = cfg.depths.length === 6 && cfg.depths.every((d) => d === 6);
  const [s0, s1] = cfg.splitSize;
  const { upsampler } = cfg.head;
  if (cfg.embedDim === 180 && six && upsampler === 'pixelshuffle') {
    if (s0 === 8 && s1 === 32 && cfg.expansionFactor === 4) return 'DAT';
    if (s0 === 8 && s1 === 32 && cfg.expansionFactor === 2) return 'DAT-2';
    if (s0 === 8 && s1 === 16 && cfg.expansionFactor === 2) return 'DAT-S';
  }
  if (cfg.embedDim === 60 && cfg.depths.length === 1 && upsampler === 'pixelshuffledirect') return 'DAT-light';
  return `DAT (embed ${cfg.embedDim}, depths [${cfg.depths.join(', ')}], split [${s0}, ${s1}])`;
}
