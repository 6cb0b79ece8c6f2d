// Pooling against PyTorch: global, adaptive to sizes that do not divide the input (cells of
// uneven extent), adaptive to sizes computed from the input in the graph (SAFMN's H // 8),
// and fixed windows.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { adaptivePool2d, pool2d, type PoolKind } from '../../models/nn/pool';
import { runtimeDim } from '../../models/nn/shape';

for (const c of casesOf('adaptive_pool')) {
  test(`${c.name}`, async () => {
    const kind = param<PoolKind>(c, 'kind');
    await checkCase(c, (ctx, x) => {
      if ('divisor' in c.params) {
        const divisor = ctx.ints([param<number>(c, 'divisor')]);
        const cells = (axis: number): string => ctx.g.op('Div', [runtimeDim(ctx, x, axis), divisor]);
        return adaptivePool2d(ctx, x, kind, cells(2), cells(3));
      }
      const [h, w] = param<[number, number]>(c, 'size');
      return adaptivePool2d(ctx, x, kind, h, w);
    });
  });
}

for (const c of casesOf('pool')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) =>
      pool2d(ctx, x, param<PoolKind>(c, 'kind'), {
        kernel: param<number>(c, 'kernel'),
        ...('stride' in c.params && { stride: param<number>(c, 'stride') }),
        ...('padding' in c.params && { padding: param<number>(c, 'padding') }),
      }),
    );
  });
}
