// Channel attention (RCAN's CALayer, HAT's ChannelAttention) against PyTorch.
import { test } from 'node:test';
import { casesOf, checkCase } from '../nn-vectors';
import { channelAttention } from '../../models/nn/channel-attention';

for (const c of casesOf('channel_attention')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) => channelAttention(ctx, x, { squeeze: 'ca.squeeze', excite: 'ca.excite' }));
  });
}
