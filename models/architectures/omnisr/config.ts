// OmniSR's configuration, read as spandrel 0.4.2's loader reads it (architectures/OmniSR/
// __init__.py), with every tensor the graph uses checked against it. Key names:
// `residual_layer.G` is an OSAG (omni self-attention group); its `residual_layer.B.layer.L`
// are the OSA blocks' layers in the order of upstream's nn.Sequential (L = 0 MBConv,
// 2 and 8 window and grid self-attention, 4, 6, 10 and 12 gated conv feed-forwards, 5 and
// 11 block and grid channel attention; the odd ones between are rearranges), followed by a
// 1×1 conv at B = block_num, and `esa` its enhanced spatial attention.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { CheckedTensors } from '../../weights/checked';

export interface OmniSRConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly features: number;
  /** OSAGs (upstream res_num). */
  readonly groups: number;
  /** OSA blocks per group (upstream block_num). */
  readonly blocks: number;
  /** Whether the self-attentions have a relative position bias (upstream pe). */
  readonly positionBias: boolean;
  /** The attention window; 8 when the weights hold no bias table to read it from. */
  readonly windowSize: number;
  readonly scale: number;
  /** Whether the input, output, upsampler and group-closing convs have biases. */
  readonly bias: boolean;
}

/** Every attention splits the width into 4 heads (dim_head = width / 4; channel attention heads = 4). */
export const HEADS = 4;
export const DEFAULT_WINDOW = 8;
/** Layers of an OSA block that hold weights, by their index in upstream's nn.Sequential. */
export const LAYER = {
  mbconv: 0,
  blockAttention: 2,
  blockChannelAttention: 5,
  gridAttention: 8,
  gridChannelAttention: 11,
  feedForwards: [4, 6, 10, 12],
} as const;

/** Tensors a profiler (thop) leaves behind; spandrel drops them before loading. */
const PROFILER_JUNK = /(total_ops|total_params)$/;

export function groupPrefix(group: number): string {
  return `residual_layer.${group}`;
}

export function layerPrefix(group: number, block: number, layer: number): string {
  return `${groupPrefix(group)}.residual_layer.${block}.layer.${layer}`;
}

/** ESA's inner width: a quarter of the features, at least 16. */
export function esaChannels(features: number): number {
  return Math.max(Math.floor(features / 4), 16);
}

export function readOmniSRConfig(sd: StateDict): OmniSRConfig {
  const features = dimOf(sd, 'input.weight', 4, 0, 'the input conv');
  const inChannels = dimOf(sd, 'input.weight', 4, 1, 'the input conv');
  const head = shuffleHeadOf(sd, 'up.0.weight', inChannels);
  if (features % HEADS !== 0) {
    throw new WeightError(
      'input.weight',
      `'input.weight' gives ${features} features, expected a multiple of ${HEADS} (OmniSR's attentions use 4 heads)`,
    );
  }
  const groups = countNumbered(sd, 'residual_layer');
  if (groups === 0) throw new WeightError('residual_layer.0', "the weights have no 'residual_layer.0.*' (no OSAG)");
  const blocks = countNumbered(sd, `${groupPrefix(0)}.residual_layer`) - 1;
  const tableKey = `${layerPrefix(0, 0, LAYER.blockAttention)}.fn.rel_pos_bias.weight`;
  const positionBias = sd.has(tableKey);
  let windowSize = DEFAULT_WINDOW;
  if (positionBias) {
    const rows = dimOf(sd, tableKey, 2, 0, 'a relative position bias table [(2·window − 1)², heads]');
    windowSize = Math.floor((Math.sqrt(rows) + 1) / 2);
    if ((2 * windowSize - 1) ** 2 !== rows) {
      throw new WeightError(tableKey, `tensor '${tableKey}' has ${rows} rows, expected (2·window − 1)²`);
    }
  }
  const config: OmniSRConfig = {
    inChannels,
    outChannels: head.outputChannels,
    features,
    groups,
    blocks,
    positionBias,
    windowSize,
    scale: head.scale,
    bias: sd.has('input.bias'),
  };
  checkTensors(sd, config);
  return config;
}

function checkTensors(sd: StateDict, c: OmniSRConfig): void {
  const t = new CheckedTensors(sd);
  const f = c.features;
  const bias = c.bias ? 'required' : 'none';
  t.conv('input', { out: f, in: c.inChannels, kernel: 3, bias });
  t.conv('output', { out: f, in: f, kernel: 3, bias });
  t.conv('up.0', { out: c.outChannels * c.scale ** 2, in: f, kernel: 3, bias });
  const tableRows = (2 * c.windowSize - 1) ** 2;
  for (let g = 0; g < c.groups; g++) {
    const groupBlocks = countNumbered(sd, `${groupPrefix(g)}.residual_layer`) - 1;
    if (groupBlocks !== c.blocks) {
      throw new WeightError(groupPrefix(g), `OSAG ${g} has ${groupBlocks} blocks, OSAG 0 has ${c.blocks}`);
    }
    for (let b = 0; b < c.blocks; b++) {
      const layer = (l: number): string => layerPrefix(g, b, l);
      const mb = `${layer(LAYER.mbconv)}.fn`;
      t.conv(`${mb}.0`, { out: f, in: f, kernel: 1 });
      t.conv(`${mb}.2`, { out: f, in: 1, kernel: 3 });
      t.linear(`${mb}.4.gate.1`, f / 4, f, 'none');
      t.linear(`${mb}.4.gate.3`, f, f / 4, 'none');
      t.conv(`${mb}.5`, { out: f, in: f, kernel: 1 });
      for (const l of [LAYER.blockAttention, LAYER.gridAttention]) {
        t.norm(`${layer(l)}.norm`, f);
        t.linear(`${layer(l)}.fn.to_qkv`, 3 * f, f, 'none');
        t.linear(`${layer(l)}.fn.to_out.0`, f, f, 'none');
        if (c.positionBias) t.shape(`${layer(l)}.fn.rel_pos_bias.weight`, [tableRows, HEADS]);
      }
      for (const l of LAYER.feedForwards) {
        t.norm(`${layer(l)}.norm`, f);
        t.conv(`${layer(l)}.fn.project_in`, { out: 2 * f, in: f, kernel: 1, bias: 'none' });
        t.conv(`${layer(l)}.fn.dwconv`, { out: 2 * f, in: 1, kernel: 3, bias: 'none' });
        t.conv(`${layer(l)}.fn.project_out`, { out: f, in: f, kernel: 1, bias: 'none' });
      }
      for (const l of [LAYER.blockChannelAttention, LAYER.gridChannelAttention]) {
        t.norm(`${layer(l)}.norm`, f);
        t.shape(`${layer(l)}.fn.temperature`, [HEADS, 1, 1]);
        t.conv(`${layer(l)}.fn.qkv`, { out: 3 * f, in: f, kernel: 1, bias: 'none' });
        t.conv(`${layer(l)}.fn.qkv_dwconv`, { out: 3 * f, in: 1, kernel: 3, bias: 'none' });
        t.conv(`${layer(l)}.fn.project_out`, { out: f, in: f, kernel: 1, bias: 'none' });
      }
    }
    t.conv(`${groupPrefix(g)}.residual_layer.${c.blocks}`, { out: f, in: f, kernel: 1, bias });
    const e = esaChannels(f);
    const esa = `${groupPrefix(g)}.esa`;
    t.conv(`${esa}.conv1`, { out: e, in: f, kernel: 1 });
    t.conv(`${esa}.conv_f`, { out: e, in: e, kernel: 1 });
    t.conv(`${esa}.conv2`, { out: e, in: e, kernel: 3 });
    t.conv(`${esa}.conv3`, { out: e, in: e, kernel: 3 });
    t.conv(`${esa}.conv4`, { out: f, in: e, kernel: 1 });
  }
  t.accept(...[...sd.keys()].filter((k) => PROFILER_JUNK.test(k)));
  t.rejectOthers(`the tensors of an OmniSR of width ${f} with ${c.groups} OSAG(s) of ${c.blocks} block(s)`);
}
