// PLKSR, Partial Large Kernel CNNs for Efficient Super-Resolution (Lee et al. 2024), and the
// community's RealPLKSR, as spandrel 0.4.2 has them (architectures/PLKSR/__arch/PLKSR.py and
// RealPLKSR.py; spandrel files both under one id). A first conv, blocks of channel mixer →
// partial large-kernel conv (only the first `split` channels) → element-wise attention →
// 1×1 refinement with a skip, and a last conv to 3·scale² channels to which the input,
// repeated scale² times, is added before the upsampler. PLKSR spells its mixer
// `channe_mixer` (GELU), RealPLKSR `channel_mixer` (Mish) and adds a GroupNorm or, with
// layer_norm, a channels-first LayerNorm, and may end in DySample instead of a pixel shuffle.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf } from '../../weights/shapes';
import { numberedIndices } from '../../weights/sequences';
import { CheckedTensors } from '../../weights/checked';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, mish, sigmoid } from '../../nn/activation';
import { groupNorm, layerNormChannelsFirst } from '../../nn/norm';
import { pixelShuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { dySample } from '../../nn/dysample';
import { attr } from '../../onnx/graph';

/** PLKSR's channel mixers: which of the two convs is 3×3 (CCM: the first, ICCM: the second, DCCM: both). */
export type ChannelMixer = 'CCM' | 'ICCM' | 'DCCM';
/** PLKSR's partial large-kernel convs: one k×k conv, four dilated 5×5 (SparsePLK), or k×k/3 rectangles. */
export type LargeKernel = 'PLK' | 'SparsePLK' | 'RectSparsePLK';

interface CommonConfig {
  readonly dim: number;
  readonly blocks: number;
  readonly scale: number;
  /** The large kernel's side (RectSparsePLK: its long side); SparsePLK reads none and keeps spandrel's 17. */
  readonly kernelSize: number;
  /** The channels the large kernel works on (upstream's int(dim · split_ratio)). */
  readonly splitChannels: number;
  readonly elementAttention: boolean;
}

export type PLKSRConfig =
  | (CommonConfig & { readonly kind: 'plksr'; readonly mixer: ChannelMixer; readonly largeKernel: LargeKernel })
  | (CommonConfig & { readonly kind: 'realplksr'; readonly layerNorm: boolean; readonly dysample: boolean });

const IMAGE_CHANNELS = 3;
/** RealPLKSR's GroupNorm groups: not in the weights; spandrel always builds 4. */
const NORM_GROUPS = 4;
const GROUP_NORM_EPS = 1e-5;
const LAYER_NORM_EPS = 1e-6;
/** SparsePLK as spandrel builds it (the weights cannot tell otherwise): 5×5 convs at dilations 1 to 4. */
const SPARSE_KERNEL = 5;
const SPARSE_DILATIONS = [1, 2, 3, 4] as const;
/** spandrel's kernel_size when the weights do not give one (SparsePLK). */
const DEFAULT_KERNEL = 17;

/** The kernel sides of each mixer's two convs. */
const MIXER_KERNELS: Readonly<Record<ChannelMixer, readonly [number, number]>> = {
  CCM: [3, 1],
  ICCM: [1, 3],
  DCCM: [3, 3],
};

function mixerOf(sd: StateDict): ChannelMixer {
  const first = dimOf(sd, 'feats.1.channe_mixer.0.weight', 4, 2, 'the channel mixer');
  const second = dimOf(sd, 'feats.1.channe_mixer.2.weight', 4, 2, 'the channel mixer');
  const found = (Object.keys(MIXER_KERNELS) as ChannelMixer[]).find(
    (m) => MIXER_KERNELS[m][0] === first && MIXER_KERNELS[m][1] === second,
  );
  if (found) return found;
  throw new WeightError(
    'feats.1.channe_mixer.0.weight',
    `the channel mixer has ${first}×${first} and ${second}×${second} convs, expected 3 and 1 (CCM), 3 and 3 (DCCM) or 1 and 3 (ICCM)`,
  );
}

function largeKernelOf(sd: StateDict): { largeKernel: LargeKernel; key: string } {
  if (sd.has('feats.1.lk.conv.weight')) return { largeKernel: 'PLK', key: 'feats.1.lk.conv.weight' };
  if (sd.has('feats.1.lk.convs.0.weight')) return { largeKernel: 'SparsePLK', key: 'feats.1.lk.convs.0.weight' };
  return { largeKernel: 'RectSparsePLK', key: 'feats.1.lk.mn_conv.weight' };
}

/** An odd side: an even one changes the map's size, which the in-place assignment upstream refuses. */
function requireOdd(key: string, side: number, what: string): void {
  if (side % 2 !== 1) throw new WeightError(key, `tensor '${key}' has a ${what} of ${side}, expected an odd size`);
}

function readConfig(sd: StateDict): PLKSRConfig {
  const dim = dimOf(sd, 'feats.0.weight', 4, 0, 'the first conv');
  const real = sd.has('feats.1.channel_mixer.0.weight');
  const indices = numberedIndices(sd, 'feats');
  const last = indices[indices.length - 1] ?? 0;
  // RealPLKSR keeps a Dropout2d (no tensors) between the last block and the last conv.
  const blocks = last - (real ? 2 : 1);
  const lastKey = `feats.${last}.weight`;
  const tailOut = dimOf(sd, lastKey, 4, 0, 'the last conv');
  const scale = Math.round(Math.sqrt(tailOut / IMAGE_CHANNELS));
  if (blocks < 1 || scale < 1 || IMAGE_CHANNELS * scale * scale !== tailOut) {
    throw new WeightError(lastKey, `tensor '${lastKey}' has ${tailOut} output channels, expected 3 × scale²`);
  }
  const { largeKernel, key: kernelKey } = real
    ? { largeKernel: 'PLK' as const, key: 'feats.1.lk.conv.weight' }
    : largeKernelOf(sd);
  const splitChannels = dimOf(sd, kernelKey, 4, 0, 'the large-kernel conv');
  const kernelSize = largeKernel === 'SparsePLK' ? DEFAULT_KERNEL : dimOf(sd, kernelKey, 4, 2, 'the large-kernel conv');
  const elementAttention = sd.has('feats.1.attn.f.0.weight');
  const common = { dim, blocks, scale, kernelSize, splitChannels, elementAttention };
  const config: PLKSRConfig = real
    ? {
        ...common,
        kind: 'realplksr',
        layerNorm: sd.has('feats.1.layer_norm.bias'),
        dysample: sd.has('to_img.init_pos'),
      }
    : { ...common, kind: 'plksr', mixer: mixerOf(sd), largeKernel };
  checkTensors(sd, config, last);
  return config;
}

/** Every tensor the graph reads, against the configuration; any other tensor is refused. */
function checkTensors(sd: StateDict, c: PLKSRConfig, last: number): void {
  const t = new CheckedTensors(sd);
  const { dim, splitChannels: split } = c;
  if (split < 1 || split > dim) {
    throw new WeightError('feats.1.lk', `the large-kernel conv has ${split} channels, expected 1 to ${dim}`);
  }
  t.conv('feats.0', { out: dim, in: IMAGE_CHANNELS, kernel: 3 });
  for (let b = 1; b <= c.blocks; b++) {
    const p = `feats.${b}`;
    if (c.kind === 'plksr') {
      const [first, second] = MIXER_KERNELS[c.mixer];
      t.conv(`${p}.channe_mixer.0`, { out: 2 * dim, in: dim, kernel: first });
      t.conv(`${p}.channe_mixer.2`, { out: dim, in: 2 * dim, kernel: second });
    } else {
      t.conv(`${p}.channel_mixer.0`, { out: 2 * dim, in: dim, kernel: 3 });
      t.conv(`${p}.channel_mixer.2`, { out: dim, in: 2 * dim, kernel: 3 });
      if (c.layerNorm) t.norm(`${p}.layer_norm`, dim);
      else t.norm(`${p}.norm`, dim);
    }
    const k = c.kernelSize;
    if (c.kind === 'plksr' && c.largeKernel === 'SparsePLK') {
      SPARSE_DILATIONS.forEach((_, i) =>
        t.conv(`${p}.lk.convs.${i}`, { out: split, in: split, kernel: SPARSE_KERNEL }),
      );
    } else if (c.kind === 'plksr' && c.largeKernel === 'RectSparsePLK') {
      const n = Math.floor(k / 3);
      requireOdd(`${p}.lk.mn_conv.weight`, k, 'kernel height');
      requireOdd(`${p}.lk.mn_conv.weight`, n, 'kernel width (height / 3)');
      t.conv(`${p}.lk.mn_conv`, { out: split, in: split, kernel: [k, n] });
      t.conv(`${p}.lk.nm_conv`, { out: split, in: split, kernel: [n, k] });
      t.conv(`${p}.lk.nn_conv`, { out: split, in: split, kernel: [n, n] });
    } else {
      requireOdd(`${p}.lk.conv.weight`, k, 'kernel size');
      t.conv(`${p}.lk.conv`, { out: split, in: split, kernel: k });
    }
    if (c.elementAttention) t.conv(`${p}.attn.f.0`, { out: dim, in: dim, kernel: 3 });
    t.conv(`${p}.refine`, { out: dim, in: dim, kernel: 1 });
  }
  const s = c.scale;
  t.conv(`feats.${last}`, { out: IMAGE_CHANNELS * s * s, in: dim, kernel: 3 });
  if (c.kind === 'realplksr' && !c.layerNorm && dim % NORM_GROUPS !== 0) {
    throw new WeightError('feats.1.norm.weight', `GroupNorm(${NORM_GROUPS}) needs a width divisible by 4, not ${dim}`);
  }
  if (c.kind === 'realplksr' && c.dysample) {
    const { points } = dySampleShape(s);
    const channels = IMAGE_CHANNELS * s * s;
    t.conv('to_img.offset', { out: 2 * points, in: channels, kernel: 1 });
    t.conv('to_img.scope', { out: 2 * points, in: channels, kernel: 1, bias: 'none' });
    t.shape('to_img.init_pos', [1, 2 * points, 1, 1]);
    if (s !== 1) t.conv('to_img.end_conv', { out: IMAGE_CHANNELS, in: channels, kernel: 1 });
  }
  t.rejectOthers(`the tensors of a ${c.blocks}-block ${c.kind === 'plksr' ? 'PLKSR' : 'RealPLKSR'} of width ${dim}`);
}

/** RealPLKSR's DySample: 3 groups at odd scales, 4 at even ones, scale² points each. */
function dySampleShape(scale: number): { groups: number; points: number } {
  const groups = scale % 2 === 1 ? IMAGE_CHANNELS : 4;
  return { groups, points: groups * scale * scale };
}

function largeKernelText(kind: LargeKernel, size: number): string {
  if (kind === 'SparsePLK')
    return `SparsePLK ${SPARSE_KERNEL}×${SPARSE_KERNEL} at dilations ${SPARSE_DILATIONS.join(', ')}`;
  return kind === 'PLK' ? `PLK ${size}×${size}` : `RectSparsePLK ${size}×${Math.floor(size / 3)}`;
}

function describe(c: PLKSRConfig): ModelDescription {
  const common = {
    dim: c.dim,
    n_blocks: c.blocks,
    upscaling_factor: c.scale,
    kernel_size: c.kernelSize,
    split_ratio: c.splitChannels / c.dim,
    use_ea: c.elementAttention,
  };
  if (c.kind === 'plksr') {
    return {
      variant: `PLKSR (${c.mixer}, ${largeKernelText(c.largeKernel, c.kernelSize)}, width ${c.dim}, ${c.blocks} blocks)`,
      scale: c.scale,
      inputMultiple: 1,
      traits: PLAIN_TRAITS,
      params: {
        ...common,
        ccm_type: c.mixer,
        lk_type: c.largeKernel,
        use_max_kernel: false,
        sparse_kernels: SPARSE_DILATIONS.map(() => SPARSE_KERNEL),
        sparse_dilations: [...SPARSE_DILATIONS],
        with_idt: false,
      },
    };
  }
  const extras = [c.layerNorm ? 'LayerNorm' : 'GroupNorm', ...(c.dysample ? ['DySample'] : [])];
  return {
    variant: `RealPLKSR (${extras.join(', ')}, width ${c.dim}, ${c.blocks} blocks, kernel ${c.kernelSize})`,
    scale: c.scale,
    inputMultiple: 1,
    // spandrel: half precision only for the LayerNorm variant. GroupNorm normalises over
    // the whole input, so tiles differ from the whole image.
    traits: { ...PLAIN_TRAITS, context: c.layerNorm ? 'local' : 'global', fp16: c.layerNorm },
    params: {
      ...common,
      norm_groups: NORM_GROUPS,
      dropout: 0,
      dysample: c.dysample,
      layer_norm: c.layerNorm,
    },
  };
}

/** The large kernel on the first `split` channels; the rest pass unchanged. */
function partialLargeKernel(ctx: GraphContext, x: string, p: string, c: PLKSRConfig): string {
  const g = ctx.g;
  const rest = c.dim - c.splitChannels;
  const [head, tail] =
    rest === 0 ? [x, undefined] : g.opN('Split', [x, ctx.ints([c.splitChannels, rest])], 2, { axis: attr.int(1) });
  if (head === undefined) throw new Error('Split gave no outputs');
  let y: string;
  if (c.kind === 'plksr' && c.largeKernel === 'SparsePLK') {
    const branches = SPARSE_DILATIONS.map((d, i) =>
      conv2d(ctx, head, `${p}.lk.convs.${i}`, { dilation: d, padding: d * Math.floor(SPARSE_KERNEL / 2) }),
    );
    y = branches.reduce((sum, branch) => g.op('Add', [sum, branch]));
  } else if (c.kind === 'plksr' && c.largeKernel === 'RectSparsePLK') {
    const sum = g.op('Add', [conv2d(ctx, head, `${p}.lk.mn_conv`), conv2d(ctx, head, `${p}.lk.nm_conv`)]);
    y = g.op('Add', [sum, conv2d(ctx, head, `${p}.lk.nn_conv`)]);
  } else {
    y = conv2d(ctx, head, `${p}.lk.conv`);
  }
  return tail === undefined ? y : g.op('Concat', [y, tail], { axis: attr.int(1) }, `${p}.lk`);
}

function block(ctx: GraphContext, x: string, index: number, c: PLKSRConfig): string {
  const g = ctx.g;
  const p = `feats.${index}`;
  let y: string;
  if (c.kind === 'plksr') {
    y = conv2d(ctx, gelu(ctx, conv2d(ctx, x, `${p}.channe_mixer.0`)), `${p}.channe_mixer.2`);
  } else {
    const normed = c.layerNorm ? layerNormChannelsFirst(ctx, x, `${p}.layer_norm`, LAYER_NORM_EPS) : x;
    y = conv2d(ctx, mish(ctx, conv2d(ctx, normed, `${p}.channel_mixer.0`)), `${p}.channel_mixer.2`);
  }
  y = partialLargeKernel(ctx, y, p, c);
  if (c.elementAttention) y = g.op('Mul', [y, sigmoid(ctx, conv2d(ctx, y, `${p}.attn.f.0`))], {}, `${p}.attn`);
  y = conv2d(ctx, y, `${p}.refine`);
  if (c.kind === 'realplksr' && !c.layerNorm) y = groupNorm(ctx, y, `${p}.norm`, NORM_GROUPS, GROUP_NORM_EPS);
  return g.op('Add', [y, x], {}, `${p}.out`);
}

function build(sd: StateDict, c: PLKSRConfig): Uint8Array {
  const name = c.kind === 'plksr' ? 'PLKSR' : 'RealPLKSR';
  const spec = {
    name: c.kind,
    sd,
    inputChannels: IMAGE_CHANNELS,
    outputChannels: IMAGE_CHANNELS,
    description: `${name} x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const s = c.scale;
    let x = conv2d(ctx, input, 'feats.0');
    for (let b = 1; b <= c.blocks; b++) x = block(ctx, x, b, c);
    const lastIndex = c.blocks + (c.kind === 'plksr' ? 1 : 2);
    const features = conv2d(ctx, x, `feats.${lastIndex}`);
    if (c.kind === 'realplksr' && c.dysample) {
      // repeat_interleave(x, s², dim=1): channel k of the sum takes input channel ⌊k / s²⌋.
      const repeats = Array.from({ length: IMAGE_CHANNELS * s * s }, (_, k) => Math.floor(k / (s * s)));
      const repeated = g.op('Gather', [input, ctx.ints(repeats)], { axis: attr.int(1) }, 'repeat_interleave');
      const sum = g.op('Add', [features, repeated], {}, 'with_input');
      return dySample(ctx, sum, {
        prefix: 'to_img',
        channels: IMAGE_CHANNELS * s * s,
        scale: s,
        groups: dySampleShape(s).groups,
        endConvolution: s !== 1,
      });
    }
    // PixelShuffle(features + input repeated s² times) is the shuffle plus the input
    // upsampled by nearest neighbour: the same sums, in another order of memory.
    if (s === 1) return g.op('Add', [features, input], {}, 'with_input');
    const base = interpolateBy(ctx, input, s, { mode: 'nearest' });
    return g.op('Add', [pixelShuffle(ctx, features, s), base], {}, 'with_input');
  });
}

export const plksr: ArchitectureModule<'plksr', PLKSRConfig> = {
  id: 'plksr',
  label: 'PLKSR / RealPLKSR',
  keys: hasAll(
    'feats.0.weight',
    hasAny('feats.1.lk.conv.weight', 'feats.1.lk.convs.0.weight', 'feats.1.lk.mn_conv.weight'),
    'feats.1.refine.weight',
    hasAny('feats.1.channe_mixer.0.weight', 'feats.1.channel_mixer.0.weight'),
  ),
  readConfig,
  describe,
  build,
};
