// The upsampling heads of traiNNer-redux's newer architectures: MoESR's UniUpsample and
// FDAT's UniUpsampleV3 (spandrel's MoESR/__arch/MoESR.py and FDAT/__arch/fdat.py). Each
// records what it is in a uint8 buffer, `MetaUpsample` = [version, kind, scale, in_dim,
// out_dim, mid_dim, group], which spandrel's loaders read; the layers then follow from the
// kind and the scale. Version 1 (MoESR) knows the first five kinds, version 3 (FDAT) all
// eight. A scale of 1 is a single conv whatever the kind.
import type { GraphContext } from '../../nn/context';
import { conv2d, convTranspose2d } from '../../nn/conv';
import { gelu, leakyRelu, sigmoid } from '../../nn/activation';
import { pixelShuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { dySample } from '../../nn/dysample';
import type { StateDict } from '../../weights/state-dict';
import type { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { WeightError, valueAt } from '../../weights/tensors';
import { checkLdaUpsampler, ldaUpsampler, type LdaShape } from './lda';

/** In the order of the buffer's kind index (SampleMods, then SampleMods3's additions). */
export const UPSAMPLE_KINDS = [
  'conv',
  'pixelshuffledirect',
  'pixelshuffle',
  'nearest+conv',
  'dysample',
  'transpose+conv',
  'lda',
  'pa_up',
] as const;

export type UpsampleKind = (typeof UPSAMPLE_KINDS)[number];

/** What the buffer says, as spandrel's loaders read it. */
export interface MetaUpsample {
  readonly kind: UpsampleKind;
  readonly scale: number;
  readonly outChannels: number;
  readonly midDim: number;
}

/** How many kinds each version of the head knows (MoESR's is 1, FDAT's 3). */
const KINDS_BY_VERSION: Readonly<Record<number, number>> = { 1: 5, 3: 8 };
const META_LENGTH = 7;
const LEAKY_SLOPE = 0.2;
/** nn.LeakyReLU()'s default, after the pixelshuffle, dysample and lda heads' first conv. */
const DEFAULT_LEAKY_SLOPE = 0.01;
const DYSAMPLE_GROUPS = 4;

export function readMetaUpsample(sd: StateDict, key: string, version: number): MetaUpsample {
  const t = sd.get(key);
  if (!t || t.shape.length !== 1 || t.shape[0] !== META_LENGTH || t.data instanceof Float32Array) {
    throw new WeightError(key, `'${key}' must be the head's integer buffer of ${META_LENGTH} values`);
  }
  const at = (i: number): number => valueAt(t, i);
  const kinds = KINDS_BY_VERSION[version] ?? 0;
  const index = at(1);
  const kind = UPSAMPLE_KINDS[index];
  if (at(0) !== version || kind === undefined || index >= kinds) {
    throw new WeightError(
      key,
      `'${key}' says version ${at(0)}, kind ${index}; expected version ${version} and one of its ${kinds} kinds`,
    );
  }
  return { kind, scale: at(2), outChannels: at(4), midDim: at(5) };
}

type Stage = { readonly factor: number; readonly count: number };

/** The repeated stages of the shuffle and nearest heads: log2(scale) stages of 2, or one of 3. */
function stagesOf(key: string, kind: UpsampleKind, scale: number): Stage {
  if (scale === 3) return { factor: 3, count: 1 };
  const count = Math.log2(scale);
  if (!Number.isInteger(count)) {
    throw new WeightError(key, `a ${kind} head upsamples by a power of 2 or by 3, not by ${scale}`);
  }
  return { factor: 2, count };
}

/** The head as the weights and the buffer describe it, every tensor checked. */
export type UniUpsample =
  | { readonly kind: 'conv' }
  | { readonly kind: 'pixelshuffledirect'; readonly scale: number }
  | { readonly kind: 'pixelshuffle' | 'nearest+conv' | 'pa_up'; readonly stage: Stage }
  | {
      readonly kind: 'dysample';
      readonly scale: number;
      /** Index of the DySample module: 2 after a conv to mid_dim (FDAT, mid_dim ≠ in_dim), else 0. */
      readonly at: number;
      readonly channels: number;
    }
  | { readonly kind: 'transpose+conv'; readonly scale: 2 | 3 | 4 }
  | { readonly kind: 'lda'; readonly scale: number; readonly at: number; readonly lda: LdaShape };

export interface UniUpsampleSpec {
  readonly prefix: string;
  readonly meta: MetaUpsample;
  /** The channels of the map the head takes. */
  readonly inDim: number;
  readonly outChannels: number;
}

/**
 * Checks the head's tensors at `prefix`.N against the buffer. The width between the
 * first conv and the DySample or LDA module is read from the weights (in_dim when there
 * is no such conv).
 */
export function checkUniUpsample(check: CheckedTensors, spec: UniUpsampleSpec): UniUpsample {
  const { prefix, meta, inDim, outChannels: out } = spec;
  const key = `${prefix}.MetaUpsample`;
  check.shape(key, [META_LENGTH]);
  const conv = (i: number | string, o: number, input: number, kernel = 3): void =>
    check.conv(`${prefix}.${i}`, { out: o, in: input, kernel });
  if (meta.scale === 1 || meta.kind === 'conv') {
    conv(0, out, inDim);
    return { kind: 'conv' };
  }
  const mid = meta.midDim;
  switch (meta.kind) {
    case 'pixelshuffledirect':
      conv(0, out * meta.scale ** 2, inDim);
      return { kind: meta.kind, scale: meta.scale };
    case 'pixelshuffle': {
      const stage = stagesOf(key, meta.kind, meta.scale);
      conv(0, mid, inDim);
      for (let j = 0; j < stage.count; j++) conv(2 + 2 * j, stage.factor ** 2 * mid, mid);
      conv(2 + 2 * stage.count, out, mid);
      return { kind: meta.kind, stage };
    }
    case 'nearest+conv': {
      const stage = stagesOf(key, meta.kind, meta.scale);
      for (let j = 0; j <= stage.count; j++) conv(3 * j, inDim, inDim);
      conv(3 * stage.count + 2, out, inDim);
      return { kind: meta.kind, stage };
    }
    case 'pa_up': {
      const stage = stagesOf(key, meta.kind, meta.scale);
      for (let j = 0; j < stage.count; j++) {
        conv(6 * j + 1, mid, j === 0 ? inDim : mid);
        conv(`${6 * j + 2}.conv.0`, mid, mid, 1);
        conv(6 * j + 4, mid, mid);
      }
      conv(6 * stage.count, out, mid);
      return { kind: meta.kind, stage };
    }
    case 'dysample': {
      const at = check.sd.has(`${prefix}.0.offset.weight`) ? 0 : 2;
      const channels = at === 0 ? inDim : dimOf(check.sd, `${prefix}.0.weight`, 4, 0, 'the conv before DySample');
      if (at === 2) conv(0, channels, inDim);
      if (channels % DYSAMPLE_GROUPS !== 0) {
        throw new WeightError(
          `${prefix}.${at}.offset.weight`,
          `DySample samples ${channels} channels in ${DYSAMPLE_GROUPS} groups; expected a multiple of ${DYSAMPLE_GROUPS}`,
        );
      }
      const points = 2 * DYSAMPLE_GROUPS * meta.scale ** 2;
      const p = `${prefix}.${at}`;
      check.conv(`${p}.offset`, { out: points, in: channels, kernel: 1 });
      check.conv(`${p}.scope`, { out: points, in: channels, kernel: 1, bias: 'none' });
      check.shape(`${p}.init_pos`, [1, points, 1, 1]);
      const endKernel = dimOf(check.sd, `${p}.end_conv.weight`, 4, 2, 'the DySample end conv');
      check.conv(`${p}.end_conv`, { out, in: channels, kernel: endKernel });
      return { kind: meta.kind, scale: meta.scale, at, channels };
    }
    case 'transpose+conv': {
      const scale = meta.scale;
      if (scale !== 2 && scale !== 3 && scale !== 4) {
        throw new WeightError(key, `a transpose+conv head upsamples by 2, 3 or 4, not by ${scale}`);
      }
      if (scale === 4) {
        check.convTranspose(`${prefix}.0`, { in: inDim, out: inDim, kernel: 4 });
        check.convTranspose(`${prefix}.2`, { in: inDim, out, kernel: 4 });
      } else check.convTranspose(`${prefix}.0`, { in: inDim, out, kernel: scale === 2 ? 4 : 3 });
      conv(scale === 4 ? 3 : 1, out, out);
      return { kind: meta.kind, scale };
    }
    case 'lda': {
      const at = check.sd.has(`${prefix}.0.proj_q.weight`) ? 0 : 2;
      const channels = at === 0 ? inDim : dimOf(check.sd, `${prefix}.0.weight`, 4, 0, 'the conv before LDA');
      if (at === 2) conv(0, channels, inDim);
      const lda = checkLdaUpsampler(check, `${prefix}.${at}`, channels);
      conv(at + 1, out, channels);
      return { kind: meta.kind, scale: meta.scale, at, lda };
    }
  }
}

/** The head on the NCHW map `x`. */
export function uniUpsample(ctx: GraphContext, x: string, prefix: string, head: UniUpsample): string {
  const at = (i: number): string => `${prefix}.${i}`;
  const lrelu = (y: string, slope = LEAKY_SLOPE): string => leakyRelu(ctx, y, slope);
  switch (head.kind) {
    case 'conv':
      return conv2d(ctx, x, at(0));
    case 'pixelshuffledirect':
      return pixelShuffle(ctx, conv2d(ctx, x, at(0)), head.scale);
    case 'pixelshuffle': {
      let y = lrelu(conv2d(ctx, x, at(0)), DEFAULT_LEAKY_SLOPE);
      const { factor, count } = head.stage;
      for (let j = 0; j < count; j++) y = pixelShuffle(ctx, conv2d(ctx, y, at(2 + 2 * j)), factor);
      return conv2d(ctx, y, at(2 + 2 * count));
    }
    case 'nearest+conv': {
      let y = x;
      const { factor, count } = head.stage;
      for (let j = 0; j < count; j++) {
        y = lrelu(interpolateBy(ctx, conv2d(ctx, y, at(3 * j)), factor, { mode: 'nearest' }));
      }
      return conv2d(ctx, lrelu(conv2d(ctx, y, at(3 * count))), at(3 * count + 2));
    }
    case 'pa_up': {
      let y = x;
      const { factor, count } = head.stage;
      for (let j = 0; j < count; j++) {
        const features = conv2d(ctx, interpolateBy(ctx, y, factor, { mode: 'nearest' }), at(6 * j + 1));
        const attended = ctx.g.op('Mul', [features, sigmoid(ctx, conv2d(ctx, features, `${at(6 * j + 2)}.conv.0`))]);
        y = lrelu(conv2d(ctx, lrelu(attended), at(6 * j + 4)));
      }
      return conv2d(ctx, y, at(6 * count));
    }
    case 'dysample': {
      const input = head.at === 0 ? x : lrelu(conv2d(ctx, x, at(0)), DEFAULT_LEAKY_SLOPE);
      const prefix = at(head.at);
      const endConvolution = ctx.has(`${prefix}.end_conv.weight`);
      return dySample(ctx, input, {
        prefix,
        channels: head.channels,
        scale: head.scale,
        groups: DYSAMPLE_GROUPS,
        endConvolution,
      });
    }
    case 'transpose+conv': {
      const s = head.scale;
      const stride2 = { stride: 2, padding: 1 };
      const up =
        s === 4
          ? convTranspose2d(ctx, gelu(ctx, convTranspose2d(ctx, x, at(0), stride2)), at(2), stride2)
          : convTranspose2d(ctx, x, at(0), s === 2 ? stride2 : { stride: 3 });
      return conv2d(ctx, up, at(s === 4 ? 3 : 1));
    }
    case 'lda': {
      const input = head.at === 0 ? x : lrelu(conv2d(ctx, x, at(0)), DEFAULT_LEAKY_SLOPE);
      return conv2d(ctx, ldaUpsampler(ctx, input, at(head.at), head.scale, head.lda), at(head.at + 1));
    }
  }
}
