// Reading RGT's hyper-parameters from a state dict as spandrel 0.4.2's loader reads them
// (libs/spandrel/spandrel/architectures/RGT/__init__.py), checking every tensor the graph
// uses. RGT alternates DAT's spatial window attention (L-SA, even blocks) with
// recursive-generalization attention (RG-SA, odd blocks) inside DAT's shell.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireConv, requireLinear, requireNorm, requireShape, type BiasRule } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { readHead, type Head } from '../swin-shell/heads';
import { readResidualConv, readShallowConv, requireResidualConv } from '../swin-shell/shell';
import {
  branchHeads,
  isSpatialBlock,
  positionBiasDim,
  requireGatedFeedForward,
  requirePositionBias,
  requirePositionBuffers,
} from '../dat/config';

export interface RGTConfig {
  /** The image channels the graph takes and gives: 3 (RGB) or 1 (grayscale). */
  readonly inChannels: number;
  readonly embedDim: number;
  /** Blocks per residual group; even blocks are L-SA, odd ones RG-SA. */
  readonly depths: readonly number[];
  /** Heads per group: RG-SA has them all, each L-SA branch num_heads // 2. */
  readonly numHeads: readonly number[];
  /** Width of the MLP's first linear layer, int(embed_dim · mlp_ratio). */
  readonly mlpHidden: number;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  readonly resiConnection: '1conv' | '3conv';
  /** L-SA's window [height, width] of branch 0; branch 1 uses the transposed window. */
  readonly splitSize: readonly [number, number];
  /** RG-SA's channel ratio and the width it gives, int(embed_dim · c_ratio). */
  readonly cRatio: number;
  readonly reducedDim: number;
  readonly head: Head;
  /** Not stored in the weights; every published RGT uses 1. */
  readonly imgRange: number;
}

const FIRST_BRANCH = 'layers.0.blocks.0.attn.attns.0';

/**
 * spandrel's _get_split_size: the window from the sizes of branch 0's buffers, N = h·w
 * and (2h − 1)(2w − 1) offsets; square when that fits, else powers of two with h < w.
 */
export function splitSizeFromBuffers(positions: number, offsets: number): [number, number] {
  const fits = (h: number, w: number): boolean => h * w === positions && (2 * h - 1) * (2 * w - 1) === offsets;
  const side = Math.floor(Math.sqrt(positions));
  if (fits(side, side)) return [side, side];
  for (let i = 1; i < 10; i++) {
    for (let j = i + 1; j < 10; j++) if (fits(2 ** i, 2 ** j)) return [2 ** i, 2 ** j];
  }
  throw new WeightError(
    `${FIRST_BRANCH}.relative_position_index`,
    `'${FIRST_BRANCH}' has ${positions} positions and ${offsets} relative offsets, which no split_size spandrel tries gives`,
  );
}

/** spandrel's heads: twice each branch's heads, plus one where that would not divide embed_dim. */
function readHeads(sd: StateDict, group: number, embedDim: number): number {
  const key = `layers.${group}.blocks.0.attn.attns.0.pos.pos3.2.weight`;
  const half = dimOf(sd, key, 2, 0, 'the position bias output [num_heads // 2, pos_dim]');
  return embedDim % (2 * half) === 0 ? 2 * half : 2 * half + 1;
}

/** c_ratio from the first RG-SA block's 1×1 conv (spandrel's default 0.5 when there is none). */
function readChannelRatio(sd: StateDict, depths: readonly number[]): number {
  const group = depths.findIndex((d) => d >= 2);
  if (group < 0) return 0.5;
  const key = `layers.${group}.blocks.1.attn.conv.weight`;
  return dimOf(sd, key, 4, 0, 'the RG-SA conv') / dimOf(sd, key, 4, 1, 'the RG-SA conv');
}

function requireSpatialBlock(sd: StateDict, attn: string, c: RGTConfig, heads: number, qkv: BiasRule): void {
  const e = c.embedDim;
  const perBranch = branchHeads(heads);
  if (perBranch < 1 || (e / 2) % perBranch !== 0) {
    throw new WeightError(attn, `'${attn}': ${perBranch} heads per branch do not divide ${e / 2} channels`);
  }
  requireLinear(sd, `${attn}.qkv`, 3 * e, e, qkv);
  requireLinear(sd, `${attn}.proj`, e, e);
  requireConv(sd, `${attn}.get_v`, { out: e, in: 1, kernel: 3 });
  const [s0, s1] = c.splitSize;
  for (const branch of [0, 1]) {
    const prefix = `${attn}.attns.${branch}`;
    requirePositionBias(sd, `${prefix}.pos`, positionBiasDim(e), perBranch);
    // Branch 1 uses the transposed window.
    requirePositionBuffers(sd, prefix, branch === 0 ? s0 : s1, branch === 0 ? s1 : s0);
  }
}

function requireRecursiveBlock(sd: StateDict, attn: string, c: RGTConfig, heads: number, qkv: BiasRule): void {
  const e = c.embedDim;
  const cr = c.reducedDim;
  if (e % heads !== 0 || cr % heads !== 0) {
    throw new WeightError(attn, `'${attn}': ${heads} heads do not divide embed_dim ${e} and the reduced width ${cr}`);
  }
  requireConv(sd, `${attn}.reduction1`, { out: e, in: 1, kernel: 4 });
  requireConv(sd, `${attn}.dwconv`, { out: e, in: 1, kernel: 3 });
  requireConv(sd, `${attn}.conv`, { out: cr, in: e, kernel: 1 });
  requireNorm(sd, `${attn}.norm_act.0`, cr);
  requireLinear(sd, `${attn}.q`, cr, e, qkv);
  requireLinear(sd, `${attn}.k`, cr, cr, qkv);
  requireLinear(sd, `${attn}.v`, e, cr, qkv);
  requireConv(sd, `${attn}.cpe`, { out: e, in: 1, kernel: 3 });
  requireLinear(sd, `${attn}.proj`, e, e);
}

/** Every hyper-parameter as spandrel reads it, with every tensor checked against it. */
export function readRGTConfig(sd: StateDict): RGTConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3, 1], 'RGT');
  requireNorm(sd, 'before_RG.1', embedDim);
  requireNorm(sd, 'norm', embedDim);
  const groups = countNumbered(sd, 'layers');
  if (groups === 0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");
  const depths = Array.from({ length: groups }, (_, i) => countNumbered(sd, `layers.${i}.blocks`));
  const fc1 = 'layers.0.blocks.0.mlp.fc1.weight';
  const mlpRatio = dimOf(sd, fc1, 2, 0, 'the MLP [hidden, embed_dim]') / dimOf(sd, fc1, 2, 1, 'the MLP');
  const mlpHidden = Math.trunc(embedDim * mlpRatio);
  if (mlpHidden % 2 !== 0) {
    throw new WeightError(
      fc1,
      `tensor '${fc1}' has ${mlpHidden} outputs, expected an even number (the gate halves it)`,
    );
  }
  const cRatio = readChannelRatio(sd, depths);
  const config: RGTConfig = {
    inChannels,
    embedDim,
    depths,
    numHeads: depths.map((_, i) => readHeads(sd, i, embedDim)),
    mlpHidden,
    mlpRatio,
    qkvBias: sd.has(`layers.0.blocks.0.attn.qkv.bias`),
    resiConnection: readResidualConv(sd, 'conv_after_body', ['1conv', '3conv']),
    splitSize: splitSizeFromBuffers(
      dimOf(sd, `${FIRST_BRANCH}.relative_position_index`, 2, 0, 'relative position index [N, N]'),
      dimOf(sd, `${FIRST_BRANCH}.rpe_biases`, 2, 0, 'relative offsets [(2h − 1)(2w − 1), 2]'),
    ),
    cRatio,
    reducedDim: Math.trunc(embedDim * cRatio),
    head: readHead(sd, { embedDim, outChannels: inChannels, allowed: ['pixelshuffle'] }),
    imgRange: 1,
  };
  const qkv: BiasRule = config.qkvBias ? 'required' : 'none';
  depths.forEach((depth, i) => {
    if (depth === 0) throw new WeightError(`layers.${i}.blocks.0`, `residual group ${i} has no blocks`);
    const heads = config.numHeads[i] ?? 0;
    for (let b = 0; b < depth; b++) {
      const block = `layers.${i}.blocks.${b}`;
      requireNorm(sd, `${block}.norm1`, embedDim);
      requireNorm(sd, `${block}.norm2`, embedDim);
      requireShape(sd, `${block}.gamma`, [embedDim]);
      if (isSpatialBlock(b)) requireSpatialBlock(sd, `${block}.attn`, config, heads, qkv);
      else requireRecursiveBlock(sd, `${block}.attn`, config, heads, qkv);
      requireGatedFeedForward(sd, `${block}.mlp`, embedDim, mlpHidden);
    }
    requireResidualConv(sd, `layers.${i}.conv`, config.resiConnection, embedDim);
  });
  requireConv(sd, 'conv_first', { out: embedDim, in: inChannels, kernel: 3 });
  requireResidualConv(sd, 'conv_after_body', config.resiConnection, embedDim);
  return config;
}

/** The published variant a configuration matches, for display. */
export function rgtVariantName(c: RGTConfig): string {
  const sixes = (n: number): boolean => c.depths.length === n && c.depths.every((d) => d === 6);
  const published = c.embedDim === 180 && c.splitSize[0] === 8 && c.splitSize[1] === 32 && c.mlpRatio === 2;
  if (published && sixes(8)) return 'RGT';
  if (published && sixes(6)) return 'RGT-S';
  return `RGT (embed ${c.embedDim}, depths [${c.depths.join(', ')}], split [${c.splitSize.join(', ')}])`;
}
