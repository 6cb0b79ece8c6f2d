// The model passes of one job and the final resize: decoded planes in, the output raster
// out. Pure compute: inference is passed in (tests give it fake models), and no file is
// read or written. Colour takes the RGB path, and a one-channel plane is wrapped around
// it as chaiNNer's convenient_upscale wraps any upscale: in as three equal channels, out
// as their mean. An image with alpha sends its alpha plane through that wrapper (when the
// model upscales alpha) beside its colour, pass by pass. Grey images arrive as RGB: the
// decoder spreads them to three channels and the encoder writes them grey again.
import { outside } from '../image/checked';
import type { PlanarImage, Raster } from '../image/types';
import { fitWindow, resizeLanczos } from './lanczos';
import { fillChannel, quantisePlanes, quantiseSample } from './quantise';
import { runTiledPass, type RowSink, type TileDone, type TileInference } from './tiled-pass';
import { MIN_TILE } from '../../contract/limits';
import type { JobPlan, PassLayout } from './job-plan';
import { ttaInference } from './tta';
import type { Size } from './plan';

/**
 * The planes a job starts from. runPasses replaces each by its pass's output (and by null
 * once it is in the raster), so each pass's input is freed as soon as that pass is done.
 */
export interface Planes {
  rgb: PlanarImage | null;
  alpha: PlanarImage | null;
}

export type PlaneKind = 'rgb' | 'alpha';

export interface PassHooks {
  /** Pass `pass` (0-based) starts. */
  readonly passStarted: (pass: number) => void;
  /** A tile of pass `pass` is done: `done` counts this pass's tiles over its planes, the alpha's first. */
  readonly tileDone: (pass: number, done: number, tile: TileDone, plane: PlaneKind) => void;
  /** Every pass is done; awaited before the final resize. */
  readonly passesDone: () => Promise<void>;
  /** The final Lanczos resize starts. */
  readonly resizing: () => void;
}

/** One model pass over an image, streaming its finished rows to `sink`. */
export type PlaneOperation = (image: PlanarImage, sink: RowSink) => Promise<void>;

/** Runs the plan's passes over `planes` with `infer`, then resizes and quantises into the output raster. */
export async function runPasses(
  plan: JobPlan,
  planes: Planes,
  infer: TileInference,
  signal: AbortSignal,
  hooks: PassHooks,
): Promise<Raster> {
  const output = new OutputRaster(plan);
  const run = ttaInference(infer, plan.tta, signal);
  const last = plan.layouts.length - 1;
  for (const [p, layout] of plan.layouts.entries()) {
    hooks.passStarted(p);
    /** The model over one plane, its tiles counted after the `before` of the planes that went first. */
    const modelPass =
      (plane: PlaneKind, before: number): PlaneOperation =>
      (image, sink) =>
        runTiledPass(
          image,
          run,
          passOptions(plan, layout, signal, (t) => hooks.tileDone(p, before + t.done, t, plane)),
          sink,
        );
    // The last pass is the output unless a resize follows: its rows are quantised straight
    // into the raster, so no float image of the output's size ever exists.
    const direct = p === last && !plan.geometry.resize;
    let before = 0;
    if (plan.planes === 2 && planes.alpha) {
      const alpha = throughGrey(modelPass('alpha', 0));
      planes.alpha = await passPlane(alpha, planes.alpha, layout.output, direct && output.rows(1, 3));
      before = layout.columns * layout.rows;
    }
    const rgb = modelPass('rgb', before);
    planes.rgb = await passPlane(rgb, present(planes.rgb), layout.output, direct && output.rows(3, 0));
  }
  await hooks.passesDone();
  resizeInto(output, plan, planes, hooks);
  return output.take();
}

/** A one-channel image through an RGB operation: the plane as three equal channels in, their mean out. */
export function throughGrey(operation: PlaneOperation): PlaneOperation {
  return (plane, sink) =>
    operation({ ...plane, channels: 3, data: greyAsRgb(plane.data) }, (y, count, rows) =>
      sink(y, count, meanOfChannels(rows)),
    );
}

function passOptions(plan: JobPlan, layout: PassLayout, signal: AbortSignal, onTile: (tile: TileDone) => void) {
  return {
    tileWidth: layout.tileWidth,
    tileHeight: layout.tileHeight,
    overlap: 2 * plan.overlap,
    edgePad: plan.edgePad,
    // Without a border, reads stay inside the image but for the pad to the input multiple, which mirrors.
    padding: plan.padding === 'wrap' ? ('wrap' as const) : ('reflect' as const),
    scale: plan.model.scale,
    inputMultiple: plan.model.inputMultiple,
    minTile: MIN_TILE,
    signal,
    onTile,
  };
}

/** One plane through one pass: into the next pass's image of `size`, or (null back) straight into the raster. */
async function passPlane(
  operation: PlaneOperation,
  image: PlanarImage,
  size: Size,
  raster: RowSink | false,
): Promise<PlanarImage | null> {
  if (raster) {
    await operation(image, raster);
    return null;
  }
  const { width, height } = size;
  const data = new Float32Array(image.channels * width * height);
  await operation(image, (y, count, rows) => {
    for (let c = 0; c < image.channels; c++)
      data.set(rows.subarray(c * count * width, (c + 1) * count * width), c * width * height + y * width);
  });
  return { width, height, channels: image.channels, data };
}

/** The final Lanczos resize of what the passes left in float (all of it, or the alpha alone), into the raster. */
function resizeInto(output: OutputRaster, plan: JobPlan, planes: Planes, hooks: PassHooks): void {
  const { content, fit, resize } = plan.geometry;
  const wrap = plan.padding === 'wrap';
  const fitted = (img: PlanarImage): PlanarImage =>
    img.width === content.width && img.height === content.height
      ? img
      : resizeLanczos(
          img,
          content.width,
          content.height,
          fitWindow(img.width, img.height, content.width, content.height, fit === 'cover' ? 'cover' : 'fill'),
          wrap,
        );
  if (resize) {
    hooks.resizing();
    output.content(fitted(present(planes.rgb)), 0);
    planes.rgb = null;
  }
  // Lanczos alpha mode, or the model's alpha before the final resize.
  if (planes.alpha) output.content(fitted(planes.alpha), 3);
  planes.alpha = null;
}

/**
 * The output raster, allocated when the first rows arrive (not while earlier passes still
 * hold their images), the padding and the alpha of content without its own filled in.
 */
class OutputRaster {
  private data: Uint8Array | Uint16Array | null = null;

  constructor(private readonly plan: JobPlan) {}

  /** A sink for the last pass's rows of `planes` planes, into channels from `first`. */
  rows(planes: number, first: number): RowSink {
    return (y, count, rows) => this.write(y, count, rows, planes, first);
  }

  /** A content-sized image, into channels from `first`. */
  content(image: PlanarImage, first: number): void {
    this.write(0, image.height, image.data, image.channels, first);
  }

  private write(y: number, count: number, rows: Float32Array, planes: number, first: number): void {
    const { final, content } = this.plan.geometry;
    const { channels } = this.plan;
    quantisePlanes(
      this.raster(),
      final.width,
      channels,
      content.x,
      content.y + y,
      content.width,
      count,
      rows,
      planes,
      first,
    );
  }

  take(): Raster {
    const { final } = this.plan.geometry;
    return {
      width: final.width,
      height: final.height,
      channels: this.plan.channels,
      depth: this.plan.depth,
      data: this.raster(),
    };
  }

  private raster(): Uint8Array | Uint16Array {
    if (this.data) return this.data;
    const { geometry, channels, depth, background } = this.plan;
    const { width, height } = geometry.final;
    const size = width * height * channels;
    const data = depth === 16 ? new Uint16Array(size) : new Uint8Array(size);
    const max = depth === 16 ? 65535 : 255;
    if (background !== null) {
      const { r, g, b, a } = background.rgba;
      [r, g, b, a]
        .slice(0, channels)
        .forEach((v, c) => fillChannel(data, width, channels, 0, 0, width, height, c, quantiseSample(v, max)));
    }
    // Content without an alpha plane of its own is opaque (its alpha is never written otherwise).
    const { content } = geometry;
    if (channels === 4 && !this.plan.hasAlpha)
      fillChannel(data, width, channels, content.x, content.y, content.width, content.height, 3, max);
    this.data = data;
    return data;
  }
}

function present(image: PlanarImage | null): PlanarImage {
  if (image === null) throw new Error('internal: a plane was read after it went into the raster');
  return image;
}

function greyAsRgb(plane: Float32Array): Float32Array {
  const out = new Float32Array(plane.length * 3);
  out.set(plane, 0);
  out.set(plane, plane.length);
  out.set(plane, plane.length * 2);
  return out;
}

function meanOfChannels(rows: Float32Array): Float32Array {
  const plane = rows.length / 3;
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    const r = rows[i];
    const g = rows[plane + i];
    const b = rows[2 * plane + i];
    if (r === undefined || g === undefined || b === undefined) throw outside('meanOfChannels', i);
    out[i] = (r + g + b) / 3;
  }
  return out;
}
