// DCTLSA (Zeng et al. 2023, "Densely connected transformer with linear self-attention for
// lightweight image super-resolution", as spandrel 0.4.2 ships it): six blocks B1–B6,
// densely connected through 1×1 convs, each two Swin layers of two blocks whose window
// attention is linear (softmax over the keys' tokens, then q · (kᵀ v)) after a local conv
// module, and a pixel-shuffle head. spandrel fixes what the weights do not store: 5 heads,
// window 16, shifts of 8 without a mask.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS, sizeRequirement } from '../types';
import { attr } from '../../onnx/graph';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, requireBatchNorm, requireConv, requireLinear, requireNorm } from '../../weights/shapes';
import { shuffleHeadOf } from '../../weights/pixel-shuffle';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu, softmax } from '../../nn/activation';
import { batchNorm, layerNorm } from '../../nn/norm';
import { linear } from '../../nn/linear';
import { pixelShuffle } from '../../nn/shuffle';
import { cropTo, padToMultiple, runtimeDim, toFeatureMap, toTokenGrid } from '../../nn/shape';
import { WindowGrid, cyclicShift, mergeHeads, splitHeads, squareWindow } from '../../nn/window-attention';
import { mlp, requireMlp } from '../swin-shell/blocks';
import { readShallowConv } from '../swin-shell/shell';

/** spandrel's DCTLSA(num_head=5): not in the weights. */
const HEADS = 5;
/** SwinT's window_size; blocks 1 of each layer shift by half of it. */
const WINDOW = 16;
/** The dense chain always has six blocks (B1 … B6). */
const BLOCKS = 6;
/** conv_block(act_type='lrelu')'s slope. */
const DENSE_SLOPE = 0.05;
const EPS = 1e-5;

export interface DctlsaConfig {
  readonly channels: number;
  readonly nf: number;
  readonly scale: number;
  readonly mlpHidden: number;
}

/** The Swin layer `s` (0 or 1) of block `b` (1 … 6). */
function layerPrefix(b: number, s: number): string {
  return `B${b}.body.${s}.transformer_body.0`;
}

function readDctlsaConfig(sd: StateDict): DctlsaConfig {
  const { embedDim: nf, inChannels: channels } = readShallowConv(sd, [3, 1], 'DCTLSA', 'fea_conv.weight');
  if (nf % HEADS !== 0) {
    throw new WeightError(
      'fea_conv.weight',
      `nf ${nf} is not a multiple of the ${HEADS} attention heads spandrel builds DCTLSA with (not stored in the weights)`,
    );
  }
  requireConv(sd, 'fea_conv', { out: nf, in: channels, kernel: 3 });
  const modules = dimOf(sd, 'c.0.weight', 4, 1, 'the fusion conv') / nf;
  if (modules !== BLOCKS) {
    throw new WeightError('c.0.weight', `'c.0.weight' fuses ${modules} blocks, expected ${BLOCKS} (B1 … B6)`);
  }
  const mlpHidden = dimOf(sd, `${layerPrefix(1, 0)}.blocks.0.mlp.fc1.weight`, 2, 0, 'the MLP');
  for (let b = 1; b <= BLOCKS; b++) {
    for (let s = 0; s < 2; s++) {
      const layer = layerPrefix(b, s);
      requireNorm(sd, `${layer}.patch_embed.norm`, nf);
      for (let k = 0; k < 2; k++) {
        const p = `${layer}.blocks.${k}`;
        requireLinear(sd, `${p}.attn.qkv`, 3 * nf, nf);
        requireLinear(sd, `${p}.attn.proj`, nf, nf);
        requireBatchNorm(sd, `${p}.attn.local.pointwise_prenorm_0`, nf);
        requireConv(sd, `${p}.attn.local.pointwise_conv_0`, { out: nf, in: nf, kernel: 1, bias: 'none' });
        requireConv(sd, `${p}.attn.local.depthwise_conv`, { out: nf, in: 1, kernel: 3, bias: 'none' });
        requireBatchNorm(sd, `${p}.attn.local.pointwise_prenorm_1`, nf);
        requireConv(sd, `${p}.attn.local.pointwise_conv_1`, { out: nf, in: nf, kernel: 1, bias: 'none' });
        requireMlp(sd, `${p}.mlp`, nf, mlpHidden);
      }
    }
  }
  for (let k = 1; k < BLOCKS; k++) requireConv(sd, `c${k}.0`, { out: nf, in: nf * (k + 1), kernel: 1 });
  requireConv(sd, 'c.0', { out: nf, in: nf * BLOCKS, kernel: 1 });
  requireConv(sd, 'LR_conv', { out: nf, in: nf, kernel: 3 });
  const { scale, outputChannels } = shuffleHeadOf(sd, 'upsampler.0.weight', channels);
  if (outputChannels !== channels) {
    throw new WeightError('upsampler.0.weight', `the head gives ${outputChannels} channels from ${channels}`);
  }
  requireConv(sd, 'upsampler.0', { out: scale * scale * channels, in: nf, kernel: 3 });
  return { channels, nf, scale, mlpHidden };
}

function describe(config: DctlsaConfig): ModelDescription {
  return {
    variant: `DCTLSA (nf ${config.nf})${config.channels === 1 ? ', grayscale' : ''}`,
    scale: config.scale,
    // Each Swin layer pads its features to the window itself; padding the image first, as
    // the engine pads a tile to the input multiple, would change what the convs before see.
    inputMultiple: 1,
    // spandrel: no fp16, at least 16 px.
    traits: {
      ...PLAIN_TRAITS,
      channels: { input: config.channels, output: config.channels },
      size: sizeRequirement(16),
      // Linear attention averages whole 16 px windows whose grid follows the input's origin,
      // and shifts roll without a mask across the input's opposite edges: tiles differ.
      context: 'global',
      fp16: false,
    },
    params: {
      in_nc: config.channels,
      nf: config.nf,
      num_modules: BLOCKS,
      out_nc: config.channels,
      upscale: config.scale,
      num_head: HEADS,
    },
  };
}

class DctlsaGraph {
  /** Every Swin layer pads its input to the same size, so one window grid serves them all. */
  private grid: WindowGrid | null = null;

  constructor(
    private readonly ctx: GraphContext,
    private readonly c: DctlsaConfig,
  ) {}

  /** LocalModule (BN, 1×1, depthwise 3×3, BN, 1×1) plus its input, on NCHW. */
  private local(x: string, prefix: string): string {
    const { ctx } = this;
    let y = conv2d(ctx, batchNorm(ctx, x, `${prefix}.pointwise_prenorm_0`, EPS), `${prefix}.pointwise_conv_0`);
    y = conv2d(ctx, y, `${prefix}.depthwise_conv`, { groups: this.c.nf });
    y = conv2d(ctx, batchNorm(ctx, y, `${prefix}.pointwise_prenorm_1`, EPS), `${prefix}.pointwise_conv_1`);
    return ctx.g.op('Add', [y, x]);
  }

  /** WindowAttention on a (rolled) grid [B, H, W, C]: linear attention on local features, plus them. */
  private attention(grid: WindowGrid, x: string, prefix: string): string {
    const { ctx } = this;
    const g = ctx.g;
    const c = this.c.nf;
    const headDim = c / HEADS;
    const local = toTokenGrid(ctx, this.local(toFeatureMap(ctx, x), `${prefix}.local`));
    const windows = grid.partition(linear(ctx, local, `${prefix}.qkv`), 3 * c);
    const [q, k, v] = splitHeads(ctx, windows, 3, HEADS, headDim);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    // k softmaxed over the window's tokens; q · scale times kᵀv ([d, d] per head).
    const kT = g.op('Transpose', [softmax(ctx, k, -2)], { perm: attr.ints([0, 1, 2, 4, 3]) });
    const context = g.op('MatMul', [kT, v], {}, 'linear_context');
    const attended = g.op('MatMul', [g.op('Mul', [q, ctx.scalar(headDim ** -0.5)]), context], {}, 'linear_attended');
    const projected = linear(ctx, mergeHeads(ctx, attended, c), `${prefix}.proj`);
    return g.op('Add', [grid.reverse(projected, c), local]);
  }

  /** SwinT: reflect-pad to the window, patch norm, two blocks (the second shifted, no mask), crop. */
  private swinLayer(x: string, prefix: string): string {
    const { ctx } = this;
    const g = ctx.g;
    const height = runtimeDim(ctx, x, 2);
    const width = runtimeDim(ctx, x, 3);
    let tokens = layerNorm(
      ctx,
      toTokenGrid(ctx, padToMultiple(ctx, x, 'nchw', WINDOW, 'reflect')),
      `${prefix}.patch_embed.norm`,
      EPS,
    );
    this.grid ??= new WindowGrid(ctx, tokens, squareWindow(WINDOW));
    const grid = this.grid;
    for (let b = 0; b < 2; b++) {
      const p = `${prefix}.blocks.${b}`;
      const s = b === 1 ? WINDOW / 2 : 0;
      const rolled = cyclicShift(ctx, tokens, { rows: -s, cols: -s });
      const attended = cyclicShift(ctx, this.attention(grid, rolled, `${p}.attn`), { rows: s, cols: s });
      tokens = g.op('Add', [attended, mlp(ctx, attended, `${p}.mlp`)]);
    }
    return cropTo(ctx, toFeatureMap(ctx, tokens), 2, height, width);
  }

  private block(x: string, b: number): string {
    return this.swinLayer(this.swinLayer(x, layerPrefix(b, 0)), layerPrefix(b, 1));
  }

  /** A 1×1 conv and LeakyReLU(0.05) on the concatenation of `parts`. */
  private fuse(parts: readonly string[], prefix: string): string {
    const cat = this.ctx.g.op('Concat', [...parts], { axis: attr.int(1) });
    return leakyRelu(this.ctx, conv2d(this.ctx, cat, prefix), DENSE_SLOPE);
  }

  build(input: string): string {
    const { ctx } = this;
    const features = conv2d(ctx, input, 'fea_conv');
    const outputs: string[] = [];
    let chain = [features];
    let x = features;
    for (let b = 1; b <= BLOCKS; b++) {
      const out = this.block(x, b);
      outputs.push(out);
      chain = [...chain, out];
      if (b < BLOCKS) x = this.fuse(chain, `c${b}.0`);
    }
    const fused = this.fuse(outputs, 'c.0');
    const lr = ctx.g.op('Add', [conv2d(ctx, fused, 'LR_conv'), features]);
    return pixelShuffle(ctx, conv2d(ctx, lr, 'upsampler.0'), this.c.scale);
  }
}

function build(sd: StateDict, config: DctlsaConfig): Uint8Array {
  const channels = config.channels;
  const spec = {
    name: 'dctlsa',
    sd,
    inputChannels: channels,
    outputChannels: channels,
    description: `DCTLSA x${config.scale}`,
  };
  return imageGraph(spec, (ctx, input) => new DctlsaGraph(ctx, config).build(input));
}

export const dctlsa: ArchitectureModule<'dctlsa', DctlsaConfig> = {
  id: 'dctlsa',
  label: 'DCTLSA',
  keys: hasAll(
    'fea_conv.weight',
    'B1.body.0.transformer_body.0.blocks.0.attn.qkv.weight',
    'B1.body.0.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight',
    'B1.body.1.transformer_body.0.blocks.0.attn.qkv.weight',
    'B1.body.1.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight',
    'B6.body.0.transformer_body.0.blocks.0.attn.qkv.weight',
    'B6.body.0.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight',
    'B6.body.1.transformer_body.0.blocks.0.attn.qkv.weight',
    'B6.body.1.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight',
    'c.0.weight',
    'c1.0.weight',
    'c2.0.weight',
    'c3.0.weight',
    'c4.0.weight',
    'c5.0.weight',
    'LR_conv.weight',
    'upsampler.0.weight',
  ),
  readConfig: readDctlsaConfig,
  describe,
  build,
};
