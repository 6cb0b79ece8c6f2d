// PixelShuffle and pixel_unshuffle channel orders against PyTorch.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { pixelShuffle, pixelUnshuffle } from '../../models/nn/shuffle';

for (const c of casesOf('pixel_shuffle')) {
  test(`${c.name}`, async () => void (await checkCase(c, (ctx, x) => pixelShuffle(ctx, x, param<number>(c, 'r')))));
}

for (const c of casesOf('pixel_unshuffle')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) => pixelUnshuffle(ctx, x, param<number>(c, 'r'), param<number>(c, 'channels')));
  });
}
