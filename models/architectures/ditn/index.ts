// DITN, the Depthwise-convolution Involved Transformer (Liu et al. 2023, "Unfolding Once Is
// Enough"; spandrel's DITN/__arch/DITN_Real.py): a shallow conv, UFONE blocks that run
// inception transformer layers (ITL: channel self-attention with L2-normalised queries and
// keys, then a gated depthwise feed-forward) inside each 8×8 patch and spatial-aware
// layers (SAL: depthwise and dilated depthwise convs gating a projection) over the whole
// map, a conv, and a pixel-shuffle head. The forward reflect-pads to a multiple of 8.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf, type BiasRule } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { WeightError } from '../../weights/tensors';
import { attr } from '../../onnx/graph';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, softmax, tanh } from '../../nn/activation';
import { l2Normalize } from '../../nn/norm';
import { pixelShuffle } from '../../nn/shuffle';
import { runtimeDim, shapeVector, withRequirement } from '../../nn/shape';

/** The patch ITLs attend within; fixed in the class, not stored in the weights. */
const PATCH = 8;
/** The head's output is RGB whatever the input (hard-coded upstream). */
const OUTPUT_CHANNELS = 3;

export interface DITNConfig {
  readonly inChannels: number;
  readonly dim: number;
  readonly ufoneBlocks: number;
  readonly itlBlocks: number;
  readonly salBlocks: number;
  /** The feed-forward's gated width, int(dim · ffn_expansion_factor). */
  readonly hidden: number;
  /** Whether the attention output projection and the feed-forwards have biases. */
  readonly bias: boolean;
  readonly scale: number;
}

function checkFeedForward(check: CheckedTensors, prefix: string, c: DITNConfig, bias: BiasRule): void {
  check.conv(`${prefix}.project_in`, { out: 2 * c.hidden, in: c.dim, kernel: 1, bias });
  check.conv(`${prefix}.dwconv`, { out: 2 * c.hidden, in: 1, kernel: 3, bias });
  check.conv(`${prefix}.project_out`, { out: c.dim, in: c.hidden, kernel: 1, bias });
}

function checkLayerConvs(check: CheckedTensors, prefix: string, dim: number): void {
  check.conv(`${prefix}.conv1`, { out: dim, in: dim, kernel: 1 });
  check.conv(`${prefix}.conv2`, { out: dim, in: dim, kernel: 1 });
}

function readConfig(sd: StateDict): DITNConfig {
  const check = new CheckedTensors(sd);
  const dim = dimOf(sd, 'sft.weight', 4, 0, 'the first conv');
  const inChannels = dimOf(sd, 'sft.weight', 4, 1, 'the first conv');
  const ufoneBlocks = countNumbered(sd, 'UFONE');
  const itlBlocks = countNumbered(sd, 'UFONE.0.ITLs');
  if (itlBlocks === 0) throw new WeightError('UFONE.0.ITLs.0', "the weights have no 'UFONE.0.ITLs.0.*'");
  const projectIn = dimOf(sd, 'UFONE.0.ITLs.0.ffn.project_in.weight', 4, 0, 'the feed-forward input conv');
  if (projectIn % 2 !== 0) {
    throw new WeightError(
      'UFONE.0.ITLs.0.ffn.project_in.weight',
      `'UFONE.0.ITLs.0.ffn.project_in.weight' has ${projectIn} output channels, expected an even number (two gated halves)`,
    );
  }
  const bias = sd.has('UFONE.0.ITLs.0.attn.project_out.bias');
  const head = shuffleHeadOf(sd, 'upsample.0.weight', OUTPUT_CHANNELS);
  if (head.outputChannels !== OUTPUT_CHANNELS) {
    throw new WeightError('upsample.0.weight', "'upsample.0.weight' must have 3 × scale² output channels");
  }
  const c: DITNConfig = {
    inChannels,
    dim,
    ufoneBlocks,
    itlBlocks,
    salBlocks: countNumbered(sd, 'UFONE.0.SALs'),
    hidden: projectIn / 2,
    bias,
    scale: head.scale,
  };
  const biasRule: BiasRule = bias ? 'required' : 'none';
  check.conv('sft', { out: dim, in: inChannels, kernel: 3 });
  for (let u = 0; u < ufoneBlocks; u++) {
    for (let i = 0; i < c.itlBlocks; i++) {
      const p = `UFONE.${u}.ITLs.${i}`;
      check.shape(`${p}.attn.temperature`, [1, 1, 1]);
      check.linear(`${p}.attn.qkv`, 3 * dim, dim);
      check.conv(`${p}.attn.project_out`, { out: dim, in: dim, kernel: 1, bias: biasRule });
      checkLayerConvs(check, p, dim);
      checkFeedForward(check, `${p}.ffn`, c, biasRule);
    }
    for (let i = 0; i < c.salBlocks; i++) {
      const p = `UFONE.${u}.SALs.${i}`;
      check.shape(`${p}.SDA.scale`, [1, dim, 1, 1]);
      check.conv(`${p}.SDA.DConvs.0`, { out: dim, in: 1, kernel: 5 });
      check.conv(`${p}.SDA.DConvs.1`, { out: dim, in: 1, kernel: 7 });
      check.conv(`${p}.SDA.DConvs.2`, { out: dim, in: dim, kernel: 1 });
      check.conv(`${p}.SDA.proj_first.0`, { out: 2 * dim, in: dim, kernel: 1 });
      check.conv(`${p}.SDA.proj_last.0`, { out: dim, in: dim, kernel: 1 });
      checkLayerConvs(check, p, dim);
      checkFeedForward(check, `${p}.ffn`, c, biasRule);
    }
  }
  check.conv('conv_after_body', { out: dim, in: dim, kernel: 3 });
  check.conv('upsample.0', { out: OUTPUT_CHANNELS * c.scale ** 2, in: dim, kernel: 3 });
  check.rejectOthers(
    `the tensors of a DITN with ${ufoneBlocks} UFONE block(s) of ${c.itlBlocks} ITLs and ${c.salBlocks} SALs`,
  );
  return c;
}

function describe(c: DITNConfig): ModelDescription {
  return {
    variant: `DITN (${c.dim} channels, ${c.ufoneBlocks} × (${c.itlBlocks} ITL + ${c.salBlocks} SAL))`,
    scale: c.scale,
    inputMultiple: PATCH,
    // spandrel: fp16 and bf16, sides a multiple of the patch (the forward pads to it).
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: c.inChannels, output: OUTPUT_CHANNELS },
      size: sizeRequirement(0, PATCH),
    },
    params: {
      inp_channels: c.inChannels,
      dim: c.dim,
      ITL_blocks: c.itlBlocks,
      SAL_blocks: c.salBlocks,
      UFONE_blocks: c.ufoneBlocks,
      ffn_expansion_factor: c.hidden / c.dim,
      bias: c.bias,
      patch_size: PATCH,
      upscale: c.scale,
    },
  };
}

/** Conv, depthwise conv, then GELU of one half times the other, and a conv back. */
function feedForward(ctx: GraphContext, x: string, prefix: string, hidden: number): string {
  const mixed = conv2d(ctx, conv2d(ctx, x, `${prefix}.project_in`), `${prefix}.dwconv`, { groups: 2 * hidden });
  const [gated, gate] = ctx.g.opN('Split', [mixed], 2, { axis: attr.int(1) });
  if (gated === undefined || gate === undefined) throw new Error('Split gave fewer than two parts');
  return conv2d(ctx, ctx.g.op('Mul', [gelu(ctx, gated), gate]), `${prefix}.project_out`);
}

/**
 * ISA on 8×8 patches [N, C, 8, 8]: attention across channels, each channel's 64 positions
 * a vector. The token-wise qkv Linear is a 1×1 conv on the patch, which gives q, k and v
 * already channel-major, as the forward's transposes leave them.
 */
function patchAttention(ctx: GraphContext, x: string, prefix: string, dim: number): string {
  const g = ctx.g;
  const qkvWeight = ctx.weightAs(`${prefix}.qkv.weight`, [3 * dim, dim, 1, 1]);
  const qkv = g.op('Conv', [x, qkvWeight, ctx.weight(`${prefix}.qkv.bias`)], {}, `${prefix}.qkv`);
  const vectors = g.op('Reshape', [qkv, ctx.ints([0, 3 * dim, PATCH * PATCH])]);
  const [q, k, v] = g.opN('Split', [vectors], 3, { axis: attr.int(1) });
  if (q === undefined || k === undefined || v === undefined) throw new Error('Split gave fewer than three parts');
  const kT = g.op('Transpose', [l2Normalize(ctx, k)], { perm: attr.ints([0, 2, 1]) });
  const scores = g.op('Mul', [g.op('MatMul', [l2Normalize(ctx, q), kT]), ctx.weight(`${prefix}.temperature`)]);
  const attended = g.op('MatMul', [softmax(ctx, scores, -1), v]);
  const patch = g.op('Reshape', [attended, ctx.ints([0, dim, PATCH, PATCH])]);
  return conv2d(ctx, patch, `${prefix}.project_out`);
}

/** SDA: the first half of a projection, through depthwise 5×5 and dilated 7×7 convs, gates the second. */
function spatialAttention(ctx: GraphContext, x: string, prefix: string): string {
  const g = ctx.g;
  const [a, value] = g.opN('Split', [conv2d(ctx, x, `${prefix}.proj_first.0`)], 2, { axis: attr.int(1) });
  if (a === undefined || value === undefined) throw new Error('Split gave fewer than two parts');
  const channels = dimOf(ctx.sd, `${prefix}.DConvs.0.weight`, 4, 0, 'a depthwise conv');
  const local = conv2d(ctx, a, `${prefix}.DConvs.0`, { groups: channels });
  const wide = conv2d(ctx, local, `${prefix}.DConvs.1`, { groups: channels, dilation: 3 });
  const gate = conv2d(ctx, wide, `${prefix}.DConvs.2`);
  const projected = conv2d(ctx, g.op('Mul', [value, gate]), `${prefix}.proj_last.0`);
  return g.op('Mul', [projected, ctx.weight(`${prefix}.scale`)], {}, 'sda');
}

/** x + mix(conv1(tanh x)), then + ffn(conv2(tanh ·)): the shape of both ITL and SAL. */
function layer(ctx: GraphContext, x: string, prefix: string, hidden: number, mix: (y: string) => string): string {
  const g = ctx.g;
  const mixed = g.op('Add', [x, mix(conv2d(ctx, tanh(ctx, x), `${prefix}.conv1`))]);
  const fed = feedForward(ctx, conv2d(ctx, tanh(ctx, mixed), `${prefix}.conv2`), `${prefix}.ffn`, hidden);
  return g.op('Add', [mixed, fed], {}, 'ditn_layer');
}

/** One UFONE block on a map whose sides are multiples of the patch. */
function ufone(ctx: GraphContext, x: string, u: number, c: DITNConfig): string {
  const g = ctx.g;
  const height = runtimeDim(ctx, x, 2);
  const width = runtimeDim(ctx, x, 3);
  const rows = g.op('Div', [height, ctx.ints([PATCH])]);
  const cols = g.op('Div', [width, ctx.ints([PATCH])]);
  const split = g.op('Reshape', [x, shapeVector(ctx, [1, c.dim, rows, PATCH, cols, PATCH])]);
  const byPatch = g.op('Transpose', [split], { perm: attr.ints([0, 2, 4, 1, 3, 5]) });
  let patches = g.op('Reshape', [byPatch, ctx.ints([-1, c.dim, PATCH, PATCH])], {}, 'patches');
  for (let i = 0; i < c.itlBlocks; i++) {
    const p = `UFONE.${u}.ITLs.${i}`;
    patches = layer(ctx, patches, p, c.hidden, (y) => patchAttention(ctx, y, `${p}.attn`, c.dim));
  }
  const grouped = g.op('Reshape', [patches, shapeVector(ctx, [1, rows, cols, c.dim, PATCH, PATCH])]);
  const placed = g.op('Transpose', [grouped], { perm: attr.ints([0, 3, 1, 4, 2, 5]) });
  let map = g.op('Reshape', [placed, shapeVector(ctx, [1, c.dim, height, width])], {}, 'unpatched');
  for (let i = 0; i < c.salBlocks; i++) {
    const p = `UFONE.${u}.SALs.${i}`;
    map = layer(ctx, map, p, c.hidden, (y) => spatialAttention(ctx, y, `${p}.SDA`));
  }
  return map;
}

function build(sd: StateDict, c: DITNConfig): Uint8Array {
  const spec = {
    name: 'ditn',
    sd,
    inputChannels: c.inChannels,
    outputChannels: OUTPUT_CHANNELS,
    description: `DITN x${c.scale}`,
  };
  // The forward reflect-pads to the patch; spandrel's call API pads the same way where
  // reflection alone cannot reach (sides under 5 px) and the forward would fail.
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, { minimum: 0, multiple: PATCH, scale: c.scale }, (x) => {
      const shallow = conv2d(ctx, x, 'sft');
      let deep = shallow;
      for (let u = 0; u < c.ufoneBlocks; u++) deep = ufone(ctx, deep, u, c);
      const body = ctx.g.op('Add', [conv2d(ctx, deep, 'conv_after_body'), shallow]);
      return pixelShuffle(ctx, conv2d(ctx, body, 'upsample.0'), c.scale);
    }),
  );
}

export const ditn: ArchitectureModule<'ditn', DITNConfig> = {
  id: 'ditn',
  label: 'DITN',
  keys: hasAll(
    'sft.weight',
    'UFONE.0.ITLs.0.attn.temperature',
    'UFONE.0.ITLs.0.ffn.project_in.weight',
    'UFONE.0.ITLs.0.ffn.dwconv.weight',
    'UFONE.0.ITLs.0.ffn.project_out.weight',
    'conv_after_body.weight',
    'upsample.0.weight',
  ),
  readConfig,
  describe,
  build,
};
