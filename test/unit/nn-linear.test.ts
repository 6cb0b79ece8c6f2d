// torch.nn.Linear over the last axis, with and without bias, against PyTorch.
import { test } from 'node:test';
import { casesOf, checkCase } from '../nn-vectors';
import { linear } from '../../models/nn/linear';

for (const c of casesOf('linear')) {
  test(`${c.name}`, async () => void (await checkCase(c, (ctx, x) => linear(ctx, x, 'fc'))));
}
