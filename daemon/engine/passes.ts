// The model passes of one job and the final resize: decoded planes in, the output raster
// out. Pure compute: inference is passed in (tests give it fake models), and no file is
// read or written. Each plane meets the model's channels through adaptChannels
// (channels.ts). An image with alpha sends its alpha plane through the model (when the
// model upscales alpha) beside its colour, pass by pass, or, for an RGBA model, inside the
// colour tiles. Grey images arrive as RGB: the decoder spreads them to three channels and
// the encoder writes them grey again.
import { outside } from '../image/checked';
import type { PlanarImage, Raster } from '../image/types';
import { adaptChannels, modelChannels } from './channels';
import { fitWindow, resizeLanczos } from './lanczos';
import { fillChannel, quantisePlanes, quantiseSample } from './quantise';
import { runTiledPass, type RowSink, type TileDone, type TileInference } from './tiled-pass';
import { MIN_TILE } from '../../contract/limits';
import type { JobPlan, PassLayout, PipelineModel } from './job-plan';
import { ttaInference } from './tta';
import type { Size } from './plan';

/**
 * The planes a job starts from. runPasses replaces each by its pass's output (and by null
 * once it is in the raster), so each pass's input is freed as soon as that pass is done.
 */
export interface Planes {
  /** The colour: 3 planes, 4 once an RGBA model's alpha has joined them. */
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
  /** A tile of pass `pass` ran out of memory: its tiles are at most `to` pixels per side from now on. */
  readonly smallerTiles?: (pass: number, from: number, to: number, why: string) => void;
}

/** One model pass over an image, streaming its finished rows to `sink`. */
export type PlaneOperation = (image: PlanarImage, sink: RowSink) => Promise<void>;

/**
 * Who reads the output raster as it fills (a PNG written as the job runs): the raster is
 * then in shared memory, and they are told which rows are final.
 */
export interface RasterWatch {
  /** The raster exists (empty); what comes back is told, each time, that every row above `rows` is final. */
  readonly allocated: (raster: Raster) => (rows: number) => void;
}

/**
 * The inference of a model, asked for as each of its passes starts: a pass holds its own
 * model's session, so a chain of large models never needs them all resident at once.
 */
export type ModelInference = (model: PipelineModel) => Promise<TileInference>;

/**
 * Runs the plan's passes over `planes` with each pass's model, then resizes and quantises
 * into the output raster. A blend's passes run first, from the image the main model starts
 * from; their result, fitted to the content, is mixed into the output's rows as they are
 * quantised.
 */
export async function runPasses(
  plan: JobPlan,
  planes: Planes,
  infer: ModelInference,
  signal: AbortSignal,
  hooks: PassHooks,
  watch?: RasterWatch,
): Promise<Raster> {
  const output = new OutputRaster(plan, watch);
  // A blend's passes come before the main model's, so the last pass is the output's.
  const last = plan.layouts.length - 1;
  /** The blend's image: its passes' output, then fitted to the content once they are done. */
  let blend: PlanarImage | null = null;
  if (plan.alphaWithColour && planes.alpha) {
    planes.rgb = withAlpha(present(planes.rgb), planes.alpha);
    planes.alpha = null;
  }
  for (const [p, layout] of plan.layouts.entries()) {
    hooks.passStarted(p);
    const run = ttaInference(await infer(layout.model), plan.tta, signal);
    /** The model over one plane, its tiles counted after the `before` of the planes that went first. */
    const modelPass =
      (plane: PlaneKind, before: number): PlaneOperation =>
      (image, sink) =>
        runTiledPass(
          image,
          adaptChannels(run, modelChannels(layout.model), image.channels),
          {
            ...passOptions(plan, layout, signal, (t) => hooks.tileDone(p, before + t.done, t, plane)),
            onSmallerTiles: (from: number, to: number, why: string) => hooks.smallerTiles?.(p, from, to, why),
          },
          sink,
        );
    if (layout.branch === 'blend') {
      blend = await passPlane(modelPass('rgb', 0), blend ?? present(planes.rgb), layout.output, false);
      if (plan.layouts[p + 1]?.branch !== 'blend') blend = fitToContent(plan, present(blend));
      continue;
    }
    // The last pass is the output unless a resize follows: its rows are quantised straight
    // into the raster, so no float image of the output's size ever exists.
    const direct = p === last && !plan.geometry.resize;
    let before = 0;
    if (plan.planes === 2 && planes.alpha) {
      const alpha = modelPass('alpha', 0);
      planes.alpha = await passPlane(alpha, planes.alpha, layout.output, direct && output.rows(1, 3));
      before = layout.columns * layout.rows;
    }
    const colour = present(planes.rgb);
    const rgb = modelPass('rgb', before);
    // The colour's rows are final as they come, unless an alpha is still to be written (Lanczos').
    const final = planes.alpha === null;
    const rows = direct && mixedRows(output.rows(colour.channels, 0, final), blend, plan.blend?.weight ?? 0);
    planes.rgb = await passPlane(rgb, colour, layout.output, rows);
  }
  await hooks.passesDone();
  resizeInto(output, plan, planes, blend, hooks);
  return output.take();
}

/** A sink that mixes `blend` (content-sized) into each chunk of rows before `sink` takes it: `(1 − weight)·rows + weight·blend`. */
function mixedRows(sink: RowSink, blend: PlanarImage | null, weight: number): RowSink {
  if (blend === null) return sink;
  return (y, count, rows) => {
    mixInto(rows, blend, y, count, weight);
    return sink(y, count, rows);
  };
}

/**
 * Rows [y, y + count) of `blend` mixed into `rows` (planar, the blend's width and channels),
 * in place. Each side is taken as its own result would be written, inside [0, 1] (models
 * overshoot), and mixed unrounded: the two single-model results mixed.
 */
export function mixInto(rows: Float32Array, blend: PlanarImage, y: number, count: number, weight: number): void {
  const { width, height, channels } = blend;
  const span = count * width;
  if (rows.length !== channels * span) throw new RangeError(`mixInto: ${rows.length} samples for ${channels}x${span}`);
  for (let c = 0; c < channels; c++) {
    const from = c * width * height + y * width;
    for (let i = 0; i < span; i++) {
      const a = rows[c * span + i];
      const b = blend.data[from + i];
      if (a === undefined || b === undefined) throw outside('mixInto', i);
      rows[c * span + i] = (1 - weight) * clamp01(a) + weight * clamp01(b);
    }
  }
}

function passOptions(plan: JobPlan, layout: PassLayout, signal: AbortSignal, onTile: (tile: TileDone) => void) {
  return {
    tileWidth: layout.tileWidth,
    tileHeight: layout.tileHeight,
    overlap: 2 * plan.overlap,
    edgePad: plan.edgePad,
    // Without a border, reads stay inside the image but for the pad to the input multiple, which mirrors.
    padding: plan.padding === 'wrap' ? ('wrap' as const) : ('reflect' as const),
    scale: layout.model.scale,
    inputMultiple: layout.model.inputMultiple,
    fixedSize: layout.model.io?.fixedSize,
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

/** A pass's output fitted to the content's size by Lanczos (as it is when it has that size). */
function fitToContent(plan: JobPlan, img: PlanarImage): PlanarImage {
  const { content, fit } = plan.geometry;
  if (img.width === content.width && img.height === content.height) return img;
  const window = fitWindow(img.width, img.height, content.width, content.height, fit === 'cover' ? 'cover' : 'fill');
  return resizeLanczos(img, content.width, content.height, window, plan.padding === 'wrap');
}

/** The final Lanczos resize of what the passes left in float (all of it, or the alpha alone), into the raster, the blend mixed in. */
function resizeInto(
  output: OutputRaster,
  plan: JobPlan,
  planes: Planes,
  blend: PlanarImage | null,
  hooks: PassHooks,
): void {
  if (plan.geometry.resize) {
    hooks.resizing();
    const rgb = fitToContent(plan, present(planes.rgb));
    if (blend) mixInto(rgb.data, blend, 0, rgb.height, plan.blend?.weight ?? 0);
    output.content(rgb, 0);
    planes.rgb = null;
  }
  // Lanczos alpha mode, or the model's alpha before the final resize.
  if (planes.alpha) output.content(fitToContent(plan, planes.alpha), 3);
  planes.alpha = null;
}

/**
 * The output raster, allocated when the first rows arrive (not while earlier passes still
 * hold their images), the padding and the alpha of content without its own filled in.
 */
class OutputRaster {
  private data: Uint8Array | Uint16Array | null = null;
  private final: ((rows: number) => void) | null = null;

  constructor(
    private readonly plan: JobPlan,
    private readonly watch: RasterWatch | undefined,
  ) {}

  /**
   * A sink for the last pass's rows of `planes` planes, into channels from `first`; with
   * `final`, each chunk makes the rows down to it final (nothing else is written to them).
   */
  rows(planes: number, first: number, final = false): RowSink {
    return (y, count, rows) => {
      this.write(y, count, rows, planes, first);
      if (final) this.final?.(this.plan.geometry.content.y + y + count);
    };
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
    const raster = this.shaped(this.raster());
    this.final?.(raster.height);
    return raster;
  }

  private shaped(data: Uint8Array | Uint16Array): Raster {
    const { final } = this.plan.geometry;
    return { width: final.width, height: final.height, channels: this.plan.channels, depth: this.plan.depth, data };
  }

  private raster(): Uint8Array | Uint16Array {
    if (this.data) return this.data;
    const { geometry, channels, depth, background } = this.plan;
    const { width, height } = geometry.final;
    const size = width * height * channels;
    // A watcher may read from another thread: its raster is in shared memory.
    const memory = this.watch ? new SharedArrayBuffer(size * (depth / 8)) : new ArrayBuffer(size * (depth / 8));
    const data = depth === 16 ? new Uint16Array(memory) : new Uint8Array(memory);
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
    if (this.watch) {
      this.final = this.watch.allocated(this.shaped(data));
      // The padding above the content is final already.
      this.final(content.y);
    }
    return data;
  }
}

function present(image: PlanarImage | null): PlanarImage {
  if (image === null) throw new Error('internal: a plane was read after it went into the raster');
  return image;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** The colour planes with the alpha plane after them: what an RGBA model takes. */
function withAlpha(rgb: PlanarImage, alpha: PlanarImage): PlanarImage {
  const data = new Float32Array(4 * rgb.width * rgb.height);
  data.set(rgb.data);
  data.set(alpha.data, rgb.data.length);
  return { ...rgb, channels: 4, data };
}
