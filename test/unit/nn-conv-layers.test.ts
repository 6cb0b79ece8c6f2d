// Mish, GroupNorm and DySample against PyTorch (test/fixtures/nn/, made by its
// make_vectors.py; DySample is spandrel's own class): each layer built with models/nn/ into
// a one-layer graph with every axis but the batch left to run time, run with onnxruntime,
// and compared with PyTorch's output.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { casesOf, checkCase, param } from '../nn-vectors';
import { mish } from '../../models/nn/activation';
import { groupNorm } from '../../models/nn/norm';
import { dySample } from '../../models/nn/dysample';

for (const c of casesOf('mish')) {
  test(`mish: ${c.name}`, async () => {
    await checkCase(c, (ctx, x) => mish(ctx, x));
  });
}

for (const c of casesOf('group_norm')) {
  test(`group_norm: ${c.name}`, async () => {
    await checkCase(c, (ctx, x) => groupNorm(ctx, x, 'norm', param<number>(c, 'groups'), param<number>(c, 'eps')));
  });
}

for (const c of casesOf('dysample')) {
  test(`dysample: ${c.name}`, async () => {
    const endConvolution = param<boolean>(c, 'endConvolution');
    assert.equal(typeof endConvolution, 'boolean');
    await checkCase(c, (ctx, x) =>
      dySample(ctx, x, {
        prefix: 'to_img',
        channels: param<number>(c, 'channels'),
        scale: param<number>(c, 'scale'),
        groups: param<number>(c, 'groups'),
        endConvolution,
      }),
    );
  });
}
