// SeemoRe, "See More Details" (Zamfir et al. 2024; spandrel's SeemoRe/__arch/seemore_arch.py):
// residual groups of a local block (a mixture of low-rank experts, one chosen per image by
// a router, modulated by a calibration branch of strided 4 × 4 aggregation) and a global
// block (striped depthwise convs gating a projection), each with a gated feed-forward;
// a LayerNorm, a conv and a pixel-shuffle head, around DIV2K's RGB mean.
//
// The router's top-1 choice depends on the image. The graph computes the router's softmax
// and gathers the chosen expert's weights by its argmax, then runs that one expert: the
// experts' 1 × 1 convs are stored zero-padded to the widest expert's width, which adds
// exact zeros. It costs one expert of the widest width per layer (7 channels for six
// linear-growth experts), not all six (27 channels), and no data-dependent control flow.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { floatTensor } from '../../weights/tensors';
import { attr } from '../../onnx/graph';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { layerNormChannelsFirst } from '../../nn/norm';
import { globalPool } from '../../nn/pool';
import { interpolateTo } from '../../nn/resize';
import { pixelShuffle } from '../../nn/shuffle';
import { runtimeDim, withRequirement } from '../../nn/shape';
import { IMAGE_CHANNELS, readSeemoReConfig, type SeemoReConfig } from './config';

const NORM_EPS = 1e-6;
/** DIV2K's RGB mean, which the forward subtracts and adds back (img_range 1). */
const RGB_MEAN = [0.4488, 0.4371, 0.404];
/** spandrel's size requirement; below it the calibration's aggregation has nothing to pool. */
const MINIMUM_SIDE = 16;
const AGGREGATION_STRIDE = 4;

/**
 * `experts.N.conv_{part}` of every expert stacked along a new first axis, zero-padded to
 * the widest expert: conv_1 and conv_2 as [experts, widest, C] (biases [experts, widest]),
 * conv_3 as [experts, C, widest] (biases [experts, C]).
 */
function stackedExperts(ctx: GraphContext, moe: string, c: SeemoReConfig, part: 1 | 2 | 3, bias: boolean): string {
  const widest = Math.max(...c.expertWidths);
  const e = c.embedDim;
  const [rows, cols] = part === 3 ? [e, widest] : [widest, e];
  const tensor = bias ? 'bias' : 'weight';
  return ctx.constant(`${moe}.moe_layer.experts.conv_${part}.${tensor}_stacked`, () => {
    const count = c.expertWidths.length;
    const width = bias ? 1 : cols;
    const data = new Float32Array(count * rows * width);
    c.expertWidths.forEach((low, i) => {
      const source = floatTensor(ctx.sd, `${moe}.moe_layer.experts.${i}.conv_${part}.${tensor}`).data;
      const [sourceRows, sourceCols] = part === 3 ? [e, bias ? 1 : low] : [low, bias ? 1 : e];
      for (let r = 0; r < sourceRows; r++) {
        for (let k = 0; k < sourceCols; k++) {
          data[(i * rows + r) * width + k] = source[r * sourceCols + k] ?? Number.NaN;
        }
      }
    });
    return { data, dims: bias ? [count, rows] : [count, rows, cols] };
  });
}

/** The chosen expert's 1 × 1 conv `conv_N` on x: its weight and bias gathered by `choice`. */
function chosenConv(
  ctx: GraphContext,
  x: string,
  moe: string,
  c: SeemoReConfig,
  part: 1 | 2 | 3,
  choice: string,
): string {
  const g = ctx.g;
  const pick = (stacked: string): string => g.op('Gather', [stacked, choice], { axis: attr.int(0) });
  const weight = g.op('Unsqueeze', [pick(stackedExperts(ctx, moe, c, part, false)), ctx.ints([2, 3])]);
  return g.op('Conv', [x, weight, pick(stackedExperts(ctx, moe, c, part, true))], {}, `expert_conv_${part}`);
}

/** MoELayer in eval: inputs + expert(inputs, k) · its routing weight, the expert the router ranks first. */
function mixtureOfExperts(ctx: GraphContext, x: string, k: string, moe: string, c: SeemoReConfig): string {
  const g = ctx.g;
  const pooled = g.op('Flatten', [globalPool(ctx, x, 'avg')], { axis: attr.int(1) });
  const routing = softmax(ctx, linear(ctx, pooled, `${moe}.moe_layer.gate.body.2`), 1);
  // The batch is one image: the choice as a 0-d index, so that gathering drops the experts' axis.
  const ranked = g.op('ArgMax', [routing], { axis: attr.int(1), keepdims: attr.int(0) });
  const choice = g.op('Squeeze', [ranked, ctx.ints([0])], {}, 'expert_choice');
  const weight = g.op('ReduceMax', [routing], { axes: attr.ints([1]), keepdims: attr.int(1) }, 'expert_weight');
  const gated = g.op('Mul', [chosenConv(ctx, k, moe, c, 2, choice), chosenConv(ctx, x, moe, c, 1, choice)]);
  const expert = chosenConv(ctx, gated, moe, c, 3, choice);
  const scaled = g.op('Mul', [expert, g.op('Unsqueeze', [weight, ctx.ints([2, 3])])]);
  return g.op('Add', [x, scaled], {}, 'moe');
}

/**
 * conv_1.2's output channels in channel_shuffle(·, 2)'s order, so that the shuffle costs
 * nothing: shuffled channel n is the conv's channel (n mod 2) · C + ⌊n / 2⌋.
 */
function shuffledConv(ctx: GraphContext, x: string, prefix: string, c: SeemoReConfig): string {
  if (!c.useShuffle) return conv2d(ctx, x, prefix);
  const e = c.embedDim;
  const source = (n: number): number => (n % 2) * e + Math.floor(n / 2);
  const reorder = (key: string, rowSize: number): string =>
    ctx.constant(`${key}_shuffled`, () => {
      const t = floatTensor(ctx.sd, key);
      const data = new Float32Array(t.data.length);
      for (let n = 0; n < 2 * e; n++)
        data.set(t.data.subarray(source(n) * rowSize, (source(n) + 1) * rowSize), n * rowSize);
      return { data, dims: [...t.shape] };
    });
  return ctx.g.op('Conv', [x, reorder(`${prefix}.weight`, e), reorder(`${prefix}.bias`, 1)], {}, 'shuffled_conv');
}

function striped(ctx: GraphContext, x: string, prefix: string, channels: number): string {
  return conv2d(ctx, conv2d(ctx, x, `${prefix}.conv.0`, { groups: channels }), `${prefix}.conv.1`, {
    groups: channels,
  });
}

/** GatedFFN: conv to 2C + GELU, the second half depthwise-convolved gates the first, conv + GELU. */
function gatedFfn(ctx: GraphContext, x: string, prefix: string, channels: number): string {
  const [value, gate] = ctx.g.opN('Split', [gelu(ctx, conv2d(ctx, x, `${prefix}.fn_1.0`))], 2, { axis: attr.int(1) });
  if (value === undefined || gate === undefined) throw new Error('Split gave fewer than two parts');
  const gated = ctx.g.op('Mul', [value, conv2d(ctx, gate, `${prefix}.gate`, { groups: channels })]);
  return gelu(ctx, conv2d(ctx, gated, `${prefix}.fn_2.0`));
}

/** k plus its aggregated, convolved and bilinearly restored self. */
function calibrate(ctx: GraphContext, k: string, moe: string, c: SeemoReConfig): string {
  const g = ctx.g;
  const size = g.op('Concat', [runtimeDim(ctx, k, 2), runtimeDim(ctx, k, 3)], { axis: attr.int(0) });
  let y = k;
  for (let r = 0; r < c.recursive; r++) {
    y = gelu(ctx, conv2d(ctx, y, `${moe}.agg_conv.0`, { groups: c.embedDim, stride: AGGREGATION_STRIDE, padding: 0 }));
  }
  const mixed = conv2d(ctx, conv2d(ctx, y, `${moe}.conv.0`, { groups: c.embedDim }), `${moe}.conv.1`);
  const restored = interpolateTo(ctx, mixed, size, { mode: 'bilinear', alignCorners: false });
  return g.op('Add', [k, restored], {}, 'calibrated');
}

function moeBlock(ctx: GraphContext, x: string, moe: string, c: SeemoReConfig): string {
  const projected = shuffledConv(ctx, gelu(ctx, conv2d(ctx, x, `${moe}.conv_1.0`)), `${moe}.conv_1.2`, c);
  const [value, key] = ctx.g.opN('Split', [projected], 2, { axis: attr.int(1) });
  if (value === undefined || key === undefined) throw new Error('Split gave fewer than two parts');
  const local = gelu(ctx, striped(ctx, value, `${moe}.conv_2.0`, c.embedDim));
  return conv2d(ctx, mixtureOfExperts(ctx, local, calibrate(ctx, key, moe, c), moe, c), `${moe}.proj`);
}

function stripedConvFormer(ctx: GraphContext, x: string, prefix: string, c: SeemoReConfig): string {
  const [q, v] = ctx.g.opN('Split', [gelu(ctx, conv2d(ctx, x, `${prefix}.to_qv.0`))], 2, { axis: attr.int(1) });
  if (q === undefined || v === undefined) throw new Error('Split gave fewer than two parts');
  return conv2d(ctx, ctx.g.op('Mul', [striped(ctx, q, `${prefix}.attn`, c.embedDim), v]), `${prefix}.proj`);
}

/** x + mix(norm_1(x)), then + ffn(norm_2(·)): both RME and SME. */
function residualPair(
  ctx: GraphContext,
  x: string,
  prefix: string,
  c: SeemoReConfig,
  mix: (y: string) => string,
): string {
  const g = ctx.g;
  const mixed = g.op('Add', [mix(layerNormChannelsFirst(ctx, x, `${prefix}.norm_1`, NORM_EPS)), x]);
  const normed = layerNormChannelsFirst(ctx, mixed, `${prefix}.norm_2`, NORM_EPS);
  return g.op('Add', [gatedFfn(ctx, normed, `${prefix}.ffn`, c.embedDim), mixed], {}, 'seemore_pair');
}

function build(sd: StateDict, c: SeemoReConfig): Uint8Array {
  const spec = {
    name: 'seemore',
    sd,
    inputChannels: IMAGE_CHANNELS,
    outputChannels: IMAGE_CHANNELS,
    description: `SeemoRe x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, { minimum: MINIMUM_SIDE, multiple: 1, scale: c.scale }, (image) => {
      const g = ctx.g;
      const mean = ctx.constant('rgb_mean', () => ({ data: Float32Array.from(RGB_MEAN), dims: [1, 3, 1, 1] }));
      const shallow = conv2d(ctx, g.op('Sub', [image, mean]), 'conv_1');
      let x = shallow;
      for (let l = 0; l < c.numLayers; l++) {
        const local = `body.${l}.local_block`;
        x = residualPair(ctx, x, local, c, (y) => moeBlock(ctx, y, `${local}.block`, c));
        const global = `body.${l}.global_block`;
        x = residualPair(ctx, x, global, c, (y) => stripedConvFormer(ctx, y, `${global}.block`, c));
      }
      const body = g.op('Add', [conv2d(ctx, layerNormChannelsFirst(ctx, x, 'norm', NORM_EPS), 'conv_2'), shallow]);
      return g.op('Add', [pixelShuffle(ctx, conv2d(ctx, body, 'upsampler.0'), c.scale), mean], {}, 'seemore');
    }),
  );
}

function describe(c: SeemoReConfig): ModelDescription {
  return {
    variant: `SeemoRe (${c.embedDim} channels, ${c.numLayers} layers, ${c.expertWidths.length} ${c.lrSpace} experts)`,
    scale: c.scale,
    inputMultiple: 1,
    // spandrel: no fp16, at least 16 px.
    // The router picks one expert per image, so a tile may run another expert than the whole.
    traits: { ...PLAIN_TRAITS, size: sizeRequirement(MINIMUM_SIDE), context: 'global', fp16: false },
    params: {
      scale: c.scale,
      in_chans: IMAGE_CHANNELS,
      num_experts: c.expertWidths.length,
      num_layers: c.numLayers,
      embedding_dim: c.embedDim,
      img_range: 1,
      use_shuffle: c.useShuffle,
      global_kernel_size: c.globalKernel,
      recursive: c.recursive,
      lr_space: c.lrSpace,
      topk: 1,
    },
  };
}

export const seemore: ArchitectureModule<'seemore', SeemoReConfig> = {
  id: 'seemore',
  label: 'SeemoRe',
  keys: hasAll(
    'conv_1.weight',
    'conv_1.bias',
    'norm.weight',
    'norm.bias',
    'conv_2.weight',
    'conv_2.bias',
    'upsampler.0.weight',
    'upsampler.0.bias',
    'body.0.local_block.norm_1.weight',
    'body.0.local_block.norm_1.bias',
    'body.0.local_block.block.conv_1.0.weight',
    'body.0.local_block.block.conv_1.2.weight',
    'body.0.local_block.block.agg_conv.0.weight',
    'body.0.local_block.block.conv.0.weight',
    'body.0.local_block.block.conv.1.weight',
    'body.0.local_block.block.conv_2.0.conv.0.weight',
    'body.0.local_block.block.conv_2.0.conv.1.weight',
    'body.0.local_block.block.moe_layer.experts.0.conv_1.weight',
    'body.0.local_block.block.moe_layer.experts.0.conv_2.weight',
    'body.0.local_block.block.moe_layer.experts.0.conv_3.weight',
    'body.0.local_block.block.proj.weight',
    'body.0.local_block.norm_2.weight',
    'body.0.local_block.ffn.gate.weight',
    'body.0.global_block.norm_1.weight',
    'body.0.global_block.block.proj.weight',
    'body.0.global_block.block.attn.conv.0.weight',
    'body.0.global_block.ffn.fn_2.0.weight',
    'body.0.global_block.ffn.gate.weight',
  ),
  readConfig: readSeemoReConfig,
  describe,
  build,
};
