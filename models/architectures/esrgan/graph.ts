// RRDBNet (ESRGAN's generator) as an ONNX graph, in whichever key layout the weights use.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { pixelUnshuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { cropTo, padToMultiple, runtimeDim, scaled } from '../../nn/shape';
import { CONVS_PER_RDB, IMAGE_CHANNELS, RDBS_PER_BLOCK, rrdbKeys, type RrdbKeys, type RrdbNetConfig } from './config';

/** Upstream scales every residual branch by 0.2 before adding it back. */
const RESIDUAL_SCALE = 0.2;
const LEAKY_SLOPE = 0.2;

function scaledResidual(ctx: GraphContext, branch: string, x: string): string {
  return ctx.g.op('Add', [ctx.g.op('Mul', [branch, ctx.scalar(RESIDUAL_SCALE)]), x]);
}

/** One residual dense block: five convs, each seeing the concatenation of all earlier outputs. */
function residualDenseBlock(ctx: GraphContext, x: string, convPrefix: (conv: number) => string): string {
  const features = [x];
  for (let c = 1; c < CONVS_PER_RDB; c++) {
    const joined = features.length === 1 ? x : ctx.g.op('Concat', features, { axis: attr.int(1) });
    features.push(leakyRelu(ctx, conv2d(ctx, joined, convPrefix(c)), LEAKY_SLOPE));
  }
  const last = conv2d(ctx, ctx.g.op('Concat', features, { axis: attr.int(1) }), convPrefix(CONVS_PER_RDB));
  return scaledResidual(ctx, last, x);
}

function rrdb(ctx: GraphContext, x: string, keys: RrdbKeys, block: number): string {
  let y = x;
  for (let r = 1; r <= RDBS_PER_BLOCK; r++) y = residualDenseBlock(ctx, y, (c) => keys.denseConv(block, r, c));
  return scaledResidual(ctx, y, x);
}

export function buildRrdbNet(sd: StateDict, config: RrdbNetConfig): Uint8Array {
  const spec = {
    name: 'rrdbnet',
    sd,
    inputChannels: IMAGE_CHANNELS,
    outputChannels: IMAGE_CHANNELS,
    description: `RRDBNet (${config.layout} keys) x${config.scale}`,
  };
  return imageGraph(spec, (ctx, input) => {
    const keys = rrdbKeys(config.layout, config.numBlock, config.upsampleStages);
    const unshuffled = config.unshuffleFactor > 1;
    // Real-ESRGAN's inference wrapper reflect-pads to a multiple of the unshuffle factor
    // and crops the output; doing both in the graph lets any input size through.
    const x = unshuffled
      ? pixelUnshuffle(
          ctx,
          padToMultiple(ctx, input, 'nchw', config.unshuffleFactor, 'reflect'),
          config.unshuffleFactor,
          IMAGE_CHANNELS,
        )
      : input;

    const feat = conv2d(ctx, x, keys.firstConv);
    let body = feat;
    for (let b = 0; b < config.numBlock; b++) body = rrdb(ctx, body, keys, b);
    let y = ctx.g.op('Add', [feat, conv2d(ctx, body, keys.trunkConv)]);
    for (const up of keys.upConvs) {
      const upsampled = interpolateBy(ctx, y, config.upsampleFactor, { mode: 'nearest' });
      y = leakyRelu(ctx, conv2d(ctx, upsampled, up), LEAKY_SLOPE);
    }
    const out = conv2d(ctx, leakyRelu(ctx, conv2d(ctx, y, keys.hrConv), LEAKY_SLOPE), keys.lastConv);
    if (!unshuffled) return out;
    const height = scaled(ctx, runtimeDim(ctx, input, 2), config.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), config.scale);
    return cropTo(ctx, out, 2, height, width);
  });
}
