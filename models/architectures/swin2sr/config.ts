// Reading Swin2SR's hyper-parameters from a state dict (mv-lab/swin2sr, as spandrel 0.4.2
// ships it): SwinIR's shell with Swin V2 blocks (cosine attention, continuous position
// bias, post-norm), a 1×1 patch-embedding conv after the shallow conv and after each
// group's conv, and two heads SwinIR lacks: 'pixelshuffle_aux' (a bicubic branch and an
// auxiliary low-resolution image) and 'pixelshuffle_hf' (a second body for high frequencies).
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { checkStoredBuffer, dimOf, requireConv, requireLinear, requireNorm, requireShape } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { squareWindow, swinRelativePositionIndex } from '../../nn/window-attention';
import { readHead, readShuffleStages, type Upsampler } from '../swin-shell/heads';
import {
  readResidualConnections,
  readResidualConv,
  readShallowConv,
  requireShellTensors,
  upstreamMean,
  type ShellConfig,
} from '../swin-shell/shell';
import { requireMlp } from '../swin-shell/blocks';

/** Upstream's `upsampler`: SwinIR's four and the two heads Swin2SR adds. */
export type Swin2SRUpsampler = Upsampler | 'pixelshuffle_aux' | 'pixelshuffle_hf';

export interface Swin2SRConfig extends ShellConfig {
  readonly upsampler: Swin2SRUpsampler;
  /** Whether q and v have biases (upstream qkv_bias: `attn.q_bias`, `attn.v_bias`; k never has one). */
  readonly qkvBias: boolean;
  /**
   * Whether odd blocks shift their windows. Upstream drops the shift when its training size
   * is not larger than the window, and spandrel infers that size from the stored shift
   * mask (`layers.0.residual_group.blocks.1.attn_mask`): no mask, no shift.
   */
  readonly shifted: boolean;
  /** The training size spandrel infers (only informative). */
  readonly imgSize: number;
}

/** Width of upstream's position MLP (`cpb_mlp`). */
export const POSITION_MLP_WIDTH = 512;

export function blockPrefix(layers: string, layer: number, block: number): string {
  return `${layers}.${layer}.residual_group.blocks.${block}`;
}

interface GroupShape {
  readonly depth: number;
  readonly heads: number;
  readonly windowSize: number;
  readonly hidden: number;
}

/** Checks one Swin V2 block and returns its heads, window and MLP width. */
function readBlock(sd: StateDict, p: string, c: number, qkvBias: boolean): Omit<GroupShape, 'depth'> {
  const heads = dimOf(sd, `${p}.attn.logit_scale`, 3, 0, 'the per-head logit scale [heads, 1, 1]');
  requireShape(sd, `${p}.attn.logit_scale`, [heads, 1, 1]);
  if (c % heads !== 0) {
    throw new WeightError(`${p}.attn.logit_scale`, `${heads} heads do not divide embed_dim ${c}`);
  }
  const indexKey = `${p}.attn.relative_position_index`;
  const n = dimOf(sd, indexKey, 2, 0, "Swin's relative position index [window², window²]");
  const windowSize = Math.round(Math.sqrt(n));
  if (windowSize * windowSize !== n) {
    throw new WeightError(indexKey, `tensor '${indexKey}' has ${n} rows, expected window² for an integer window`);
  }
  checkStoredBuffer(
    sd,
    indexKey,
    swinRelativePositionIndex(squareWindow(windowSize)),
    [n, n],
    "Swin's relative-position layout",
  );
  requireNorm(sd, `${p}.norm1`, c);
  requireNorm(sd, `${p}.norm2`, c);
  requireLinear(sd, `${p}.attn.qkv`, 3 * c, c, 'none');
  for (const part of ['q_bias', 'v_bias']) {
    const key = `${p}.attn.${part}`;
    if (qkvBias) requireShape(sd, key, [c]);
    else if (sd.has(key)) throw new WeightError(key, `tensor '${key}' is present but '${p}.attn.q_bias' is not`);
  }
  requireLinear(sd, `${p}.attn.cpb_mlp.0`, POSITION_MLP_WIDTH, 2);
  requireLinear(sd, `${p}.attn.cpb_mlp.2`, heads, POSITION_MLP_WIDTH, 'none');
  requireLinear(sd, `${p}.attn.proj`, c, c);
  const hidden = dimOf(sd, `${p}.mlp.fc1.weight`, 2, 0, 'the MLP');
  requireMlp(sd, `${p}.mlp`, c, hidden);
  return { heads, windowSize, hidden };
}

/** Reads one residual group (RSTB) of `layers` ('layers' or 'layers_hf'), checking its tensors. */
function readGroup(sd: StateDict, layers: string, layer: number, c: number, qkvBias: boolean): GroupShape {
  const prefix = `${layers}.${layer}.residual_group.blocks`;
  const depth = countNumbered(sd, prefix);
  if (depth === 0) throw new WeightError(`${prefix}.0`, `the weights have no '${prefix}.0.*' (empty residual group)`);
  const first = readBlock(sd, blockPrefix(layers, layer, 0), c, qkvBias);
  for (let b = 1; b < depth; b++) {
    const p = blockPrefix(layers, layer, b);
    const shape = readBlock(sd, p, c, qkvBias);
    if (shape.heads !== first.heads || shape.windowSize !== first.windowSize || shape.hidden !== first.hidden) {
      throw new WeightError(
        p,
        `'${p}' has ${shape.heads} heads, window ${shape.windowSize}, MLP ${shape.hidden}; ` +
          `block 0 has ${first.heads}, ${first.windowSize}, ${first.hidden}`,
      );
    }
  }
  requireConv(sd, `${layers}.${layer}.patch_embed.proj`, { out: c, in: c, kernel: 1 });
  return { depth, ...first };
}

/** Every group of `layers`, all with one window and MLP width. */
function readGroups(sd: StateDict, layers: string, c: number, qkvBias: boolean): GroupShape[] {
  const count = countNumbered(sd, layers);
  const groups = Array.from({ length: count }, (_, i) => readGroup(sd, layers, i, c, qkvBias));
  const [g0] = groups;
  if (!g0) throw new WeightError(`${layers}.0`, `the weights have no '${layers}.0.*' (no residual groups)`);
  groups.forEach((g, i) => {
    if (g.windowSize !== g0.windowSize || g.hidden !== g0.hidden) {
      throw new WeightError(
        `${layers}.${i}`,
        `layer ${i} has window ${g.windowSize} and MLP ${g.hidden}, layer 0 has ${g0.windowSize} and ${g0.hidden}`,
      );
    }
  });
  return groups;
}

/** Which head the keys show, in spandrel's order of tests. */
function upsamplerOf(sd: StateDict): Swin2SRUpsampler | null {
  if (sd.has('conv_bicubic.weight')) return 'pixelshuffle_aux';
  if (sd.has('conv_after_body_hf.weight')) return 'pixelshuffle_hf';
  return null;
}

/** The extra tensors of the aux and hf heads, whose shared part readHead checked as 'pixelshuffle'. */
function requireExtraHead(
  sd: StateDict,
  upsampler: Swin2SRUpsampler,
  c: ShellConfig,
  qkvBias: boolean,
  groups: readonly GroupShape[],
): void {
  const nf = c.head.numFeat;
  const conv3 = (prefix: string, out: number, inChannels: number): void =>
    requireConv(sd, prefix, { out, in: inChannels, kernel: 3 });
  if (upsampler === 'pixelshuffle_aux') {
    // conv_after_aux takes 3 channels whatever in_chans is: the forward only runs on RGB.
    if (c.inChannels !== 3) {
      throw new WeightError(
        'conv_after_aux.0.weight',
        `the pixelshuffle_aux head takes RGB only, not ${c.inChannels} channel(s)`,
      );
    }
    conv3('conv_bicubic', nf, c.inChannels);
    conv3('conv_aux', c.inChannels, nf);
    conv3('conv_after_aux.0', nf, 3);
    return;
  }
  if (upsampler !== 'pixelshuffle_hf') return;
  const hf = readGroups(sd, 'layers_hf', c.embedDim, qkvBias);
  hf.forEach((g, i) => {
    const main = groups[i];
    if (!main || g.depth !== main.depth || g.heads !== main.heads || g.windowSize !== main.windowSize) {
      throw new WeightError(`layers_hf.${i}`, `'layers_hf.${i}' does not mirror 'layers.${i}' (depth, heads, window)`);
    }
    if (readResidualConv(sd, `layers_hf.${i}.conv`, ['1conv', '3conv']) !== c.resiConnection) {
      throw new WeightError(`layers_hf.${i}.conv`, `'layers_hf.${i}.conv' is not ${c.resiConnection}`);
    }
  });
  if (hf.length !== groups.length) {
    throw new WeightError('layers_hf', `${hf.length} high-frequency groups, expected ${groups.length} like 'layers'`);
  }
  conv3('conv_first_hf.0', c.embedDim, nf);
  conv3('conv_after_body_hf', c.embedDim, c.embedDim);
  conv3('conv_before_upsample_hf.0', nf, c.embedDim);
  const stages = readShuffleStages(sd, 'upsample_hf', nf);
  if (stages.join() !== c.head.stages.join()) {
    throw new WeightError(
      'upsample_hf.0.weight',
      `'upsample_hf' has stages ×${stages.join('×')}, 'upsample' ×${c.head.stages.join('×')}`,
    );
  }
  conv3('conv_last_hf', c.inChannels, nf);
}

/** Reads every hyper-parameter from key names and shapes, as spandrel's loader does. */
export function readSwin2SRConfig(sd: StateDict): Swin2SRConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3, 1], 'Swin2SR');
  const patch = dimOf(sd, 'patch_embed.proj.weight', 4, 2, 'the patch-embedding conv');
  if (patch !== 1) {
    throw new WeightError(
      'patch_embed.proj.weight',
      `patch_size ${patch}: the token grid would be coarser than the image, which upstream's forward cannot ` +
        'reshape back (patch_unembed to the image size), so no such model runs; expected patch_size 1',
    );
  }
  requireConv(sd, 'patch_embed.proj', { out: embedDim, in: embedDim, kernel: 1 });
  const qkvBias = sd.has(`${blockPrefix('layers', 0, 0)}.attn.q_bias`);
  const groups = readGroups(sd, 'layers', embedDim, qkvBias);
  const [g0] = groups;
  if (!g0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no residual groups)");

  const extra = upsamplerOf(sd);
  const head = readHead(sd, {
    embedDim,
    outChannels: inChannels,
    allowed: extra ? ['pixelshuffle'] : ['pixelshuffle', 'pixelshuffledirect', 'nearest+conv', ''],
  });
  if (head.upsampler === 'nearest+conv' && head.scale !== 4) {
    throw new WeightError(
      'conv_up2.weight',
      `Swin2SR's nearest+conv head is x4 (conv_up1 and conv_up2); found x${head.scale}`,
    );
  }
  const window = g0.windowSize;
  // Every odd block stores its shift mask when its windows shift (spandrel reads block 1 of
  // layer 0, and refuses a file whose other layers have masks where that one has none).
  const maskKey = [...sd.keys()].find((k) => /^layers\.\d+\.residual_group\.blocks\.\d+\.attn_mask$/.test(k));
  const masks = maskKey === undefined ? 0 : dimOf(sd, maskKey, 3, 0, 'the shift mask [windows, N, N]');
  const config: Swin2SRConfig = {
    inChannels,
    embedDim,
    head,
    resiConnection: readResidualConnections(sd, groups.length, ['1conv', '3conv'] as const),
    patchNorm: sd.has('patch_embed.norm.weight'),
    windowSize: window,
    // spandrel: "The JPEG models are the only ones with window-size 7, and they also use this range".
    imgRange: window === 7 ? 255 : 1,
    rgbMean: upstreamMean(inChannels),
    depths: groups.map((g) => g.depth),
    numHeads: groups.map((g) => g.heads),
    mlpRatio: g0.hidden / embedDim,
    upsampler: extra ?? head.upsampler,
    qkvBias,
    shifted: masks > 0,
    imgSize: masks > 0 ? Math.trunc(Math.sqrt(masks * window * window)) : window,
  };
  requireShellTensors(sd, config, groups.length);
  requireExtraHead(sd, config.upsampler, config, qkvBias, groups);
  return config;
}
