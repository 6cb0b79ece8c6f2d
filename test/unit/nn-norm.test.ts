// Normalisation layers against PyTorch: BatchNorm2d in eval mode, LayerNorm over the last
// axis (two eps), and the channels-first LayerNorm of SAFMN, RealPLKSR and SeemoRe.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { batchNorm, l2Normalize, layerNorm, layerNormChannelsFirst } from '../../models/nn/norm';

for (const c of casesOf('batch_norm')) {
  test(`batch norm ${c.name}`, async () => {
    await checkCase(c, (ctx, x) => batchNorm(ctx, x, 'norm', param<number>(c, 'eps')));
  });
}

for (const c of casesOf('layer_norm')) {
  test(`layer norm (last axis) ${c.name}`, async () => {
    await checkCase(c, (ctx, x) => layerNorm(ctx, x, 'norm', param<number>(c, 'eps')));
  });
}

for (const c of casesOf('layer_norm_channels_first')) {
  test(`layer norm (channels first) ${c.name}`, async () => {
    await checkCase(c, (ctx, x) => layerNormChannelsFirst(ctx, x, 'norm', param<number>(c, 'eps')));
  });
}

for (const c of casesOf('l2_normalize')) {
  test(`l2_normalize: ${c.name}`, async () => void (await checkCase(c, (ctx, x) => l2Normalize(ctx, x))));
}
