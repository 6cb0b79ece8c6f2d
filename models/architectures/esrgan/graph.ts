// RRDBNet (ESRGAN's generator) as an ONNX graph, in whichever key layout the weights use.
import { attr } from '../../onnx/graph';
import type { StateDict } from '../../weights/state-dict';
import { imageGraph, type GraphContext } from '../../nn/context';
import { conv2d } from '../../nn/conv';
import { leakyRelu } from '../../nn/activation';
import { pixelUnshuffle } from '../../nn/shuffle';
import { interpolateBy } from '../../nn/resize';
import { cropTo, padToMultiple, runtimeDim, scaled } from '../../nn/shape';
import { CONVS_PER_RDB, RDBS_PER_BLOCK, rrdbKeys, type RrdbKeys, type RrdbNetConfig } from './config';

/** Upstream scales every residual branch by 0.2 before adding it back. */
const RESIDUAL_SCALE = 0.2;
const LEAKY_SLOPE = 0.2;

function scaledResidual(ctx: GraphContext, branch: string, x: string): string {
  return ctx.g.op('Add', [ctx.g.op('Mul', [branch, ctx.scalar(RESIDUAL_SCALE)]), x]);
}

/**
 * One residual dense block: five convs, each seeing the concatenation of all earlier
 * outputs. ESRGAN+ (`plusConv`) adds a 1×1 conv of the input to the second conv's output,
 * and that to the fourth's.
 */
function residualDenseBlock(
  ctx: GraphContext,
  x: string,
  convPrefix: (conv: number) => string,
  plusConv: string | null,
): string {
  const features = [x];
  let second = x;
  for (let c = 1; c < CONVS_PER_RDB; c++) {
    const joined = features.length === 1 ? x : ctx.g.op('Concat', features, { axis: attr.int(1) });
    let y = leakyRelu(ctx, conv2d(ctx, joined, convPrefix(c)), LEAKY_SLOPE);
    if (plusConv !== null && c === 2) second = y = ctx.g.op('Add', [y, conv2d(ctx, x, plusConv)], {}, 'plus_skip');
    if (plusConv !== null && c === 4) y = ctx.g.op('Add', [y, second], {}, 'plus_skip');
    features.push(y);
  }
  const last = conv2d(ctx, ctx.g.op('Concat', features, { axis: attr.int(1) }), convPrefix(CONVS_PER_RDB));
  return scaledResidual(ctx, last, x);
}

/** Residual in residual dense block `block` of `keys`: three dense blocks and a scaled skip. */
export function rrdb(ctx: GraphContext, x: string, keys: RrdbKeys, block: number, plus: boolean): string {
  let y = x;
  for (let r = 1; r <= RDBS_PER_BLOCK; r++) {
    const plusConv = plus && keys.plusConv ? keys.plusConv(block, r) : null;
    y = residualDenseBlock(ctx, y, (c) => keys.denseConv(block, r, c), plusConv);
  }
  return scaledResidual(ctx, y, x);
}

/**
 * What follows the trunk: per upsample conv in `keys`, nearest ×`factor`, the conv and a
 * LeakyReLU; then the HR conv, a LeakyReLU and the last conv.
 */
export function rrdbUpsampler(ctx: GraphContext, x: string, keys: RrdbKeys, factor: number): string {
  let y = x;
  for (const up of keys.upConvs) {
    y = leakyRelu(ctx, conv2d(ctx, interpolateBy(ctx, y, factor, { mode: 'nearest' }), up), LEAKY_SLOPE);
  }
  return conv2d(ctx, leakyRelu(ctx, conv2d(ctx, y, keys.hrConv), LEAKY_SLOPE), keys.lastConv);
}

export function buildRrdbNet(sd: StateDict, config: RrdbNetConfig): Uint8Array {
  const spec = {
    name: 'rrdbnet',
    sd,
    inputChannels: config.inChannels,
    outputChannels: config.outChannels,
    description: `RRDBNet${config.plus ? '+' : ''} (${config.layout} keys) x${config.scale}`,
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
          config.inChannels,
        )
      : input;

    const feat = conv2d(ctx, x, keys.firstConv);
    let body = feat;
    for (let b = 0; b < config.numBlock; b++) body = rrdb(ctx, body, keys, b, config.plus);
    const trunk = ctx.g.op('Add', [feat, conv2d(ctx, body, keys.trunkConv)]);
    const out = rrdbUpsampler(ctx, trunk, keys, config.upsampleFactor);
    if (!unshuffled) return out;
    const height = scaled(ctx, runtimeDim(ctx, input, 2), config.scale);
    const width = scaled(ctx, runtimeDim(ctx, input, 3), config.scale);
    return cropTo(ctx, out, 2, height, width);
  });
}
