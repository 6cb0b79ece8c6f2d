// F.grid_sample: sample an NCHW map at normalised coordinates, as DySample's upsampler
// does (bilinear, align_corners=False, border padding). ONNX GridSample (opset 16) has
// PyTorch's definition, including the grid's (x, y) order in its last axis.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';

export interface GridSampleOptions {
  readonly mode: 'bilinear' | 'nearest' | 'bicubic';
  readonly padding: 'zeros' | 'border' | 'reflection';
  readonly alignCorners: boolean;
}

/** x [N, C, H, W] sampled at grid [N, Ho, Wo, 2] (x then y, in [−1, 1]) gives [N, C, Ho, Wo]. */
export function gridSample(ctx: GraphContext, x: string, grid: string, opts: GridSampleOptions): string {
  return ctx.g.op(
    'GridSample',
    [x, grid],
    {
      mode: attr.string(opts.mode),
      padding_mode: attr.string(opts.padding),
      align_corners: attr.int(opts.alignCorners ? 1 : 0),
    },
    'grid_sample',
  );
}
