// Shifted-window multi-head self-attention with a relative position bias against a PyTorch
// port of Swin's: square windows shifted and not, and a rectangular window with a shift on
// both axes (DAT's spatial branches use such windows), on token grids whose size is only
// known at run time.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import {
  WindowGrid,
  storedPositionBias,
  swinRelativePositionIndex,
  windowSelfAttention,
} from '../../models/nn/window-attention';

for (const c of casesOf('window_attention')) {
  test(`${c.name}`, async () => {
    const [wh, ww] = param<[number, number]>(c, 'window');
    const [sh, sw] = param<[number, number]>(c, 'shift');
    const heads = param<number>(c, 'heads');
    await checkCase(c, (ctx, x) => {
      const window = { height: wh, width: ww };
      const n = wh * ww;
      const table = 'attn.relative_position_bias_table';
      const channels = ctx.sd.get('attn.proj.weight')?.shape[0] ?? 0;
      return windowSelfAttention(ctx, new WindowGrid(ctx, x, window), x, {
        channels,
        heads,
        shift: { rows: sh, cols: sw },
        qkvPrefix: 'attn.qkv',
        projPrefix: 'attn.proj',
        positionBias: storedPositionBias(ctx, table, 'window', swinRelativePositionIndex(window), n, n),
      });
    });
  });
}
