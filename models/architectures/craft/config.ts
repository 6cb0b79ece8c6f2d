// Reading CRAFT's hyper-parameters from a state dict (AVC2-UESTC/CRAFT-SR, as spandrel
// 0.4.2 ships it), as spandrel's loader reads them: widths and depths from shapes, the
// rectangular window from the stored position buffers (the shorter side first, as spandrel
// assumes), everything the graph uses checked.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { checkStoredBuffer, dimOf, requireConv, requireLinear, requireNorm, requireShape } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { scaleAndOutputChannels } from '../../weights/pixel-shuffle';
import { swinRelativePositionIndex } from '../../nn/window-attention';
import { requireMlp } from '../swin-shell/blocks';
import { readShallowConv } from '../swin-shell/shell';
import { requirePositionBias } from '../dat/config';
import { relativeOffsets } from '../dat/position-bias';

export interface CraftConfig {
  readonly inChannels: number;
  readonly embedDim: number;
  /** Cross-refinement fusion blocks per group (each: two window-attention blocks, one HFERB, one HFB). */
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  /** The H-Rwin window [rows, cols]; the V-Rwin window is its transpose. */
  readonly splitSize: readonly [number, number];
  readonly mlpHidden: number;
  /** The HFB feed-forward's width, int(embed_dim · 2.66). */
  readonly ffnHidden: number;
  readonly qkvBias: boolean;
  readonly resiConnection: '1conv' | 'identity';
  readonly scale: number;
}

/** forward's padding unit (window_size 16, not stored); also spandrel's size multiple. */
export const PAD_UNIT = 16;

export function groupPrefix(layer: number): string {
  return `layers.${layer}.residual_group`;
}

/**
 * The window (s0 ≤ s1) from the index's side a = s0·s1 and the bias table's rows
 * b = (2s0 − 1)(2s1 − 1), solved as spandrel solves it.
 */
function splitFromBuffers(sd: StateDict): [number, number] {
  const a = dimOf(sd, 'relative_position_index_h', 2, 0, 'the H-Rwin relative position index [s0·s1, s0·s1]');
  const b = dimOf(sd, 'biases_v', 2, 0, 'the V-Rwin relative offsets [(2s0 − 1)(2s1 − 1), 2]');
  const s1 = Math.trunc(0.25 * (-Math.sqrt(16 * a * a - 8 * a * (b + 1) + (b - 1) ** 2) + 4 * a - b + 1));
  const s0 = Math.floor(a / s1);
  if (!(s1 > 0) || s0 * s1 !== a) {
    throw new WeightError(
      'relative_position_index_h',
      `no window s0 × s1 has s0·s1 = ${a} and (2s0 − 1)(2s1 − 1) = ${b}`,
    );
  }
  return [Math.min(s0, s1), Math.max(s0, s1)];
}

/** The stored buffers must be those of the window the graph builds (H-Rwin [s0, s1], V-Rwin [s1, s0]). */
function checkPositionBuffers(sd: StateDict, [s0, s1]: readonly [number, number]): void {
  const n = s0 * s1;
  const rows = (2 * s0 - 1) * (2 * s1 - 1);
  const what = (h: number, w: number): string =>
    `a ${h}×${w} window (spandrel reads CRAFT's windows as ${s0}×${s1} and ${s1}×${s0})`;
  for (const [name, h, w] of [
    ['h', s0, s1],
    ['v', s1, s0],
  ] as const) {
    checkStoredBuffer(
      sd,
      `relative_position_index_${name}`,
      swinRelativePositionIndex({ height: h, width: w }),
      [n, n],
      what(h, w),
    );
    checkStoredBuffer(sd, `biases_${name}`, relativeOffsets(h, w), [rows, 2], what(h, w));
  }
}

function requireWindowBlock(
  sd: StateDict,
  p: string,
  c: number,
  heads: number,
  cfg: Pick<CraftConfig, 'qkvBias' | 'mlpHidden'>,
): void {
  requireNorm(sd, `${p}.norm1`, c);
  requireLinear(sd, `${p}.qkv`, 3 * c, c, cfg.qkvBias ? 'required' : 'none');
  requireLinear(sd, `${p}.proj`, c, c);
  requireConv(sd, `${p}.get_v`, { out: c, in: 1, kernel: 3 });
  const posDim = dimOf(sd, `${p}.attns.0.pos.pos_proj.weight`, 2, 0, 'the position MLP');
  for (const branch of [0, 1]) requirePositionBias(sd, `${p}.attns.${branch}.pos`, posDim, Math.floor(heads / 2));
  requireNorm(sd, `${p}.norm2`, c);
  requireMlp(sd, `${p}.mlp`, c, cfg.mlpHidden);
}

/** The high-frequency enhancement block (HFERB) and the hybrid fusion block (HFB). */
function requireFusionBlocks(
  sd: StateDict,
  hfer: string,
  hf: string,
  c: number,
  heads: number,
  ffnHidden: number,
): void {
  const half = Math.floor(c / 2);
  requireConv(sd, `${hfer}.conv`, { out: half, in: half, kernel: 3 });
  requireConv(sd, `${hfer}.fc`, { out: half, in: half, kernel: 1 });
  requireConv(sd, `${hfer}.last_fc`, { out: c, in: c, kernel: 1 });
  requireNorm(sd, `${hf}.norm1.body`, c);
  requireShape(sd, `${hf}.attn.temperature`, [heads, 1, 1]);
  requireConv(sd, `${hf}.attn.q`, { out: c, in: c, kernel: 1, bias: 'none' });
  requireConv(sd, `${hf}.attn.q_dwconv`, { out: c, in: 1, kernel: 3, bias: 'none' });
  requireConv(sd, `${hf}.attn.kv`, { out: 2 * c, in: c, kernel: 1, bias: 'none' });
  requireConv(sd, `${hf}.attn.kv_dwconv`, { out: 2 * c, in: 1, kernel: 3, bias: 'none' });
  requireConv(sd, `${hf}.attn.project_out`, { out: c, in: c, kernel: 1, bias: 'none' });
  requireNorm(sd, `${hf}.norm2.body`, c);
  requireConv(sd, `${hf}.ffn.project_in`, { out: 2 * ffnHidden, in: c, kernel: 1, bias: 'none' });
  requireConv(sd, `${hf}.ffn.dwconv`, { out: 2 * ffnHidden, in: 1, kernel: 3, bias: 'none' });
  requireConv(sd, `${hf}.ffn.project_out`, { out: c, in: ffnHidden, kernel: 1, bias: 'none' });
}

/** The tensors of fusion block `j` of group `layer` under their upstream names. */
export function blockKeys(layer: number, j: number): { windows: [string, string]; hfer: string; hf: string } {
  const g = groupPrefix(layer);
  return {
    windows: [`${g}.srwa_blocks.${2 * j}`, `${g}.srwa_blocks.${2 * j + 1}`],
    hfer: `${g}.hfer_blocks.${j}`,
    hf: `${g}.hf_blocks.${j}`,
  };
}

function readHeads(sd: StateDict, layer: number, c: number): number {
  const key = `${groupPrefix(layer)}.hf_blocks.0.attn.temperature`;
  const heads = dimOf(sd, key, 3, 0, 'the fusion attention temperature [heads, 1, 1]');
  const branch = Math.floor(heads / 2);
  if (c % heads !== 0 || branch === 0 || Math.floor(c / 2) % branch !== 0) {
    throw new WeightError(
      key,
      `${heads} heads do not split embed_dim ${c} (all of it, and half of it in ${branch} per window branch)`,
    );
  }
  return heads;
}

export function readCraftConfig(sd: StateDict): CraftConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3, 1], 'CRAFT');
  const c = embedDim;
  if (c % 2 !== 0) {
    throw new WeightError('conv_first.weight', `embed_dim ${c} is odd; CRAFT splits its channels in halves`);
  }
  requireConv(sd, 'conv_first', { out: c, in: inChannels, kernel: 3 });
  const layerCount = countNumbered(sd, 'layers');
  if (layerCount === 0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");
  const splitSize = splitFromBuffers(sd);
  checkPositionBuffers(sd, splitSize);
  const first = blockKeys(0, 0);
  const qkvBias = sd.has(`${first.windows[0]}.qkv.bias`);
  const mlpHidden = dimOf(sd, `${first.windows[0]}.mlp.fc1.weight`, 2, 0, 'the MLP');
  const ffnHidden = dimOf(sd, `${first.hf}.ffn.project_out.weight`, 4, 1, 'the fusion feed-forward');
  const depths: number[] = [];
  const numHeads: number[] = [];
  for (let layer = 0; layer < layerCount; layer++) {
    const g = groupPrefix(layer);
    const depth = countNumbered(sd, `${g}.hf_blocks`);
    const heads = readHeads(sd, layer, c);
    if (countNumbered(sd, `${g}.srwa_blocks`) !== 2 * depth || countNumbered(sd, `${g}.hfer_blocks`) !== depth) {
      throw new WeightError(
        g,
        `'${g}' has ${depth} fusion blocks, so expected ${2 * depth} srwa_blocks and ${depth} hfer_blocks`,
      );
    }
    for (let j = 0; j < depth; j++) {
      const keys = blockKeys(layer, j);
      for (const w of keys.windows) requireWindowBlock(sd, w, c, heads, { qkvBias, mlpHidden });
      requireFusionBlocks(sd, keys.hfer, keys.hf, c, heads, ffnHidden);
    }
    requireConv(sd, `layers.${layer}.conv`, { out: c, in: c, kernel: 3 });
    depths.push(depth);
    numHeads.push(heads);
  }
  requireNorm(sd, 'norm.body', c);
  const resiConnection = sd.has('conv_after_body.weight') ? '1conv' : 'identity';
  if (resiConnection === '1conv') requireConv(sd, 'conv_after_body', { out: c, in: c, kernel: 3 });
  const out = dimOf(sd, 'upsample.0.weight', 4, 0, 'the pixel-shuffle conv');
  const head = scaleAndOutputChannels(out, inChannels);
  if (!head || head.outputChannels !== inChannels) {
    throw new WeightError(
      'upsample.0.weight',
      `'upsample.0.weight' has ${out} outputs, expected scale² × ${inChannels}`,
    );
  }
  requireConv(sd, 'upsample.0', { out, in: c, kernel: 3 });
  return {
    inChannels,
    embedDim,
    depths,
    numHeads,
    splitSize,
    mlpHidden,
    ffnHidden,
    qkvBias,
    resiConnection,
    scale: head.scale,
  };
}
