// MoESR, "Mamba out Excitation Super-Resolution" (umzi2; spandrel's MoESR/__arch/MoESR.py):
// a conv, groups of gated CNN blocks (../mosr/gated-block.ts, their token mixer an
// inception depthwise conv: 3 × 3, 1 × 11 and 11 × 1 on an eighth of the channels each,
// scaled by a learned gamma) each closed by a multi-scale gate (MSG: the map at half size
// through three more gated blocks), a long residual, and the head its MetaUpsample buffer
// names (../uni-upsample). The forward reflect-pads to even sides and crops.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { WeightError } from '../../weights/tensors';
import { attr } from '../../onnx/graph';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { pixelShuffle, pixelUnshuffle } from '../../nn/shuffle';
import { withRequirement } from '../../nn/shape';
import { checkGated, gatedBlock, readHidden, type GatedShape } from '../mosr/gated-block';
import { checkUniUpsample, readMetaUpsample, uniUpsample, type MetaUpsample, type UniUpsample } from '../uni-upsample';

export interface MoESRConfig {
  readonly inChannels: number;
  readonly dim: number;
  readonly nBlocks: number;
  readonly nBlock: number;
  /** The gated blocks of each group, and those of each MSG. */
  readonly block: GatedShape;
  readonly msg: GatedShape;
  /** Channels of each inception branch, int(dim / 8). */
  readonly branch: number;
  readonly meta: MetaUpsample;
  readonly head: UniUpsample;
  readonly scale: number;
}

const META_VERSION = 1;
const MSG_BLOCKS = 3;
const MSG_SLOPE = 0.1;
const BAND_KERNEL = 11;
/** MSG works at half size, so sides are padded to even. */
const SIDE_MULTIPLE = 2;
/** spandrel's size requirement for MoESR: at least 2 px. */
const SPANDREL_MINIMUM = 2;

function groupPrefix(i: number): string {
  return `blocks.${i}`;
}

function readConfig(sd: StateDict): MoESRConfig {
  const check = new CheckedTensors(sd);
  const dim = dimOf(sd, 'in_to_dim.weight', 4, 0, 'the first conv');
  const inChannels = dimOf(sd, 'in_to_dim.weight', 4, 1, 'the first conv');
  const branch = Math.floor(dim / 8);
  if (branch < 1 || dim % 4 !== 0) {
    throw new WeightError(
      'in_to_dim.weight',
      `the feature width is ${dim}, expected a multiple of 4 of at least 8 (inception branches of dim / 8, MSG's pixel unshuffle of dim / 4)`,
    );
  }
  const nBlocks = countNumbered(sd, 'blocks');
  const nBlock = countNumbered(sd, 'blocks.0.blocks');
  if (nBlocks === 0 || nBlock === 0)
    throw new WeightError('blocks.0.blocks.0', "the weights have no 'blocks.0.blocks.0.*'");
  const block: GatedShape = { dim, hidden: readHidden(check, 'blocks.0.blocks.0'), convChannels: dim };
  const msg: GatedShape = { dim, hidden: readHidden(check, 'blocks.0.msg.gated.0'), convChannels: dim };
  const meta = readMetaUpsample(sd, 'upscale.MetaUpsample', META_VERSION);

  const checkBlock = (prefix: string, shape: GatedShape): void => {
    checkGated(check, prefix, shape);
    check.shape(`${prefix}.gamma`, [1, dim, 1, 1]);
    check.conv(`${prefix}.conv.dwconv_hw`, { out: branch, in: 1, kernel: 3 });
    check.conv(`${prefix}.conv.dwconv_w`, { out: branch, in: 1, kernel: [1, BAND_KERNEL] });
    check.conv(`${prefix}.conv.dwconv_h`, { out: branch, in: 1, kernel: [BAND_KERNEL, 1] });
  };
  check.conv('in_to_dim', { out: dim, in: inChannels, kernel: 3 });
  for (let i = 0; i < nBlocks; i++) {
    const p = groupPrefix(i);
    for (let j = 0; j < nBlock; j++) checkBlock(`${p}.blocks.${j}`, block);
    check.conv(`${p}.msg.down.0`, { out: dim / 4, in: dim, kernel: 3 });
    for (let j = 0; j < MSG_BLOCKS; j++) checkBlock(`${p}.msg.gated.${j}`, msg);
    check.conv(`${p}.msg.up.0`, { out: 4 * dim, in: dim, kernel: 3 });
  }
  const head = checkUniUpsample(check, { prefix: 'upscale', meta, inDim: dim, outChannels: meta.outChannels });
  check.rejectOthers(`the tensors of a MoESR with ${nBlocks} groups of ${nBlock} blocks`);
  // The class sets the scale to 1 for a conv head; any head at scale 1 is a conv.
  const scale = meta.kind === 'conv' ? 1 : meta.scale;
  return { inChannels, dim, nBlocks, nBlock, block, msg, branch, meta, head, scale };
}

function describe(c: MoESRConfig): ModelDescription {
  return {
    variant: `MoESR (${c.dim} channels, ${c.nBlocks} × ${c.nBlock} blocks, ${c.head.kind} head)`,
    scale: c.scale,
    inputMultiple: SIDE_MULTIPLE,
    // spandrel: fp16 and bf16, at least 2 px.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: c.inChannels, output: c.meta.outChannels },
      size: sizeRequirement(SPANDREL_MINIMUM),
    },
    params: {
      in_ch: c.inChannels,
      out_ch: c.meta.outChannels,
      scale: c.scale,
      dim: c.dim,
      n_blocks: c.nBlocks,
      n_block: c.nBlock,
      expansion_factor: c.block.hidden / c.dim,
      expansion_msg: c.msg.hidden / c.dim,
      upsampler: c.meta.kind,
      upsample_dim: c.meta.midDim,
    },
  };
}

/** Identity, then 3 × 3, 1 × 11 and 11 × 1 depthwise convs on the last three branches. */
function inception(ctx: GraphContext, x: string, prefix: string, c: MoESRConfig): string {
  const g = ctx.g;
  const widths = [c.dim - 3 * c.branch, c.branch, c.branch, c.branch];
  const [id, hw, w, h] = g.opN('Split', [x, ctx.ints(widths)], 4, { axis: attr.int(1) });
  if (id === undefined || hw === undefined || w === undefined || h === undefined) throw new Error('Split gave too few');
  const dw = (y: string, name: string): string => conv2d(ctx, y, `${prefix}.${name}`, { groups: c.branch });
  const mixed = [dw(hw, 'dwconv_hw'), dw(w, 'dwconv_w'), dw(h, 'dwconv_h')];
  return g.op('Concat', c.dim > 3 * c.branch ? [id, ...mixed] : mixed, { axis: attr.int(1) }, 'inception');
}

/** gamma · gated(x) + x. */
function block(ctx: GraphContext, x: string, prefix: string, shape: GatedShape, c: MoESRConfig): string {
  const gated = gatedBlock(ctx, x, prefix, shape, (part) => inception(ctx, part, `${prefix}.conv`, c));
  return ctx.g.op('Add', [ctx.g.op('Mul', [gated, ctx.weight(`${prefix}.gamma`)]), x], {}, 'gated_residual');
}

/** MSG: conv to dim / 4, unshuffle 2, three gated blocks, conv, shuffle 2, added to x. */
function multiScaleGate(ctx: GraphContext, x: string, prefix: string, c: MoESRConfig): string {
  const down = conv2d(ctx, x, `${prefix}.down.0`);
  let y = leakyRelu(ctx, pixelUnshuffle(ctx, down, 2, c.dim / 4), MSG_SLOPE);
  for (let j = 0; j < MSG_BLOCKS; j++) y = block(ctx, y, `${prefix}.gated.${j}`, c.msg, c);
  const up = leakyRelu(ctx, pixelShuffle(ctx, conv2d(ctx, y, `${prefix}.up.0`), 2), MSG_SLOPE);
  return ctx.g.op('Add', [up, x], {}, 'msg_residual');
}

function build(sd: StateDict, c: MoESRConfig): Uint8Array {
  const spec = {
    name: 'moesr',
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.meta.outChannels,
    description: `MoESR x${c.scale}`,
  };
  // The forward's reflect pad to even sides is spandrel's pad_tensor wherever it runs, and
  // what spandrel's call API does for a 1-pixel side, where the forward cannot.
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, { minimum: 0, multiple: SIDE_MULTIPLE, scale: c.scale }, (x) => {
      const features = conv2d(ctx, x, 'in_to_dim');
      let y = features;
      for (let i = 0; i < c.nBlocks; i++) {
        const p = groupPrefix(i);
        for (let j = 0; j < c.nBlock; j++) y = block(ctx, y, `${p}.blocks.${j}`, c.block, c);
        y = multiScaleGate(ctx, y, `${p}.msg`, c);
      }
      return uniUpsample(ctx, ctx.g.op('Add', [y, features], {}, 'long_residual'), 'upscale', c.head);
    }),
  );
}

export const moesr: ArchitectureModule<'moesr', MoESRConfig> = {
  id: 'moesr',
  label: 'MoESR',
  keys: hasAll(
    'in_to_dim.weight',
    'in_to_dim.bias',
    'blocks.0.blocks.0.gamma',
    'blocks.0.blocks.0.norm.weight',
    'blocks.0.blocks.0.norm.bias',
    'blocks.0.blocks.0.fc1.weight',
    'blocks.0.blocks.0.fc1.bias',
    'blocks.0.blocks.0.conv.dwconv_hw.weight',
    'blocks.0.blocks.0.conv.dwconv_hw.bias',
    'blocks.0.blocks.0.conv.dwconv_w.weight',
    'blocks.0.blocks.0.conv.dwconv_w.bias',
    'blocks.0.blocks.0.conv.dwconv_h.weight',
    'blocks.0.blocks.0.conv.dwconv_h.bias',
    'blocks.0.blocks.0.fc2.weight',
    'blocks.0.blocks.0.fc2.bias',
    'upscale.MetaUpsample',
  ),
  readConfig,
  describe,
  build,
};
