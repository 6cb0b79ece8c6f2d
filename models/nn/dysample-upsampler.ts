// DySample (Liu et al. 2023, "Learning to Upsample by Learning to Sample") as spandrel
// writes it (__arch_helpers/dysample.py, and FDAT's copy with a wider end conv): every
// input pixel becomes scale² points per channel group, each the pixel's centre moved by
// offset(x) · sigmoid(scope(x)) · 0.5 + init_pos, sampled bilinearly with the border
// clamped; an optional conv maps the sampled channels to the output's. For MoSR, MoESR
// and FDAT; kept apart from the DySample another branch adds, the two to be folded.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { conv2d } from './conv';
import { sigmoid } from './activation';
import { gridSample } from './grid-sample';
import { pixelShuffle } from './shuffle';
import { runtimeDim, shapeVector } from './shape';

const FLOAT = 1;

export interface DySampleUpsampler {
  /** `${prefix}.offset`, `.scope` (no bias), `.init_pos` and, when present, `.end_conv`. */
  readonly prefix: string;
  /** Channels of the map sampled; a multiple of `groups`. */
  readonly channels: number;
  readonly scale: number;
  readonly groups: number;
}

/** (0.5, 1.5, …) over a runtime length, as float32 [length]. */
function pixelCentres(ctx: GraphContext, length: string): string {
  const g = ctx.g;
  const count = g.op('Squeeze', [length, ctx.ints([0])]);
  const index = g.op('Range', [ctx.int64Scalar(0), count, ctx.int64Scalar(1)]);
  return g.op('Add', [g.op('Cast', [index], { to: attr.int(FLOAT) }), ctx.scalar(0.5)], {}, 'pixel_centres');
}

/** x [1, channels, H, W] to [1, channels or end_conv's outputs, scale·H, scale·W]. */
export function dySampleUpsampler(ctx: GraphContext, x: string, spec: DySampleUpsampler): string {
  const g = ctx.g;
  const { prefix, channels, scale, groups } = spec;
  const points = groups * scale * scale;
  const gate = sigmoid(ctx, conv2d(ctx, x, `${prefix}.scope`));
  const step = g.op('Mul', [g.op('Mul', [conv2d(ctx, x, `${prefix}.offset`), gate]), ctx.scalar(0.5)]);
  // Channels: every point's x offset, then every point's y offset.
  const offset = g.op('Add', [step, ctx.weight(`${prefix}.init_pos`)], {}, 'dysample_offset');
  const height = runtimeDim(ctx, x, 2);
  const width = runtimeDim(ctx, x, 3);
  const [dx, dy] = g.opN('Split', [offset, ctx.ints([points, points])], 2, { axis: attr.int(1) });
  if (dx === undefined || dy === undefined) throw new Error('Split gave fewer than two parts');
  // grid_sample's coordinates: 2 · (centre + offset) / size − 1, in spandrel's order of operations.
  const toGrid = (d: string, centres: string, size: string): string => {
    const twice = g.op('Mul', [g.op('Add', [d, centres]), ctx.scalar(2)]);
    return g.op('Sub', [g.op('Div', [twice, g.op('Cast', [size], { to: attr.int(FLOAT) })]), ctx.scalar(1)]);
  };
  const columns = pixelCentres(ctx, width);
  const rows = g.op('Unsqueeze', [pixelCentres(ctx, height), ctx.ints([1])]);
  const coordinates = g.op('Concat', [toGrid(dx, columns, width), toGrid(dy, rows, height)], { axis: attr.int(1) });
  // Each point to its output pixel: [1, 2·groups, sH, sW], then [groups, sH, sW, (x, y)].
  const placed = pixelShuffle(ctx, coordinates, scale);
  const outHeight = runtimeDim(ctx, placed, 2);
  const outWidth = runtimeDim(ctx, placed, 3);
  const split = g.op('Reshape', [placed, shapeVector(ctx, [2, groups, outHeight, outWidth])]);
  const grid = g.op('Transpose', [split], { perm: attr.ints([1, 2, 3, 0]) }, 'dysample_grid');
  const byGroup = g.op('Reshape', [x, ctx.ints([groups, channels / groups, 0, 0])]);
  const sampled = gridSample(ctx, byGroup, grid, { mode: 'bilinear', padding: 'border', alignCorners: false });
  const merged = g.op('Reshape', [sampled, ctx.ints([1, channels, 0, 0])], {}, 'dysample_sampled');
  return ctx.has(`${prefix}.end_conv.weight`) ? conv2d(ctx, merged, `${prefix}.end_conv`) : merged;
}
