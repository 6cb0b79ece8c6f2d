// F.interpolate on NCHW maps: nearest, bilinear and bicubic, with align_corners either way,
// to a scale factor or to a size known only at run time. PyTorch's coordinate mappings
// are ONNX Resize's: nearest is 'asymmetric' with floor; bilinear and bicubic are
// 'half_pixel' (align_corners=False) or 'align_corners'; bicubic uses a = −0.75 and clamps
// out-of-range taps to the edge, as PyTorch does.
import { attr, type Attr } from '../onnx/graph';
import type { GraphContext } from './context';

export type InterpolationMode = 'nearest' | 'bilinear' | 'bicubic';

export interface InterpolateOptions {
  readonly mode: InterpolationMode;
  /** PyTorch's align_corners; must be left out for nearest, which has none. */
  readonly alignCorners?: boolean;
}

function resizeAttrs(opts: InterpolateOptions): Record<string, Attr> {
  if (opts.mode === 'nearest') {
    if (opts.alignCorners !== undefined) throw new Error('nearest interpolation takes no align_corners');
    return {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    };
  }
  const coordinates = opts.alignCorners ? 'align_corners' : 'half_pixel';
  return {
    mode: attr.string(opts.mode === 'bilinear' ? 'linear' : 'cubic'),
    coordinate_transformation_mode: attr.string(coordinates),
    ...(opts.mode === 'bicubic' && { cubic_coeff_a: attr.float(-0.75), exclude_outside: attr.int(0) }),
  };
}

/** F.interpolate(x, scale_factor=factor, mode=…): both spatial axes scaled by `factor`. */
export function interpolateBy(ctx: GraphContext, x: string, factor: number, opts: InterpolateOptions): string {
  const scales = ctx.constant(`resize_scales_${factor}`, () => ({
    data: Float32Array.from([1, 1, factor, factor]),
    dims: [4],
  }));
  return ctx.g.op('Resize', [x, '', scales], resizeAttrs(opts), `resize_${opts.mode}`);
}

/** F.interpolate(x, size=(h, w), mode=…), `size` an int64 [2] tensor (runtime sizes allowed). */
export function interpolateTo(ctx: GraphContext, x: string, size: string, opts: InterpolateOptions): string {
  const batchAndChannels = ctx.g.op('Shape', [x], { start: attr.int(0), end: attr.int(2) });
  const sizes = ctx.g.op('Concat', [batchAndChannels, size], { axis: attr.int(0) }, 'resize_sizes');
  return ctx.g.op('Resize', [x, '', '', sizes], resizeAttrs(opts), `resize_${opts.mode}`);
}
