// F.grid_sample against PyTorch, as DySample calls it (bilinear, align_corners=False,
// border padding, coordinates past the edges) and with zero padding and align_corners.
import { test } from 'node:test';
import { casesOf, checkCase, param } from '../nn-vectors';
import { gridSample, type GridSampleOptions } from '../../models/nn/grid-sample';

for (const c of casesOf('grid_sample')) {
  test(`${c.name}`, async () => {
    const opts: GridSampleOptions = {
      mode: param<GridSampleOptions['mode']>(c, 'mode'),
      padding: param<GridSampleOptions['padding']>(c, 'padding'),
      alignCorners: param<boolean>(c, 'alignCorners'),
    };
    await checkCase(c, (ctx, x, { grid }) => {
      if (grid === undefined) throw new Error(`${c.name} has no grid`);
      return gridSample(ctx, x, grid, opts);
    });
  });
}
