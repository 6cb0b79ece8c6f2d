// F.interpolate against PyTorch: nearest, bilinear and bicubic, align_corners both ways, to
// a scale factor and to a size given at run time.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { interpolateBy, interpolateTo, type InterpolateOptions, type InterpolationMode } from '../../models/nn/resize';

for (const c of casesOf('interpolate')) {
  test(`${c.name}`, async () => {
    const mode = param<InterpolationMode>(c, 'mode');
    const opts: InterpolateOptions =
      mode === 'nearest' ? { mode } : { mode, alignCorners: param<boolean>(c, 'alignCorners') };
    await checkCase(c, (ctx, x) =>
      'scale' in c.params
        ? interpolateBy(ctx, x, param<number>(c, 'scale'), opts)
        : interpolateTo(ctx, x, ctx.ints(param<number[]>(c, 'size')), opts),
    );
  });
}
