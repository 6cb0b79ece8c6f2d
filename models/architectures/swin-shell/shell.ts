// The image-restoration shell SwinIR introduced and HAT reuses (and DRCT, ATD and Swin2SR
// after them): mean shift, a shallow conv, residual groups of transformer blocks over a
// token grid, a conv after the body, and a reconstruction head. The families differ only
// inside the residual groups, so reading the shell's tensors and building the graph around
// the groups live here.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireConv, requireNorm } from '../../weights/shapes';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { layerNorm } from '../../nn/norm';
import { cropTo, padToMultiple, runtimeDim, scaled, toFeatureMap, toTokenGrid } from '../../nn/shape';
import { pixelUnshuffle } from '../../nn/shuffle';
import { WindowGrid, squareWindow } from '../../nn/window-attention';
import { buildHead, type Head } from './heads';
import type { Params } from '../types';

/** Upstream's `resi_connection`: what sits before each group's and the body's residual add. */
export type ResidualConv = '1conv' | '3conv' | 'identity';

/** DIV2K RGB mean that SwinIR and its successors subtract from 3-channel input (upstream's rgb_mean). */
export const DIV2K_RGB_MEAN: readonly number[] = [0.4488, 0.4371, 0.404];

/** Upstream's mean for any other channel count: torch.zeros(1, 1, 1, 1). */
export function upstreamMean(inChannels: number): readonly number[] {
  return inChannels === 3 ? DIV2K_RGB_MEAN : [0];
}

/** LayerNorm eps of every norm in the shell and its blocks (nn.LayerNorm's default). */
export const LAYER_NORM_EPS = 1e-5;

/** Hyper-parameters of the shell around the residual groups. */
export interface ShellConfig {
  /** The image channels the graph takes and gives: 3 (RGB) or 1 (grayscale). */
  readonly inChannels: number;
  readonly embedDim: number;
  readonly head: Head;
  readonly resiConnection: ResidualConv;
  /** LayerNorm right after patch embedding (upstream patch_norm). */
  readonly patchNorm: boolean;
  /** Window size; the input is reflect-padded to a multiple of it. */
  readonly windowSize: number;
  /** Upstream img_range (1, or 255 for SwinIR's JPEG models); not stored in the weights. */
  readonly imgRange: number;
  readonly rgbMean: readonly number[];
  /** Transformer blocks per residual group. */
  readonly depths: readonly number[];
  /** Attention heads per residual group. */
  readonly numHeads: readonly number[];
  /** MLP hidden width / embed_dim. */
  readonly mlpRatio: number;
  /**
   * DiffBIR's SwinIR: the input is pixel-unshuffled by this factor before the shallow conv,
   * which is then stored as `conv_first.1` (after the PixelUnshuffle in a Sequential).
   * Absent: 1, and the conv is `conv_first`.
   */
  readonly startUnshuffle?: number;
}

/** Where the shallow conv's tensors are: `conv_first`, or `conv_first.1` after an unshuffle. */
export function shallowConvPrefix(c: ShellConfig): string {
  return (c.startUnshuffle ?? 1) > 1 ? 'conv_first.1' : 'conv_first';
}

/** The shell's hyper-parameters under upstream's constructor names, for the registry. */
export function shellParams(c: ShellConfig): Params {
  return {
    embed_dim: c.embedDim,
    depths: c.depths,
    num_heads: c.numHeads,
    window_size: c.windowSize,
    mlp_ratio: c.mlpRatio,
    upscale: c.head.scale,
    upsampler: c.head.upsampler,
    resi_connection: c.resiConnection,
    patch_norm: c.patchNorm,
    in_chans: c.inChannels,
    img_range: c.imgRange,
  };
}

/** Which residual-connection conv sits at `prefix` ('layers.0.conv', 'conv_after_body'). */
export function readResidualConv<K extends ResidualConv>(sd: StateDict, prefix: string, allowed: readonly K[]): K {
  let found: ResidualConv;
  if (sd.has(`${prefix}.weight`)) found = '1conv';
  else if (sd.has(`${prefix}.0.weight`) && sd.has(`${prefix}.2.weight`) && sd.has(`${prefix}.4.weight`))
    found = '3conv';
  else if (![...sd.keys()].some((k) => k.startsWith(`${prefix}.`))) found = 'identity';
  else {
    throw new WeightError(
      prefix,
      `'${prefix}.*' is neither one conv ('${prefix}.weight') nor three ('${prefix}.0/.2/.4.weight')`,
    );
  }
  if (!isOneOf(allowed, found)) {
    const what = found === 'identity' ? `no '${prefix}.*' tensors` : `a ${found} '${prefix}'`;
    throw new WeightError(
      prefix,
      `the weights have ${what}; expected a residual connection of kind ${allowed.join(' or ')}`,
    );
  }
  return found;
}

function isOneOf<K extends ResidualConv>(allowed: readonly K[], kind: ResidualConv): kind is K {
  return (allowed as readonly ResidualConv[]).includes(kind);
}

/**
 * The one residual-connection kind the whole network uses: `conv_after_body` and every
 * group's `layers.i.conv` must agree.
 */
export function readResidualConnections<K extends ResidualConv>(
  sd: StateDict,
  layerCount: number,
  allowed: readonly K[],
): K {
  const kind = readResidualConv(sd, 'conv_after_body', allowed);
  for (let i = 0; i < layerCount; i++) {
    const own = readResidualConv(sd, `layers.${i}.conv`, allowed);
    if (own !== kind) {
      throw new WeightError(`layers.${i}.conv`, `'layers.${i}.conv' is ${own} but 'conv_after_body' is ${kind}`);
    }
  }
  return kind;
}

/**
 * The shallow conv's widths (embed_dim, input channels), which must be one of `channels`;
 * an absolute position embedding is refused: it ties the network to its training size.
 */
export function readShallowConv(
  sd: StateDict,
  channels: readonly number[],
  label: string,
  key = 'conv_first.weight',
): { readonly embedDim: number; readonly inChannels: number } {
  const embedDim = dimOf(sd, key, 4, 0, 'the shallow feature conv');
  const inChannels = dimOf(sd, key, 4, 1, 'the shallow feature conv');
  if (!channels.includes(inChannels)) {
    throw new WeightError(
      key,
      `'${key}' takes ${inChannels} input channels, expected ${channels.join(' or ')} (${label})`,
    );
  }
  if (sd.has('absolute_pos_embed')) {
    throw new WeightError(
      'absolute_pos_embed',
      `'absolute_pos_embed' (ape=True) ties the network to its training size; expected no absolute position embedding`,
    );
  }
  return { embedDim, inChannels };
}

/** The one conv ('1conv') or three ('3conv': c → c/4 → c/4 → c) of a residual connection. */
export function requireResidualConv(sd: StateDict, prefix: string, kind: ResidualConv, c: number): void {
  switch (kind) {
    case 'identity':
      return;
    case '1conv':
      return requireConv(sd, prefix, { out: c, in: c, kernel: 3 });
    case '3conv': {
      const q = Math.floor(c / 4);
      requireConv(sd, `${prefix}.0`, { out: q, in: c, kernel: 3 });
      requireConv(sd, `${prefix}.2`, { out: q, in: q, kernel: 1 });
      return requireConv(sd, `${prefix}.4`, { out: c, in: q, kernel: 3 });
    }
  }
}

/** The conv before a residual add, on an NCHW map. */
export function residualConv(ctx: GraphContext, x: string, prefix: string, kind: ResidualConv): string {
  switch (kind) {
    case 'identity':
      return x;
    case '1conv':
      return conv2d(ctx, x, prefix);
    case '3conv': {
      const a = leakyRelu(ctx, conv2d(ctx, x, `${prefix}.0`), 0.2);
      const b = leakyRelu(ctx, conv2d(ctx, a, `${prefix}.2`), 0.2);
      return conv2d(ctx, b, `${prefix}.4`);
    }
  }
}

/**
 * Checks every tensor the shell reads outside the residual groups' blocks (the head was
 * checked when read), so incomplete weights fail while reading, with the key named.
 */
export function requireShellTensors(
  sd: StateDict,
  c: ShellConfig,
  layerCount: number,
  groupConnection: ResidualConv = c.resiConnection,
): void {
  const e = c.embedDim;
  const unshuffle = c.startUnshuffle ?? 1;
  requireConv(sd, shallowConvPrefix(c), { out: e, in: c.inChannels * unshuffle * unshuffle, kernel: 3 });
  if (c.patchNorm) requireNorm(sd, 'patch_embed.norm', e);
  for (let i = 0; i < layerCount; i++) requireResidualConv(sd, `layers.${i}.conv`, groupConnection, e);
  requireNorm(sd, 'norm', e);
  requireResidualConv(sd, 'conv_after_body', c.resiConnection, e);
}

/** Builds one residual group's blocks on a [B, H, W, C] token grid. */
export type ResidualGroupBody = (ctx: GraphContext, tokens: string, layer: number, grid: WindowGrid) => string;

/** How the shell is wired: the config, the number of residual groups and their body. */
export interface ShellSpec {
  readonly graphName: string;
  readonly config: ShellConfig;
  readonly layerCount: number;
  readonly residualGroup: ResidualGroupBody;
  /** What sits before each group's residual add where it differs from conv_after_body's (DRCT: none). */
  readonly groupConnection?: ResidualConv;
  /**
   * The input as the network receives it, padded (NCHW). By default reflected to a multiple
   * of the window, as SwinIR's forward pads; the output is cropped back either way.
   */
  readonly padInput?: (ctx: GraphContext, input: string) => string;
}

/**
 * The whole network as ONNX. Like upstream SwinIR's forward (and HAT's test-time
 * wrapper), the input is reflect-padded on the bottom/right to a multiple of the window
 * (times the unshuffle factor, which the forward leaves to its caller) and the output
 * cropped back to scale × the input size; pads are computed from the runtime shape, so one
 * graph takes any input size.
 */
export function buildShellGraph(sd: StateDict, spec: ShellSpec): Uint8Array {
  const c = spec.config;
  const graph = {
    name: spec.graphName,
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.inChannels,
    description: spec.graphName,
  };
  return imageGraph(graph, (ctx, input) => {
    const g = ctx.g;
    const unshuffle = c.startUnshuffle ?? 1;
    // Unshuffled, the token grid is the image / unshuffle: a multiple of the window then.
    const padded = spec.padInput
      ? spec.padInput(ctx, input)
      : padToMultiple(ctx, input, 'nchw', c.windowSize * unshuffle, 'reflect');
    const mean = g.f32('rgb_mean', c.rgbMean, [1, c.rgbMean.length, 1, 1]);
    let x = g.op('Sub', [padded, mean], {}, 'mean_shift');
    if (c.imgRange !== 1) x = g.op('Mul', [x, ctx.scalar(c.imgRange)]);
    if (unshuffle > 1) x = pixelUnshuffle(ctx, x, unshuffle, c.inChannels);

    const shallow = conv2d(ctx, x, shallowConvPrefix(c));
    let tokens = toTokenGrid(ctx, shallow);
    if (c.patchNorm) tokens = layerNorm(ctx, tokens, 'patch_embed.norm', LAYER_NORM_EPS);
    const grid = new WindowGrid(ctx, tokens, squareWindow(c.windowSize));
    const groupConnection = spec.groupConnection ?? c.resiConnection;
    for (let i = 0; i < spec.layerCount; i++) {
      const groupOut = spec.residualGroup(ctx, tokens, i, grid);
      const connected =
        groupConnection === 'identity'
          ? groupOut
          : toTokenGrid(ctx, residualConv(ctx, toFeatureMap(ctx, groupOut), `layers.${i}.conv`, groupConnection));
      tokens = g.op('Add', [connected, tokens]);
    }
    const features = toFeatureMap(ctx, layerNorm(ctx, tokens, 'norm', LAYER_NORM_EPS));
    const body = g.op('Add', [residualConv(ctx, features, 'conv_after_body', c.resiConnection), shallow]);

    let y = buildHead(ctx, body, x, c.head);
    if (c.imgRange !== 1) y = g.op('Div', [y, ctx.scalar(c.imgRange)]);
    y = g.op('Add', [y, mean]);

    const height = scaled(ctx, runtimeDim(ctx, input, 2), c.head.scale / unshuffle);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), c.head.scale / unshuffle);
    return cropTo(ctx, y, 2, height, width);
  });
}
