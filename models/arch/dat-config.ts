// Reading DAT's hyper-parameters from a state dict. Everything here is a plain function of
// key names, shapes and the few buffers upstream stores, so it is tested without ONNX.
import type { StateDict, Tensor } from '../readers/state-dict';
import { relativeOffsets, relativePositionIndex } from './dat-position-bias';

export type DatResiConnection = '1conv' | '3conv';
export type DatUpsampler = 'pixelshuffle' | 'pixelshuffledirect';

export interface DatConfig {
  readonly embedDim: number;
  /** Blocks per residual group. */
  readonly depths: readonly number[];
  /** Heads per residual group (each spatial branch gets half of them). */
  readonly numHeads: readonly number[];
  /** Spatial window [height, width] of branch 0; branch 1 uses the transposed window. */
  readonly splitSize: readonly [number, number];
  /** Width of the feed-forward's first linear layer, int(embedDim * expansionFactor). */
  readonly ffnHiddenDim: number;
  readonly expansionFactor: number;
  readonly qkvBias: boolean;
  readonly resiConnection: DatResiConnection;
  readonly upsampler: DatUpsampler;
  readonly scale: number;
  /** Channels of the reconstruction convs (upstream hard-codes 64); 0 for pixelshuffledirect. */
  readonly numFeat: number;
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

// Keys only DAT has: the LayerNorm behind the Rearrange in `before_RG`, and the dynamic
// position bias of the first spatial block.
const SIGNATURE_KEYS = ['before_RG.1.weight', 'layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight'] as const;

export function looksLikeDat(sd: StateDict): boolean {
  return SIGNATURE_KEYS.some((k) => sd.has(k));
}

function fail(message: string): never {
  throw new Error(`DAT: ${message}`);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function tensorAt(sd: StateDict, key: string, expected?: string): Tensor {
  const t = sd.get(key);
  if (!t) fail(`the weights have no tensor '${key}'${expected ? ` (expected ${expected})` : ''}`);
  return t;
}

/** Checks that `key` exists with exactly `shape`. */
export function expectShape(sd: StateDict, key: string, shape: readonly number[]): void {
  const t = tensorAt(sd, key, `shape ${shapeText(shape)}`);
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) fail(`tensor '${key}' has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
}

function dimsOf(sd: StateDict, key: string, rank: number, expected: string): readonly number[] {
  const t = tensorAt(sd, key, expected);
  if (t.shape.length !== rank) fail(`tensor '${key}' has shape ${shapeText(t.shape)}, expected ${expected}`);
  return t.shape;
}

function valueAt(t: Tensor, i: number): number {
  return Number(t.data[i]);
}

/** Indices i for which some key starts with `${prefix}${i}.`, as a dense 0..n-1 range. */
export function countIndexed(sd: StateDict, prefix: string): number {
  const found = new Set<number>();
  for (const key of sd.keys()) {
    if (!key.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(key.slice(prefix.length));
    if (m) found.add(Number(m[1]));
  }
  for (let i = 0; i < found.size; i++) {
    if (!found.has(i))
      fail(`keys '${prefix}N.*' skip index ${i} (found ${[...found].sort((a, b) => a - b).join(', ')})`);
  }
  return found.size;
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

/** The dynamic position bias' hidden width: DynamicPosBias(dim/2 // 4).pos_dim = that // 4. */
export function positionBiasDim(embedDim: number): number {
  return Math.floor(Math.floor(Math.floor(embedDim / 2) / 4) / 4);
}

/**
 * Branch 0's window from a stored `rpe_biases` ([(2h-1)(2w-1), 2] relative coordinates,
 * row-major from (1-h, 1-w) to (h-1, w-1)), so its last row is (h-1, w-1).
 */
export function windowFromRpeBiases(t: Tensor, key: string): [number, number] {
  if (t.shape.length !== 2 || t.shape[1] !== 2)
    fail(`tensor '${key}' has shape ${shapeText(t.shape)}, expected [(2h-1)*(2w-1), 2]`);
  const rows = t.shape[0] as number;
  const h = valueAt(t, 2 * rows - 2) + 1;
  const w = valueAt(t, 2 * rows - 1) + 1;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || (2 * h - 1) * (2 * w - 1) !== rows) {
    fail(
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
  const n = t.shape[0] as number;
  if (t.shape.length !== 2 || t.shape[1] !== n || n < 1)
    fail(`tensor '${key}' has shape ${shapeText(t.shape)}, expected [N, N]`);
  let w = n;
  for (let j = 1; j < n; j++) {
    if (valueAt(t, j) - valueAt(t, j - 1) !== -1) {
      w = j;
      break;
    }
  }
  if (n % w !== 0) fail(`tensor '${key}': first row steps suggest window width ${w}, which does not divide N = ${n}`);
  return [n / w, w];
}

/**
 * The graph regenerates the position buffers from split_size; a stored one that differs
 * would mean a variant whose windows this code does not know.
 */
function expectPositionBuffers(sd: StateDict, prefix: string, h: number, w: number): void {
  const checks: Array<[string, ArrayLike<number>, readonly number[]]> = [
    [`${prefix}.rpe_biases`, relativeOffsets(h, w), [(2 * h - 1) * (2 * w - 1), 2]],
    [`${prefix}.relative_position_index`, relativePositionIndex(h, w), [h * w, h * w]],
  ];
  for (const [key, expected, shape] of checks) {
    const stored = sd.get(key);
    if (!stored) continue;
    expectShape(sd, key, shape);
    for (let i = 0; i < expected.length; i++) {
      if (valueAt(stored, i) !== expected[i]) {
        fail(
          `buffer '${key}' holds ${valueAt(stored, i)} at flat index ${i}, expected ${expected[i] as number} for a ${h}x${w} window`,
        );
      }
    }
  }
}

/** split_size from the first spatial block that still has its position buffers. */
function readSplitSize(sd: StateDict, depths: readonly number[]): [number, number] | null {
  for (let i = 0; i < depths.length; i++) {
    for (let b = 0; b < (depths[i] as number); b += 2) {
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

function readResiConnection(sd: StateDict, prefix: string): DatResiConnection {
  if (sd.has(`${prefix}.weight`)) return '1conv';
  if (sd.has(`${prefix}.0.weight`)) return '3conv';
  fail(`the weights have no tensor '${prefix}.weight' (1conv) or '${prefix}.0.weight' (3conv)`);
}

function expectResiConnection(sd: StateDict, prefix: string, kind: DatResiConnection, c: number): void {
  if (kind === '1conv') {
    expectShape(sd, `${prefix}.weight`, [c, c, 3, 3]);
    expectShape(sd, `${prefix}.bias`, [c]);
    return;
  }
  const q = Math.floor(c / 4);
  expectShape(sd, `${prefix}.0.weight`, [q, c, 3, 3]);
  expectShape(sd, `${prefix}.2.weight`, [q, q, 1, 1]);
  expectShape(sd, `${prefix}.4.weight`, [c, q, 3, 3]);
}

function expectBatchNorm(sd: StateDict, prefix: string, c: number): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) expectShape(sd, `${prefix}.${p}`, [c]);
}

function expectLayerNorm(sd: StateDict, prefix: string, c: number): void {
  expectShape(sd, `${prefix}.weight`, [c]);
  expectShape(sd, `${prefix}.bias`, [c]);
}

function expectLinear(sd: StateDict, prefix: string, outF: number, inF: number, bias = true): void {
  expectShape(sd, `${prefix}.weight`, [outF, inF]);
  if (bias) expectShape(sd, `${prefix}.bias`, [outF]);
}

/** The convolution branch and the two interaction gates, shared by both attention kinds. */
function expectAttentionConvs(sd: StateDict, prefix: string, c: number): void {
  const c8 = Math.floor(c / 8);
  const c16 = Math.floor(c / 16);
  expectShape(sd, `${prefix}.dwconv.0.weight`, [c, 1, 3, 3]);
  expectBatchNorm(sd, `${prefix}.dwconv.1`, c);
  expectShape(sd, `${prefix}.channel_interaction.1.weight`, [c8, c, 1, 1]);
  expectBatchNorm(sd, `${prefix}.channel_interaction.2`, c8);
  expectShape(sd, `${prefix}.channel_interaction.4.weight`, [c, c8, 1, 1]);
  expectShape(sd, `${prefix}.spatial_interaction.0.weight`, [c16, c, 1, 1]);
  expectBatchNorm(sd, `${prefix}.spatial_interaction.1`, c16);
  expectShape(sd, `${prefix}.spatial_interaction.3.weight`, [1, c16, 1, 1]);
  expectLinear(sd, `${prefix}.proj`, c, c);
}

function expectPositionBias(sd: StateDict, prefix: string, posDim: number, heads: number): void {
  expectLinear(sd, `${prefix}.pos_proj`, posDim, 2);
  for (const stage of ['pos1', 'pos2']) {
    expectLayerNorm(sd, `${prefix}.${stage}.0`, posDim);
    expectLinear(sd, `${prefix}.${stage}.2`, posDim, posDim);
  }
  expectLayerNorm(sd, `${prefix}.pos3.0`, posDim);
  expectLinear(sd, `${prefix}.pos3.2`, heads, posDim);
}

/** Heads of group i: channel blocks store temperature [heads, 1, 1]; spatial blocks heads/2 per branch. */
function readHeads(sd: StateDict, group: number, depth: number): number {
  const temperatureKey = `layers.${group}.blocks.1.attn.temperature`;
  if (depth > 1) {
    const t = dimsOf(sd, temperatureKey, 3, '[heads, 1, 1]');
    return t[0] as number;
  }
  const posKey = `layers.${group}.blocks.0.attn.attns.0.pos.pos3.2.weight`;
  const p = dimsOf(sd, posKey, 2, '[heads / 2, pos_dim]');
  return 2 * (p[0] as number);
}

function readUpsampler(sd: StateDict, c: number): { upsampler: DatUpsampler; scale: number; numFeat: number } {
  if (sd.has('conv_before_upsample.0.weight')) {
    const numFeat = dimsOf(sd, 'conv_before_upsample.0.weight', 4, '[num_feat, embed_dim, 3, 3]')[0] as number;
    expectShape(sd, 'conv_before_upsample.0.weight', [numFeat, c, 3, 3]);
    // Upsample is Conv, PixelShuffle, Conv, PixelShuffle, ...: weights sit at even indices.
    const convs: number[] = [];
    for (let i = 0; sd.has(`upsample.${i}.weight`); i += 2)
      convs.push(dimsOf(sd, `upsample.${i}.weight`, 4, '[r*r*num_feat, num_feat, 3, 3]')[0] as number);
    let scale: number;
    if (convs.length === 1 && convs[0] === 9 * numFeat) scale = 3;
    else if (convs.length > 0 && convs.every((o) => o === 4 * numFeat)) scale = 2 ** convs.length;
    else if (convs.length === 0)
      fail(
        `the weights have no tensor 'upsample.0.weight' (expected [4*${numFeat} or 9*${numFeat}, ${numFeat}, 3, 3])`,
      );
    else
      fail(
        `upsample convs have ${convs.join(', ')} output channels, expected 4*${numFeat} per x2 stage or one 9*${numFeat} (x3)`,
      );
    for (let i = 0; i < convs.length; i++)
      expectShape(sd, `upsample.${2 * i}.weight`, [convs[i] as number, numFeat, 3, 3]);
    expectShape(sd, 'conv_last.weight', [3, numFeat, 3, 3]);
    return { upsampler: 'pixelshuffle', scale, numFeat };
  }
  const out = dimsOf(
    sd,
    'upsample.0.weight',
    4,
    '[3*scale*scale, embed_dim, 3, 3] (pixelshuffledirect) or conv_before_upsample.0.weight (pixelshuffle)',
  )[0] as number;
  const scale = Math.round(Math.sqrt(out / 3));
  if (scale < 1 || 3 * scale * scale !== out)
    fail(`tensor 'upsample.0.weight' has ${out} output channels, expected 3*scale*scale`);
  expectShape(sd, 'upsample.0.weight', [out, c, 3, 3]);
  return { upsampler: 'pixelshuffledirect', scale, numFeat: 0 };
}

/**
 * The configuration a DAT state dict implies, with every tensor checked against it; null
 * when the keys are not DAT's. Throws naming the key when they are DAT's but inconsistent.
 */
export function detectDatConfig(sd: StateDict, overrides: DatOverrides = {}): DatConfig | null {
  if (!looksLikeDat(sd)) return null;

  const first = dimsOf(sd, 'conv_first.weight', 4, '[embed_dim, 3, 3, 3]');
  const c = first[0] as number;
  expectShape(sd, 'conv_first.weight', [c, 3, 3, 3]);
  expectLayerNorm(sd, 'before_RG.1', c);
  expectLayerNorm(sd, 'norm', c);

  const groups = countIndexed(sd, 'layers.');
  if (groups === 0) fail(`the weights have no tensor 'layers.0.blocks.0.norm1.weight'`);
  const depths: number[] = [];
  for (let i = 0; i < groups; i++) depths.push(countIndexed(sd, `layers.${i}.blocks.`));
  const numHeads = depths.map((d, i) => readHeads(sd, i, d));

  const ffnHiddenDim = dimsOf(sd, 'layers.0.blocks.0.ffn.fc1.weight', 2, '[hidden, embed_dim]')[0] as number;
  if (ffnHiddenDim % 2 !== 0)
    fail(
      `tensor 'layers.0.blocks.0.ffn.fc1.weight' has ${ffnHiddenDim} outputs, expected an even number (the spatial gate halves it)`,
    );
  const qkvBias = sd.has('layers.0.blocks.0.attn.qkv.bias');
  const resiConnection = readResiConnection(sd, 'conv_after_body');

  const stored = readSplitSize(sd, depths);
  const splitSize = overrides.splitSize ? ([...overrides.splitSize] as [number, number]) : stored;
  if (!splitSize) {
    fail(
      `the weights have no 'layers.0.blocks.0.attn.attns.0.rpe_biases' or 'relative_position_index' buffer, ` +
        'and nothing else in them determines split_size: pass it explicitly',
    );
  }
  if (stored && overrides.splitSize && (stored[0] !== splitSize[0] || stored[1] !== splitSize[1])) {
    fail(`split_size [${splitSize.join(', ')}] was given but the stored position buffers say [${stored.join(', ')}]`);
  }
  const [s0, s1] = splitSize;
  if (Math.max(s0, s1) % Math.min(s0, s1) !== 0) {
    fail(`split_size [${s0}, ${s1}]: upstream pads to max(split_size), which must be a multiple of the other side`);
  }

  const posDim = positionBiasDim(c);
  const half = Math.floor(c / 2);
  let imgSize: number | null = null;
  for (let i = 0; i < groups; i++) {
    const heads = numHeads[i] as number;
    if (heads % 2 !== 0 || half % (heads / 2) !== 0 || c % heads !== 0) {
      fail(`group ${i}: ${heads} heads do not split embed_dim ${c} into two spatial branches of whole heads`);
    }
    const group = `layers.${i}`;
    for (let b = 0; b < (depths[i] as number); b++) {
      const block = `${group}.blocks.${b}`;
      expectLayerNorm(sd, `${block}.norm1`, c);
      expectLayerNorm(sd, `${block}.norm2`, c);
      expectLinear(sd, `${block}.attn.qkv`, 3 * c, c, qkvBias);
      expectAttentionConvs(sd, `${block}.attn`, c);
      if (isSpatialBlock(b)) {
        for (const branch of [0, 1]) {
          const branchPrefix = `${block}.attn.attns.${branch}`;
          expectPositionBias(sd, `${branchPrefix}.pos`, posDim, heads / 2);
          // Branch 1 uses the transposed window.
          expectPositionBuffers(sd, branchPrefix, branch === 0 ? s0 : s1, branch === 0 ? s1 : s0);
        }
        const mask = sd.get(`${block}.attn.attn_mask_0`);
        if (mask && mask.shape.length === 3) imgSize = Math.round(Math.sqrt((mask.shape[0] as number) * s0 * s1));
      } else {
        expectShape(sd, `${block}.attn.temperature`, [heads, 1, 1]);
      }
      expectLinear(sd, `${block}.ffn.fc1`, ffnHiddenDim, c);
      expectLayerNorm(sd, `${block}.ffn.sg.norm`, ffnHiddenDim / 2);
      expectShape(sd, `${block}.ffn.sg.conv.weight`, [ffnHiddenDim / 2, 1, 3, 3]);
      expectLinear(sd, `${block}.ffn.fc2`, c, ffnHiddenDim / 2);
    }
    expectResiConnection(sd, `${group}.conv`, resiConnection, c);
  }
  expectResiConnection(sd, 'conv_after_body', resiConnection, c);

  const { upsampler, scale, numFeat } = readUpsampler(sd, c);
  return {
    embedDim: c,
    depths,
    numHeads,
    splitSize: [s0, s1],
    ffnHiddenDim,
    expansionFactor: ffnHiddenDim / c,
    qkvBias,
    resiConnection,
    upsampler,
    scale,
    numFeat,
    imgRange: overrides.imgRange ?? 1,
    imgSize,
  };
}

/** The published variant a configuration matches, for display. */
export function datVariantName(cfg: DatConfig): string {
  const six = cfg.depths.length === 6 && cfg.depths.every((d) => d === 6);
  const [s0, s1] = cfg.splitSize;
  if (cfg.embedDim === 180 && six && cfg.upsampler === 'pixelshuffle') {
    if (s0 === 8 && s1 === 32 && cfg.expansionFactor === 4) return 'DAT';
    if (s0 === 8 && s1 === 32 && cfg.expansionFactor === 2) return 'DAT-2';
    if (s0 === 8 && s1 === 16 && cfg.expansionFactor === 2) return 'DAT-S';
  }
  if (cfg.embedDim === 60 && cfg.depths.length === 1 && cfg.upsampler === 'pixelshuffledirect') return 'DAT-light';
  return `DAT (embed ${cfg.embedDim}, depths [${cfg.depths.join(', ')}], split [${s0}, ${s1}])`;
}
