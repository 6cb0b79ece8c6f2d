// Channel attention (squeeze and excitation, as RCAN introduced it and HAT's CAB reuses):
// the map's global average goes through a 1×1 conv, ReLU, a 1×1 conv and a sigmoid, and
// the result weights each channel. Architectures name the two convs differently, so the
// caller gives their prefixes.
import type { GraphContext } from './context';
import { conv2d } from './conv';
import { globalPool } from './pool';
import { relu, sigmoid } from './activation';

export interface ChannelAttentionKeys {
  /** The 1×1 conv to the bottleneck width (HAT: `…attention.1`, RCAN: `…conv_du.0`). */
  readonly squeeze: string;
  /** The 1×1 conv back to the map's channels (HAT: `…attention.3`, RCAN: `…conv_du.2`). */
  readonly excite: string;
}

/** x · sigmoid(excite(relu(squeeze(mean_hw(x))))) on an NCHW map. */
export function channelAttention(ctx: GraphContext, x: string, keys: ChannelAttentionKeys): string {
  const pooled = globalPool(ctx, x, 'avg');
  const weights = sigmoid(ctx, conv2d(ctx, relu(ctx, conv2d(ctx, pooled, keys.squeeze)), keys.excite));
  return ctx.g.op('Mul', [x, weights], {}, 'channel_attention');
}
