// DySample, the learned point-sampling upsampler (Liu et al. 2023, "Learning to Upsample by
// Learning to Sample"), as spandrel's __arch_helpers/dysample.py defines it: each of
// `groups` channel groups is resampled at scale² points per input pixel, each point the
// pixel's centre moved by a learned offset (offset conv · sigmoid(scope conv) · 0.5, plus
// the stored starting positions init_pos), with bilinear sampling clamped at the border.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { conv2d } from './conv';
import { sigmoid } from './activation';
import { gridSample } from './grid-sample';
import { pixelShuffle } from './shuffle';
import { runtimeDim, shapeVector } from './shape';

const FLOAT = 1;

export interface DySampleSpec {
  /** The module's prefix: `${prefix}.offset`, `.scope`, `.init_pos` and, when used, `.end_conv`. */
  readonly prefix: string;
  readonly channels: number;
  readonly scale: number;
  readonly groups: number;
  /** Whether a 1×1 conv maps the sampled channels to the output ones (`end_conv`). */
  readonly endConvolution: boolean;
}

/** Pixel centres along an axis of runtime length `length`, 0.5, 1.5, …, as float32 [length]. */
function centres(ctx: GraphContext, length: string, hint: string): string {
  const g = ctx.g;
  const count = g.op('Squeeze', [length, ctx.ints([0])]);
  const index = g.op('Range', [ctx.int64Scalar(0), count, ctx.int64Scalar(1)], {}, `${hint}_index`);
  return g.op('Add', [g.op('Cast', [index], { to: attr.int(FLOAT) }), ctx.scalar(0.5)], {}, `${hint}_centres`);
}

/** x [1, channels, H, W] → [1, channels (or end_conv's outputs), scale·H, scale·W]. */
export function dySample(ctx: GraphContext, x: string, spec: DySampleSpec): string {
  const g = ctx.g;
  const { prefix, scale, groups, channels } = spec;
  const points = groups * scale * scale;
  const gate = sigmoid(ctx, conv2d(ctx, x, `${prefix}.scope`));
  const moved = g.op('Mul', [g.op('Mul', [conv2d(ctx, x, `${prefix}.offset`), gate]), ctx.scalar(0.5)]);
  // [1, 2·points, H, W]: the x offsets of every group and point, then the y offsets.
  const offsets = g.op('Add', [moved, ctx.weight(`${prefix}.init_pos`)], {}, `${prefix}.offsets`);

  const height = runtimeDim(ctx, x, 2);
  const width = runtimeDim(ctx, x, 3);
  const floatSize = (length: string): string => g.op('Cast', [length], { to: attr.int(FLOAT) });
  const columnCentres = centres(ctx, width, 'dysample_x');
  const rowCentres = g.op('Unsqueeze', [centres(ctx, height, 'dysample_y'), ctx.ints([1])]);
  // spandrel's order: 2 · (centre + offset) / size − 1, grid_sample's normalised coordinates.
  const normalised = (offset: string, centre: string, size: string): string => {
    const doubled = g.op('Mul', [g.op('Add', [offset, centre]), ctx.scalar(2)]);
    return g.op('Sub', [g.op('Div', [doubled, floatSize(size)]), ctx.scalar(1)]);
  };
  const [xs, ys] = g.opN('Split', [offsets, ctx.ints([points, points])], 2, { axis: attr.int(1) }, 'dysample_xy');
  if (xs === undefined || ys === undefined) throw new Error('Split gave too few outputs');
  const coordinates = g.op(
    'Concat',
    [normalised(xs, columnCentres, width), normalised(ys, rowCentres, height)],
    { axis: attr.int(1) },
    'dysample_coordinates',
  );
  // Each point to its place in the scale·H × scale·W grid, then [groups, sH, sW, (x, y)].
  const spread = pixelShuffle(ctx, coordinates, scale);
  const outHeight = runtimeDim(ctx, spread, 2);
  const outWidth = runtimeDim(ctx, spread, 3);
  const byGroup = g.op('Reshape', [spread, shapeVector(ctx, [1, 2, groups, outHeight, outWidth])]);
  const grid = g.op(
    'Reshape',
    [
      g.op('Transpose', [byGroup], { perm: attr.ints([0, 2, 3, 4, 1]) }),
      shapeVector(ctx, [groups, outHeight, outWidth, 2]),
    ],
    {},
    'dysample_grid',
  );
  const grouped = g.op('Reshape', [x, ctx.ints([groups, channels / groups, 0, 0])], {}, 'dysample_groups');
  const sampled = gridSample(ctx, grouped, grid, { mode: 'bilinear', padding: 'border', alignCorners: false });
  const merged = g.op('Reshape', [sampled, ctx.ints([1, channels, 0, 0])], {}, 'dysample_merged');
  return spec.endConvolution ? conv2d(ctx, merged, `${prefix}.end_conv`) : merged;
}
