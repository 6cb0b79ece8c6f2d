// Convolutions against PyTorch: groups, depthwise, dilation, 17×17 kernels, rectangular
// kernels, stride, no bias; transposed convolutions with output padding and groups.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { conv2d, convTranspose2d } from '../../models/nn/conv';

type Pair = number | [number, number];

for (const c of casesOf('conv2d')) {
  test(`conv2d ${c.name}`, async () => {
    await checkCase(c, (ctx, x) =>
      conv2d(ctx, x, 'conv', {
        padding: 'padding' in c.params ? param<Pair>(c, 'padding') : 0,
        ...('stride' in c.params && { stride: param<Pair>(c, 'stride') }),
        ...('dilation' in c.params && { dilation: param<Pair>(c, 'dilation') }),
        ...('groups' in c.params && { groups: param<number>(c, 'groups') }),
      }),
    );
  });
}

test('conv2d pads to keep the size by default (dilation × (kernel − 1) / 2), as SR convs do', async () => {
  // The cases above that keep the size give their padding explicitly; the default must agree.
  for (const c of casesOf('conv2d').filter((v) => !('stride' in v.params) && 'padding' in v.params)) {
    await checkCase(c, (ctx, x) =>
      conv2d(ctx, x, 'conv', {
        ...('dilation' in c.params && { dilation: param<Pair>(c, 'dilation') }),
        ...('groups' in c.params && { groups: param<number>(c, 'groups') }),
      }),
    );
  }
});

for (const c of casesOf('conv_transpose2d')) {
  test(`conv_transpose2d ${c.name}`, async () => {
    await checkCase(c, (ctx, x) =>
      convTranspose2d(ctx, x, 'conv', {
        stride: param<Pair>(c, 'stride'),
        ...('padding' in c.params && { padding: param<Pair>(c, 'padding') }),
        ...('output_padding' in c.params && { outputPadding: param<Pair>(c, 'output_padding') }),
        ...('groups' in c.params && { groups: param<number>(c, 'groups') }),
      }),
    );
  });
}
