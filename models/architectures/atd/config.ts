// Reading ATD's hyper-parameters from a state dict as spandrel 0.4.2's loader reads them
// (libs/spandrel/spandrel/architectures/ATD/__init__.py), checking every tensor the graph
// uses. category_size is not in the weights: spandrel takes 128 for ATD-light (a
// pixelshuffledirect head on 48 channels) and 256 otherwise, and so does this.
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
import { squareWindow, swinRelativePositionIndex } from '../../nn/window-attention';
import { readHead } from '../swin-shell/heads';
import {
  readResidualConv,
  readShallowConv,
  requireShellTensors,
  upstreamMean,
  type ShellConfig,
} from '../swin-shell/shell';
import { readAttentionTable } from '../swin-shell/blocks';

export interface ATDConfig extends ShellConfig {
  /** Transformer layers per ATD block (residual group). */
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  /** Tokens per group in the category attention (AC-MSA). */
  readonly categorySize: number;
  /** Entries of each group's token dictionary. */
  readonly numTokens: number;
  /** Width of the dictionary attention's queries and keys. */
  readonly reductedDim: number;
  readonly convffnKernelSize: number;
  readonly mlpRatio: number;
  /** The ConvFFN's hidden width, int(embed_dim · mlp_ratio). */
  readonly hidden: number;
  readonly qkvBias: boolean;
  /** False where the file has upstream's `no_norm` buffer: no mean shift around the network. */
  readonly norm: boolean;
}

const RPI_KEY = 'relative_position_index_SA';
const LIGHT_EMBED_DIM = 48;

export function layerPrefix(group: number, layer: number): string {
  return `layers.${group}.residual_group.layers.${layer}`;
}

function requireLayer(sd: StateDict, p: string, c: ATDConfig, heads: number, last: boolean): void {
  const e = c.embedDim;
  const rule: BiasRule = c.qkvBias ? 'required' : 'none';
  const window = c.windowSize;
  if (e % heads !== 0) throw new WeightError(p, `'${p}' has ${heads} heads, which do not divide ${e} channels`);
  requireNorm(sd, `${p}.norm1`, e);
  requireNorm(sd, `${p}.norm2`, e);
  // Every layer but a block's last refines the dictionary through norm3 and sigma.
  if (!last) {
    requireNorm(sd, `${p}.norm3`, c.numTokens);
    requireShape(sd, `${p}.sigma`, [c.numTokens, 1]);
  }
  requireLinear(sd, `${p}.wqkv`, 3 * e, e, rule);
  requireShape(sd, `${p}.attn_win.relative_position_bias_table`, [(2 * window - 1) ** 2, heads]);
  requireLinear(sd, `${p}.attn_win.proj`, e, e);
  requireLinear(sd, `${p}.attn_atd.wq`, c.reductedDim, e, rule);
  requireLinear(sd, `${p}.attn_atd.wk`, c.reductedDim, e, rule);
  requireLinear(sd, `${p}.attn_atd.wv`, e, e, rule);
  requireShape(sd, `${p}.attn_atd.scale`, [c.numTokens]);
  requireShape(sd, `${p}.attn_aca.logit_scale`, [1, 1]);
  requireLinear(sd, `${p}.attn_aca.proj`, e, e, rule);
  requireLinear(sd, `${p}.convffn.fc1`, c.hidden, e);
  const k = c.convffnKernelSize;
  requireConv(sd, `${p}.convffn.dwconv.depthwise_conv.0`, { out: c.hidden, in: 1, kernel: k });
  requireLinear(sd, `${p}.convffn.fc2`, e, c.hidden);
}

/** Every hyper-parameter as spandrel reads it, with every tensor checked against it. */
export function readATDConfig(sd: StateDict): ATDConfig {
  const { embedDim, inChannels } = readShallowConv(sd, [3, 1], 'ATD');
  const positions = dimOf(sd, RPI_KEY, 2, 0, 'the window relative position index [N, N]');
  const windowSize = Math.floor(Math.sqrt(positions));
  checkStoredBuffer(
    sd,
    RPI_KEY,
    swinRelativePositionIndex(squareWindow(windowSize)),
    [positions, positions],
    "Swin's relative-position layout",
  );
  const groups = countNumbered(sd, 'layers');
  if (groups === 0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no ATD blocks)");
  const depths = Array.from({ length: groups }, (_, i) => countNumbered(sd, `layers.${i}.residual_group.layers`));
  const numHeads = depths.map((_, i) => readAttentionTable(sd, `${layerPrefix(i, 0)}.attn_win`, embedDim).heads);
  const p0 = layerPrefix(0, 0);
  const fc1 = `${p0}.convffn.fc1.weight`;
  const mlpRatio = dimOf(sd, fc1, 2, 0, 'the ConvFFN [hidden, embed_dim]') / embedDim;
  const head = readHead(sd, {
    embedDim,
    outChannels: inChannels,
    allowed: ['pixelshuffle', 'pixelshuffledirect', 'nearest+conv', ''],
  });
  if (head.upsampler === 'nearest+conv' && head.scale !== 4) {
    throw new WeightError(
      'conv_up2.weight',
      "ATD's nearest+conv head is x4 only: the weights have no 'conv_up2.weight'",
    );
  }
  const norm = !sd.has('no_norm');
  const light = head.upsampler === 'pixelshuffledirect' && embedDim === LIGHT_EMBED_DIM;
  const config: ATDConfig = {
    inChannels,
    embedDim,
    head,
    resiConnection: readResidualConv(sd, 'layers.0.conv', ['1conv', '3conv']),
    patchNorm: sd.has('patch_embed.norm.weight'),
    windowSize,
    imgRange: 1,
    rgbMean: norm ? upstreamMean(inChannels) : [0],
    depths,
    numHeads,
    categorySize: light ? 128 : 256,
    numTokens: dimOf(sd, `${p0}.attn_atd.scale`, 1, 0, 'the dictionary attention scale [num_tokens]'),
    reductedDim: dimOf(sd, `${p0}.attn_atd.wq.weight`, 2, 0, 'the dictionary attention query [reducted_dim, C]'),
    convffnKernelSize: dimOf(sd, `${p0}.convffn.dwconv.depthwise_conv.0.weight`, 4, 2, 'the ConvFFN depthwise conv'),
    mlpRatio,
    hidden: Math.trunc(embedDim * mlpRatio),
    qkvBias: sd.has(`${p0}.wqkv.bias`),
    norm,
  };
  depths.forEach((depth, i) => {
    if (depth === 0) throw new WeightError(layerPrefix(i, 0), `ATD block ${i} has no layers`);
    requireShape(sd, `layers.${i}.residual_group.td`, [config.numTokens, embedDim]);
    for (let j = 0; j < depth; j++) requireLayer(sd, layerPrefix(i, j), config, numHeads[i] ?? 0, j === depth - 1);
  });
  requireShellTensors(sd, config, groups);
  return config;
}

/** The published variant a configuration matches, for display. */
export function atdVariantName(c: ATDConfig): string {
  if (c.categorySize === 128) return 'ATD-light';
  const six = c.depths.length === 6 && c.depths.every((d) => d === 6);
  if (c.embedDim === 210 && six && c.head.upsampler === 'pixelshuffle') return 'ATD';
  return `ATD (embed ${c.embedDim}, depths [${c.depths.join(', ')}], window ${c.windowSize})`;
}
