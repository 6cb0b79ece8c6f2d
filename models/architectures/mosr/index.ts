// MoSR, "Mamba Out Super-Resolution" (umzi2, as spandrel 0.4.2 ships it in
// MoSR/__arch/mosr_arch.py): a conv, gated CNN blocks whose token mixer is one depthwise
// k × k conv (gated-block.ts), a conv tail, a shortcut conv block from the input, and one
// of three heads: pixel shuffle ('ps'), the geometric-ensemble pixel shuffle ('gps': eight
// convs averaged, then shuffled) or DySample ('dys').
import type { ArchitectureModule, ModelDescription } from '../types';
import { PLAIN_TRAITS } from '../types';
import { hasAll } from '../../weights/keys';
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { numberedIndices } from '../../weights/sequences';
import { WeightError, floatTensor } from '../../weights/tensors';
import { attr } from '../../onnx/graph';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { mish } from '../../nn/activation';
import { pixelShuffle } from '../../nn/shuffle';
import { dySample } from '../../nn/dysample';
import { checkGated, gatedBlock, readHidden, type GatedShape } from './gated-block';

export type MoSRUpsampler = 'ps' | 'gps' | 'dys';

export interface MoSRConfig extends GatedShape {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly nBlock: number;
  readonly kernelSize: number;
  readonly upsampler: MoSRUpsampler;
  readonly scale: number;
}

/** Convs and activations after the blocks in `gblocks`: conv, Mish, conv, Mish, conv. */
const TAIL_LENGTH = 5;
/** GPS averages this many convs' outputs (the eight flips and rotations it was trained with). */
const GPS_ENSEMBLE = 8;
const DYSAMPLE_GROUPS = 4;
/** The residual's offset in every block and in the shortcut: x + (shortcut − 0.5). */
const RESIDUAL_OFFSET = 0.5;

/** s where s² · unit = n, or an error naming `key`. */
function squareScale(key: string, n: number, unit: number): number {
  const scale = Math.round(Math.sqrt(n / unit));
  if (scale < 1 || scale * scale * unit !== n) {
    throw new WeightError(key, `'${key}' has ${n} output channels, expected scale² × ${unit}`);
  }
  return scale;
}

function readHead(sd: StateDict, inChannels: number): Pick<MoSRConfig, 'upsampler' | 'scale' | 'outChannels'> {
  if (sd.has('upsampler.init_pos')) {
    const points = dimOf(sd, 'upsampler.offset.weight', 4, 0, 'the DySample offset conv');
    const outChannels = dimOf(sd, 'upsampler.end_conv.weight', 4, 0, 'the DySample end conv');
    return {
      upsampler: 'dys',
      outChannels,
      scale: squareScale('upsampler.offset.weight', points, 2 * DYSAMPLE_GROUPS),
    };
  }
  if (sd.has('upsampler.in_to_k.weight')) {
    const n = dimOf(sd, 'upsampler.in_to_k.weight', 4, 0, 'the GPS conv');
    const scale = squareScale('upsampler.in_to_k.weight', n, GPS_ENSEMBLE * inChannels);
    return { upsampler: 'gps', outChannels: inChannels, scale };
  }
  const n = dimOf(sd, 'upsampler.0.weight', 4, 0, 'the pixel-shuffle conv');
  return { upsampler: 'ps', outChannels: inChannels, scale: squareScale('upsampler.0.weight', n, inChannels) };
}

function readConfig(sd: StateDict): MoSRConfig {
  const check = new CheckedTensors(sd);
  const dim = dimOf(sd, 'gblocks.0.weight', 4, 0, 'the first conv');
  const inChannels = dimOf(sd, 'gblocks.0.weight', 4, 1, 'the first conv');
  // An nn.Sequential whose Mish layers store nothing: its length is the last index + 1.
  const nBlock = (numberedIndices(sd, 'gblocks').at(-1) ?? 0) - TAIL_LENGTH;
  if (nBlock < 1) throw new WeightError('gblocks.1', "the weights have no gated block 'gblocks.1.*'");
  const shape: GatedShape = {
    dim,
    hidden: readHidden(check, 'gblocks.1'),
    convChannels: dimOf(sd, 'gblocks.1.conv.weight', 4, 0, 'the depthwise conv'),
  };
  const kernelSize = dimOf(sd, 'gblocks.1.conv.weight', 4, 2, 'the depthwise conv');
  const c: MoSRConfig = { ...shape, inChannels, nBlock, kernelSize, ...readHead(sd, inChannels) };

  check.conv('gblocks.0', { out: dim, in: inChannels, kernel: 3 });
  for (let i = 1; i <= nBlock; i++) {
    checkGated(check, `gblocks.${i}`, shape);
    check.conv(`gblocks.${i}.conv`, { out: shape.convChannels, in: 1, kernel: kernelSize });
  }
  check.conv(`gblocks.${nBlock + 1}`, { out: 2 * dim, in: dim, kernel: 3 });
  check.conv(`gblocks.${nBlock + 3}`, { out: dim, in: 2 * dim, kernel: 3 });
  check.conv(`gblocks.${nBlock + 5}`, { out: dim, in: dim, kernel: 1 });
  check.conv('shortcut.block.0', { out: dim, in: inChannels, kernel: 3 });
  check.conv('shortcut.block.2', { out: dim, in: dim, kernel: 3 });
  check.conv('shortcut.conv11', { out: dim, in: inChannels, kernel: 1 });
  const squared = c.scale ** 2;
  if (c.upsampler === 'ps') check.conv('upsampler.0', { out: c.outChannels * squared, in: dim, kernel: 3 });
  else if (c.upsampler === 'gps') {
    check.conv('upsampler.in_to_k', { out: GPS_ENSEMBLE * c.outChannels * squared, in: dim, kernel: 3 });
  } else {
    if (dim % DYSAMPLE_GROUPS !== 0) {
      throw new WeightError('upsampler.offset.weight', `DySample needs a width divisible by 4, found ${dim}`);
    }
    const points = 2 * DYSAMPLE_GROUPS * squared;
    check.conv('upsampler.offset', { out: points, in: dim, kernel: 1 });
    check.conv('upsampler.scope', { out: points, in: dim, kernel: 1, bias: 'none' });
    check.shape('upsampler.init_pos', [1, points, 1, 1]);
    check.conv('upsampler.end_conv', { out: c.outChannels, in: dim, kernel: 1 });
  }
  check.rejectOthers(`the tensors of a ${nBlock}-block MoSR with a '${c.upsampler}' head`);
  return c;
}

function describe(c: MoSRConfig): ModelDescription {
  const head = { ps: 'pixel shuffle', gps: 'geometric-ensemble pixel shuffle', dys: 'DySample' }[c.upsampler];
  return {
    variant: `MoSR (${c.dim} channels, ${c.nBlock} blocks, ${head})`,
    scale: c.scale,
    inputMultiple: 1,
    // spandrel: fp16 and bf16, any size.
    traits: { ...PLAIN_TRAITS, channels: { input: c.inChannels, output: c.outChannels } },
    params: {
      in_ch: c.inChannels,
      out_ch: c.outChannels,
      upscale: c.scale,
      n_block: c.nBlock,
      dim: c.dim,
      upsampler: c.upsampler,
      kernel_size: c.kernelSize,
      expansion_ratio: c.hidden / c.dim,
      conv_ratio: c.convChannels / c.dim,
    },
  };
}

/**
 * GPS: the mean of eight convs' outputs is one conv with the mean of their weights and
 * biases, averaged here once (in float64) rather than computing eight times the channels.
 */
function ensembleConv(ctx: GraphContext, x: string, outputs: number): string {
  const mean = (key: string, perConv: number): string =>
    ctx.constant(`${key}_ensemble_mean`, () => {
      const t = floatTensor(ctx.sd, key);
      const data = new Float32Array(perConv);
      for (let i = 0; i < perConv; i++) {
        let sum = 0;
        for (let k = 0; k < GPS_ENSEMBLE; k++) sum += t.data[k * perConv + i] ?? Number.NaN;
        data[i] = sum / GPS_ENSEMBLE;
      }
      return { data, dims: key.endsWith('weight') ? [outputs, ...t.shape.slice(1)] : [outputs] };
    });
  const inChannels = dimOf(ctx.sd, 'upsampler.in_to_k.weight', 4, 1, 'the GPS conv');
  const kernel = dimOf(ctx.sd, 'upsampler.in_to_k.weight', 4, 2, 'the GPS conv');
  const pad = Math.floor(kernel / 2);
  return ctx.g.op(
    'Conv',
    [
      x,
      mean('upsampler.in_to_k.weight', outputs * inChannels * kernel * kernel),
      mean('upsampler.in_to_k.bias', outputs),
    ],
    { kernel_shape: attr.ints([kernel, kernel]), pads: attr.ints([pad, pad, pad, pad]) },
    'gps_mean_conv',
  );
}

function head(ctx: GraphContext, x: string, c: MoSRConfig): string {
  switch (c.upsampler) {
    case 'ps':
      return pixelShuffle(ctx, conv2d(ctx, x, 'upsampler.0'), c.scale);
    case 'gps':
      return pixelShuffle(ctx, ensembleConv(ctx, x, c.outChannels * c.scale ** 2), c.scale);
    case 'dys':
      return dySample(ctx, x, {
        prefix: 'upsampler',
        channels: c.dim,
        scale: c.scale,
        groups: DYSAMPLE_GROUPS,
        endConvolution: ctx.has('upsampler.end_conv.weight'),
      });
  }
}

function build(sd: StateDict, c: MoSRConfig): Uint8Array {
  const spec = {
    name: 'mosr',
    sd,
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    description: `MoSR x${c.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const g = ctx.g;
    const offset = (y: string): string => g.op('Sub', [y, ctx.scalar(RESIDUAL_OFFSET)]);
    let x = conv2d(ctx, input, 'gblocks.0');
    for (let i = 1; i <= c.nBlock; i++) {
      const p = `gblocks.${i}`;
      const mixed = gatedBlock(ctx, x, p, c, (part) => conv2d(ctx, part, `${p}.conv`, { groups: c.convChannels }));
      x = g.op('Add', [mixed, offset(x)], {}, 'gated_residual');
    }
    const widened = mish(ctx, conv2d(ctx, x, `gblocks.${c.nBlock + 1}`));
    const narrowed = mish(ctx, conv2d(ctx, widened, `gblocks.${c.nBlock + 3}`));
    const body = conv2d(ctx, narrowed, `gblocks.${c.nBlock + 5}`);
    const block = mish(ctx, conv2d(ctx, mish(ctx, conv2d(ctx, input, 'shortcut.block.0')), 'shortcut.block.2'));
    const shortcut = g.op('Add', [block, conv2d(ctx, input, 'shortcut.conv11')]);
    return head(ctx, g.op('Add', [body, offset(shortcut)], {}, 'shortcut_residual'), c);
  });
}

export const mosr: ArchitectureModule<'mosr', MoSRConfig> = {
  id: 'mosr',
  label: 'MoSR',
  keys: hasAll(
    'gblocks.0.weight',
    'gblocks.0.bias',
    'gblocks.1.norm.weight',
    'gblocks.1.norm.bias',
    'gblocks.1.fc1.weight',
    'gblocks.1.fc1.bias',
    'gblocks.1.conv.weight',
    'gblocks.1.conv.bias',
    'gblocks.1.fc2.weight',
    'gblocks.1.fc2.bias',
  ),
  readConfig,
  describe,
  build,
};
