// FDAT, the Fast Dual Aggregation Transformer (stinkybread/fdat, as spandrel 0.4.2 ships
// it in FDAT/__arch/fdat.py): DAT's alternation of spatial window attention and channel
// attention, simplified. Each block runs its attention and a depthwise conv branch side by
// side on the normalised tokens and lets one modulate the other (a spatial block's conv
// branch gates its channels, a channel block's attention gates the conv branch's
// positions), then a feed-forward with a depthwise conv. Groups of blocks close with a
// conv and a residual; the head is the one MetaUpsample names (../uni-upsample). Tokens
// travel as [1, H, W, C] and become NCHW maps around convs.
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS } from '../types';
import { hasAll, hasAny } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { attr } from '../../onnx/graph';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { gelu, sigmoid, softmax } from '../../nn/activation';
import { linear } from '../../nn/linear';
import { l2Normalize, layerNorm } from '../../nn/norm';
import { globalPool } from '../../nn/pool';
import { pixelUnshuffle } from '../../nn/shuffle';
import { cropTo, padToMultiple, runtimeDim, toFeatureMap, toTokenGrid, withRequirement } from '../../nn/shape';
import { WindowGrid, mergeHeads, multiHeadAttention, splitHeads, squareWindow } from '../../nn/window-attention';
import { uniUpsample } from '../uni-upsample';
import { readFDATConfig, type FDATConfig } from './config';

/** nn.LayerNorm's default, which n1 and n2 use. */
const EPS = 1e-5;

class FDATGraph {
  private windows: WindowGrid | undefined;

  constructor(
    private readonly ctx: GraphContext,
    private readonly c: FDATConfig,
  ) {}

  /** One window grid over the padded tokens, whose size every spatial block shares. */
  private grid(padded: string): WindowGrid {
    this.windows ??= new WindowGrid(this.ctx, padded, squareWindow(this.c.windowSize));
    return this.windows;
  }

  /**
   * Window attention with a learned bias per head and position pair, on tokens zero-padded
   * to the window (the padded tokens take part as keys, as upstream's do), cropped back.
   */
  private spatialAttention(tokens: string, prefix: string): string {
    const { ctx, c } = this;
    const padded = padToMultiple(ctx, tokens, 'nhwc', c.windowSize, 'zero');
    const grid = this.grid(padded);
    const headDim = c.embedDim / c.numHeads;
    const qkv = linear(ctx, grid.partition(padded, c.embedDim), `${prefix}.qkv`);
    const [q, k, v] = splitHeads(ctx, qkv, 3, c.numHeads, headDim);
    if (q === undefined || k === undefined || v === undefined) throw new Error('splitHeads gave too few parts');
    const biases = [ctx.weight(`${prefix}.bias`)];
    const attended = multiHeadAttention(ctx, { query: q, key: k, value: v, scale: headDim ** -0.5, biases });
    const projected = linear(ctx, mergeHeads(ctx, attended, c.embedDim), `${prefix}.proj`);
    const image = grid.reverse(projected, c.embedDim);
    return cropTo(ctx, image, 1, runtimeDim(ctx, tokens, 1), runtimeDim(ctx, tokens, 2));
  }

  /** Attention across each head's channels, over every token of the image. */
  private channelAttention(tokens: string, prefix: string): string {
    const { ctx, c } = this;
    const g = ctx.g;
    const headDim = c.embedDim / c.numHeads;
    const qkv = linear(ctx, tokens, `${prefix}.qkv`);
    // [1, H, W, 3C] -> [3, 1, heads, headDim, N]: q, k and v with the tokens last.
    const split = g.op('Reshape', [qkv, ctx.ints([1, -1, 3, c.numHeads, headDim])]);
    const parts = g.op('Transpose', [split], { perm: attr.ints([2, 0, 3, 4, 1]) });
    const part = (i: number): string => g.op('Gather', [parts, ctx.int64Scalar(i)], { axis: attr.int(0) });
    const q = l2Normalize(ctx, part(0));
    const kT = g.op('Transpose', [l2Normalize(ctx, part(1))], { perm: attr.ints([0, 1, 3, 2]) });
    const scores = g.op('Mul', [g.op('MatMul', [q, kT]), ctx.weight(`${prefix}.temp`)]);
    const attended = g.op('MatMul', [softmax(ctx, scores, -1), part(2)]);
    const perToken = g.op('Transpose', [attended], { perm: attr.ints([0, 3, 1, 2]) });
    return linear(ctx, g.op('Reshape', [perToken, g.op('Shape', [tokens])]), `${prefix}.proj`);
  }

  private block(tokens: string, prefix: string, spatial: boolean): string {
    const { ctx, c } = this;
    const g = ctx.g;
    const normed = layerNorm(ctx, tokens, `${prefix}.n1`, EPS);
    const attended = spatial
      ? this.spatialAttention(normed, `${prefix}.attn`)
      : this.channelAttention(normed, `${prefix}.attn`);
    const convMap = gelu(ctx, conv2d(ctx, toFeatureMap(ctx, normed), `${prefix}.conv.0`, { groups: c.embedDim }));
    const convolved = toTokenGrid(ctx, convMap);
    const inter = `${prefix}.inter`;
    let fused: string;
    if (spatial) {
      const squeezed = gelu(ctx, conv2d(ctx, globalPool(ctx, convMap, 'avg'), `${inter}.cg.1`));
      const channelGate = toTokenGrid(ctx, sigmoid(ctx, conv2d(ctx, squeezed, `${inter}.cg.3`)));
      fused = g.op('Add', [g.op('Mul', [attended, channelGate]), convolved]);
    } else {
      const positionGate = sigmoid(ctx, conv2d(ctx, toFeatureMap(ctx, attended), `${inter}.sg.0`));
      fused = g.op('Add', [attended, g.op('Mul', [convolved, toTokenGrid(ctx, positionGate)])]);
    }
    const mixed = g.op('Add', [tokens, fused], {}, 'fdat_mixed');
    return g.op('Add', [mixed, this.feedForward(layerNorm(ctx, mixed, `${prefix}.n2`, EPS), `${prefix}.ffn`)]);
  }

  /** fc1, GELU, a depthwise 3 × 3 over the token grid, fc2; no biases. */
  private feedForward(tokens: string, prefix: string): string {
    const ctx = this.ctx;
    const hidden = toFeatureMap(ctx, gelu(ctx, linear(ctx, tokens, `${prefix}.fc1`)));
    const mixed = conv2d(ctx, hidden, `${prefix}.smix`, { groups: this.c.ffnHidden });
    return linear(ctx, toTokenGrid(ctx, mixed), `${prefix}.fc2`);
  }

  private group(map: string, g: number): string {
    let tokens = toTokenGrid(this.ctx, map);
    for (let b = 0; b < this.c.blocks; b++) tokens = this.block(tokens, `groups.${g}.blocks.${b}`, b % 2 === 0);
    const convolved = conv2d(this.ctx, toFeatureMap(this.ctx, tokens), `groups.${g}.conv`);
    return this.ctx.g.op('Add', [convolved, map], {}, 'group_residual');
  }

  /** On the (padded) image: shallow conv, groups, conv, residual, head. */
  body(x: string): string {
    const { ctx, c } = this;
    const shallow =
      c.unshuffle > 1
        ? conv2d(ctx, pixelUnshuffle(ctx, x, c.unshuffle, c.inChannels), 'conv_first.1')
        : conv2d(ctx, x, 'conv_first');
    let deep = shallow;
    for (let g = 0; g < c.numGroups; g++) deep = this.group(deep, g);
    const merged = ctx.g.op('Add', [conv2d(ctx, deep, 'conv_after'), shallow], {}, 'long_residual');
    return uniUpsample(ctx, merged, 'upsampler', c.head);
  }
}

function build(sd: StateDict, c: FDATConfig): Uint8Array {
  const spec = {
    name: 'fdat',
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    description: `FDAT x${c.scale}`,
  };
  // The unshuffled variant reflect-pads to the unshuffle factor (spandrel's pad_tensor,
  // also where a side is too short to reflect); the crop is the forward's own.
  return imageGraph(spec, (ctx, input) =>
    withRequirement(ctx, input, { minimum: 0, multiple: c.unshuffle, scale: c.scale }, (x) =>
      new FDATGraph(ctx, c).body(x),
    ),
  );
}

function describe(c: FDATConfig): ModelDescription {
  const unshuffled = c.unshuffle > 1 ? `, pixel_unshuffle ${c.unshuffle}` : '';
  return {
    variant: `FDAT (${c.embedDim} channels, ${c.numGroups} × ${c.blocks} blocks, ${c.head.kind} head${unshuffled})`,
    scale: c.scale,
    // The spatial attention's window, at the resolution it runs at.
    inputMultiple: c.windowSize * c.unshuffle,
    // spandrel: fp16 and bf16, any size.
    // Channel attention and the channel gate read the whole image, so tiles differ from it.
    traits: { ...PLAIN_TRAITS, channels: { input: c.inChannels, output: c.outChannels }, context: 'global' },
    params: {
      num_in_ch: c.inChannels,
      num_out_ch: c.outChannels,
      scale: c.scale,
      embed_dim: c.embedDim,
      num_groups: c.numGroups,
      depth_per_group: c.blocks / 2,
      num_heads: c.numHeads,
      window_size: c.windowSize,
      ffn_expansion_ratio: c.ffnHidden / c.embedDim,
      aim_reduction_ratio: Math.floor(c.embedDim / c.gateHidden),
      mid_dim: c.meta.midDim,
      upsampler_type: c.meta.kind,
      unshuffle_mod: c.unshuffle > 1,
    },
  };
}

export const fdat: ArchitectureModule<'fdat', FDATConfig> = {
  id: 'fdat',
  label: 'FDAT',
  keys: hasAny(
    hasAll(
      'conv_first.weight',
      'groups.0.blocks.0.attn.bias',
      'groups.0.blocks.0.inter.cg.1.weight',
      'groups.0.blocks.0.ffn.fc1.weight',
      'groups.0.blocks.0.n1.weight',
      'upsampler.MetaUpsample',
    ),
    hasAll(
      'conv_first.1.weight',
      'groups.0.blocks.0.attn.bias',
      'groups.0.blocks.0.inter.cg.1.weight',
      'groups.0.blocks.0.ffn.fc1.weight',
      'groups.0.blocks.0.n1.weight',
      'upsampler.MetaUpsample',
    ),
  ),
  readConfig: readFDATConfig,
  describe,
  build,
};
