// Reading GRL's hyper-parameters from a state dict (ofsoundof/GRL-Image-Restoration, as
// spandrel 0.4.2 ships it), the way spandrel's loader reads them: widths, depths, heads, the
// projections and heads from the tensors; the window, stripe and anchor down factor from the
// relative-position tables where an old checkpoint stored them, and otherwise the values
// spandrel assumes for the official models. Every tensor the graph uses is checked.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireConv, requireLinear, requireNorm, requireShape, type BiasRule } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { readHead, type Head } from '../swin-shell/heads';
import { requireMlp } from '../swin-shell/blocks';
import { readShallowConv } from '../swin-shell/shell';

/** How the anchors (the stripe attention's coarse tokens) are projected from the features. */
export type AnchorProjection = 'avgpool' | 'patchmerging' | 'conv2d' | 'separable_conv';

/** build_last_conv's kinds, for each stage's conv and conv_after_body. */
export type GrlConv = '1conv' | '3conv' | '1conv1x1' | 'linear';

export interface GrlConfig {
  /** 3, or 1 for grey models: the image channels the graph takes and gives. */
  readonly channels: number;
  readonly embedDim: number;
  readonly head: Head;
  readonly depths: readonly number[];
  readonly headsWindow: readonly number[];
  readonly headsStripe: readonly number[];
  readonly windowSize: number;
  /** Stripe [rows, cols] of the 'H' blocks (even); the 'W' blocks use its transpose. */
  readonly stripeSize: readonly [number, number];
  readonly anchorDownFactor: number;
  readonly anchorProjection: AnchorProjection;
  /** One projection straight to the anchor resolution, or log2(factor) halving stages. */
  readonly anchorOneStage: boolean;
  readonly qkvProjection: 'linear' | 'separable_conv';
  readonly qkvBias: boolean;
  /** A CAB conv branch in every block (GRL-Base). */
  readonly localConnection: boolean;
  readonly convType: GrlConv;
  readonly mlpHidden: number;
  /** What the input is reflect-padded to a multiple of: max(window, stripe). */
  readonly padSize: number;
}

/** spandrel's default anchor down factor where the weights do not tell: the official models'. */
const DEFAULT_DOWN_FACTOR = 4;

/** CAB's widths in GRL: compress_ratio 4, the channel attention's reduction 18. */
export const CAB_COMPRESS = 4;
export const CAB_REDUCTION = 18;

/**
 * The state dict as GRL's tensors are named: without the 'model.' prefix some official
 * checkpoints give every key, or only the 'model_g.' keys, unprefixed, of those that also
 * hold a discriminator (bsr_grl_base.ckpt).
 */
export function canonicalGrlWeights(sd: StateDict): StateDict {
  const keys = [...sd.keys()];
  let strip = '';
  if (keys.length > 0 && keys.every((k) => k.startsWith('model.'))) strip = 'model.';
  else if (sd.has('model_g.conv_first.weight')) strip = 'model_g.';
  if (strip === '') return sd;
  const out: StateDict = new Map();
  for (const [key, tensor] of sd) if (key.startsWith(strip)) out.set(key.slice(strip.length), tensor);
  return out;
}

function blockPrefix(layer: number, block: number): string {
  return `layers.${layer}.blocks.${block}`;
}

const ANCHOR = `${blockPrefix(0, 0)}.attn.anchor.body`;

function readAnchor(sd: StateDict): { projection: AnchorProjection; oneStage: boolean; factor: number } {
  const stages = countNumbered(sd, ANCHOR);
  const kernelOf = (key: string): number => dimOf(sd, key, 4, 2, 'the anchor projection conv');
  if (stages === 1) {
    if (sd.has(`${ANCHOR}.0.reduction.weight`)) {
      // A pooled linear reduction has a bias, patch merging none; neither records its factor,
      // and max pooling cannot be told from average pooling: spandrel assumes avgpool and 4.
      const pooled = sd.has(`${ANCHOR}.0.reduction.bias`);
      return { projection: pooled ? 'avgpool' : 'patchmerging', oneStage: true, factor: DEFAULT_DOWN_FACTOR };
    }
    if (sd.has(`${ANCHOR}.0.weight`)) {
      return { projection: 'conv2d', oneStage: true, factor: kernelOf(`${ANCHOR}.0.weight`) - 1 };
    }
    return { projection: 'separable_conv', oneStage: true, factor: kernelOf(`${ANCHOR}.0.0.weight`) - 1 };
  }
  if (stages === 0) throw new WeightError(`${ANCHOR}.0`, `the weights have no '${ANCHOR}.0.*' (the anchor projection)`);
  const projection = sd.has(`${ANCHOR}.0.reduction.weight`)
    ? 'patchmerging'
    : sd.has(`${ANCHOR}.0.weight`)
      ? 'conv2d'
      : 'separable_conv';
  return { projection, oneStage: false, factor: 2 ** stages };
}

/** b from a = b + b // d, as spandrel inverts the stripe table's size. */
function inverseDivAdd(a: number, d: number): number {
  return Math.round(a / (1 + 1 / d));
}

/**
 * Window, stripe and anchor factor from stored tables where the file has them (old
 * checkpoints saved the buffers), otherwise spandrel's values for the official models.
 */
function readWindows(
  sd: StateDict,
  head: Head,
  factor: number,
): { windowSize: number; stripeSize: [number, number]; factor: number } {
  const tw = sd.get('table_w');
  const tsh = sd.get('table_sh');
  const index = sd.get('index_sh_a2w');
  if (tw && tsh && index) {
    const [n2 = 1, n1 = 1] = index.shape;
    const df = Math.trunc(Math.sqrt(Math.max(n1, n2) / Math.min(n1, n2)));
    const windowSize = Math.floor(((tw.shape[1] ?? 0) + 1) / 2);
    const stripe: [number, number] = [
      inverseDivAdd((tsh.shape[1] ?? 0) + 1, df),
      inverseDivAdd((tsh.shape[2] ?? 0) + 1, df),
    ];
    return { windowSize, stripeSize: stripe, factor: df };
  }
  if (head.scale === 1) return { windowSize: 8, stripeSize: [8, 8], factor };
  if (head.upsampler === 'nearest+conv') return { windowSize: 16, stripeSize: [32, 64], factor };
  return { windowSize: 32, stripeSize: [64, 64], factor };
}

function readConvType(sd: StateDict): GrlConv {
  const t = sd.get('conv_after_body.weight');
  if (!t) return '3conv';
  if (t.shape.length === 2) return 'linear';
  return t.shape[2] === 1 ? '1conv1x1' : '1conv';
}

/** A build_last_conv of `kind` at `prefix` on `c` channels. */
function requireLastConv(sd: StateDict, prefix: string, kind: GrlConv, c: number): void {
  switch (kind) {
    case 'linear':
      return requireLinear(sd, prefix, c, c);
    case '1conv1x1':
      return requireConv(sd, prefix, { out: c, in: c, kernel: 1 });
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

function requireAnchor(
  sd: StateDict,
  prefix: string,
  c: number,
  cfg: Pick<GrlConfig, 'anchorProjection' | 'anchorOneStage' | 'anchorDownFactor'>,
): void {
  const half = Math.floor(c / 2);
  const kernel = cfg.anchorOneStage ? cfg.anchorDownFactor + 1 : 3;
  const stages = cfg.anchorOneStage ? 1 : Math.log2(cfg.anchorDownFactor);
  for (let i = 0; i < stages; i++) {
    const p = `${prefix}.${i}`;
    const cin = i === 0 ? c : half;
    switch (cfg.anchorProjection) {
      case 'avgpool':
        requireLinear(sd, `${p}.reduction`, half, c);
        break;
      case 'patchmerging':
        requireLinear(sd, `${p}.reduction`, half, 4 * cin, 'none');
        break;
      case 'conv2d':
        requireConv(sd, p, { out: half, in: cin, kernel });
        break;
      case 'separable_conv':
        requireConv(sd, `${p}.0`, { out: cin, in: 1, kernel });
        requireConv(sd, `${p}.1`, { out: half, in: cin, kernel: 1 });
        break;
    }
  }
}

function requireBlock(
  sd: StateDict,
  p: string,
  c: number,
  heads: { window: number; stripe: number },
  cfg: Omit<GrlConfig, 'depths' | 'headsWindow' | 'headsStripe'>,
): void {
  const bias: BiasRule = cfg.qkvBias ? 'required' : 'none';
  if (cfg.qkvProjection === 'linear') requireLinear(sd, `${p}.attn.qkv.body`, 3 * c, c, bias);
  else {
    requireConv(sd, `${p}.attn.qkv.body.0`, { out: c, in: 1, kernel: 3, bias });
    requireConv(sd, `${p}.attn.qkv.body.1`, { out: 3 * c, in: c, kernel: 1, bias });
  }
  requireAnchor(sd, `${p}.attn.anchor.body`, c, cfg);
  const transforms: [string, number][] = [
    [`${p}.attn.window_attn.attn_transform`, heads.window],
    [`${p}.attn.stripe_attn.attn_transform1`, heads.stripe],
    [`${p}.attn.stripe_attn.attn_transform2`, heads.stripe],
  ];
  for (const [t, h] of transforms) {
    requireShape(sd, `${t}.logit_scale`, [h, 1, 1]);
    const width = dimOf(sd, `${t}.cpb_mlp.0.weight`, 2, 0, 'the position MLP');
    requireLinear(sd, `${t}.cpb_mlp.0`, width, 2);
    requireLinear(sd, `${t}.cpb_mlp.2`, h, width, 'none');
  }
  requireLinear(sd, `${p}.attn.proj`, c, c);
  requireNorm(sd, `${p}.norm1`, c);
  requireNorm(sd, `${p}.norm2`, c);
  requireMlp(sd, `${p}.mlp`, c, cfg.mlpHidden);
  if (cfg.localConnection) {
    const squeezed = Math.floor(c / CAB_REDUCTION);
    requireConv(sd, `${p}.conv.cab.0`, { out: Math.floor(c / CAB_COMPRESS), in: c, kernel: 3 });
    requireConv(sd, `${p}.conv.cab.2`, { out: c, in: Math.floor(c / CAB_COMPRESS), kernel: 3 });
    requireConv(sd, `${p}.conv.cab.3.attention.1`, { out: squeezed, in: c, kernel: 1 });
    requireConv(sd, `${p}.conv.cab.3.attention.3`, { out: c, in: squeezed, kernel: 1 });
  }
}

/** Heads of a half-width attention, which must split its c / 2 channels evenly. */
function readHeads(sd: StateDict, key: string, c: number): number {
  const heads = dimOf(sd, key, 3, 0, 'the logit scale [heads, 1, 1]');
  if ((c / 2) % heads !== 0) throw new WeightError(key, `${heads} heads do not divide half of embed_dim ${c}`);
  return heads;
}

/** Reads every hyper-parameter, from weights already passed through canonicalGrlWeights. */
export function readGrlConfig(sd: StateDict): GrlConfig {
  const { embedDim, inChannels: channels } = readShallowConv(sd, [3, 1], 'GRL');
  const c = embedDim;
  if (c % 2 !== 0)
    throw new WeightError('conv_first.weight', `embed_dim ${c} is odd; GRL splits it between two attentions`);
  requireConv(sd, 'conv_first', { out: c, in: channels, kernel: 3 });
  const head = readHead(sd, {
    embedDim: c,
    outChannels: channels,
    allowed: ['pixelshuffle', 'pixelshuffledirect', 'nearest+conv', ''],
    upsamplePrefix: 'upsample.up',
  });
  if (head.upsampler === 'nearest+conv' && head.scale !== 4) {
    throw new WeightError(
      'conv_up2.weight',
      `GRL's nearest+conv head is x4 (conv_up1 and conv_up2); found x${head.scale}`,
    );
  }
  const anchor = readAnchor(sd);
  const { windowSize, stripeSize, factor } = readWindows(sd, head, anchor.factor);
  if (anchor.projection === 'patchmerging' && anchor.oneStage && factor !== 2) {
    // One PatchMerging halves the resolution; any other factor leaves anchors and stripes
    // unmatched, which spandrel's model cannot run either.
    throw new WeightError(
      `${ANCHOR}.0.reduction.weight`,
      `one patch-merging anchor stage halves the size, but the anchor factor is ${factor}`,
    );
  }
  const qkvProjection = sd.has(`${blockPrefix(0, 0)}.attn.qkv.body.weight`) ? 'linear' : 'separable_conv';
  const biasKey = qkvProjection === 'linear' ? 'attn.qkv.body.bias' : 'attn.qkv.body.0.bias';
  const base = {
    channels,
    embedDim,
    head,
    windowSize,
    stripeSize,
    anchorDownFactor: factor,
    anchorProjection: anchor.projection,
    anchorOneStage: anchor.oneStage,
    qkvProjection,
    qkvBias: sd.has(`${blockPrefix(0, 0)}.${biasKey}`),
    localConnection: sd.has(`${blockPrefix(0, 0)}.conv.cab.0.weight`),
    convType: readConvType(sd),
    mlpHidden: dimOf(sd, `${blockPrefix(0, 0)}.mlp.fc1.weight`, 2, 0, 'the MLP'),
    padSize: Math.max(windowSize, ...stripeSize),
  } as const;
  // Windows and stripes tile the padded input, and anchor windows are stripes / factor.
  const tiles = (size: number): boolean => base.padSize % size === 0;
  if (!tiles(windowSize) || !stripeSize.every((s) => tiles(s) && s % factor === 0)) {
    throw new WeightError(
      'layers.0',
      `window ${windowSize} and stripe ${stripeSize.join('×')} must divide the padding ${base.padSize}, ` +
        `and the stripe be a multiple of the anchor factor ${factor}`,
    );
  }

  const layerCount = countNumbered(sd, 'layers');
  if (layerCount === 0) throw new WeightError('layers.0', "the weights have no 'layers.0.*' (no stages)");
  const depths: number[] = [];
  const headsWindow: number[] = [];
  const headsStripe: number[] = [];
  for (let i = 0; i < layerCount; i++) {
    const depth = countNumbered(sd, `layers.${i}.blocks`);
    if (depth === 0) throw new WeightError(`layers.${i}.blocks.0`, `stage ${i} has no blocks`);
    const window = readHeads(sd, `${blockPrefix(i, 0)}.attn.window_attn.attn_transform.logit_scale`, c);
    const stripe = readHeads(sd, `${blockPrefix(i, 0)}.attn.stripe_attn.attn_transform1.logit_scale`, c);
    for (let b = 0; b < depth; b++) requireBlock(sd, blockPrefix(i, b), c, { window, stripe }, base);
    requireLastConv(sd, `layers.${i}.conv`, base.convType, c);
    depths.push(depth);
    headsWindow.push(window);
    headsStripe.push(stripe);
  }
  requireNorm(sd, 'norm_start', c);
  requireNorm(sd, 'norm_end', c);
  requireLastConv(sd, 'conv_after_body', base.convType, c);
  return { ...base, depths, headsWindow, headsStripe };
}
