// One upscale job from file to file: check everything that can be checked before any
// work (paths, sizes, format limits), decode, run the planned passes, resize, quantise
// once, encode to a temporary file beside the target, and rename it into place. A
// failed or cancelled job removes its temporary file, so nothing partial is left.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { DaemonError, throwIfCancelled, WRITE_FAILURES } from '../../contract/errors';
import { DEFAULT_OVERLAP, MIN_TILE } from '../../contract/limits';
import type { PlannedPass, ProgressParams, UpscalePlan, UpscaleResult, UpscaleTimings } from '../../contract/protocol';
import {
  DEFAULT_PADDING,
  type AlphaMode,
  type ExecutionProvider,
  type OutputFormat,
  type Padding,
  type Target,
} from '../../contract/vocabulary';
import { parseBackground, type Rgba } from '../../contract/request';
import { decodeImage, readImageHeader, readImageTraits } from '../image/decode';
import { encodeImage } from '../image/encode';
import {
  ALPHA_FORMATS,
  SIXTEEN_BIT_FORMATS,
  checkOutputSize,
  extensionFor,
  formatForName,
  outputFormatFor,
} from '../../contract/formats';
import type { DecodedImage, SourceInfo } from '../image/types';
import { planPasses, type PassPlan, type Size } from './plan';
import { passGrid, runTiledPass, type PlanarImage, type TileDone, type TileInference } from './tiled-pass';
import { fitWindow, resizeLanczos, type Window } from './lanczos';
import { fillChannel, quantisePlanes, quantiseSample } from './quantise';
import { applyTemplate, DEFAULT_TEMPLATE, templateExtension } from '../../contract/naming';
import { checkNamedOutput, freePath, NameTaken, partialPath, placeFile } from './output-path';
import { autoMaxCore, chooseTile } from './tile-size';
import { EtaTracker, ThroughputMemory, type Work } from './eta';
import {
  SIDECAR_FORMAT,
  runtimeVersions,
  sha256Bytes,
  sha256File,
  sidecarPathFor,
  weightsSha256,
  writeSidecar,
  type Sidecar,
} from './sidecar';

export interface PipelineRequest {
  readonly input: string;
  readonly output?: string;
  readonly template?: string;
  readonly target: Target;
  /** Tile size in input pixels, 0 for the whole image, undefined for automatic. */
  readonly tile?: number;
  readonly overlap?: number;
  readonly format?: OutputFormat;
  readonly quality?: number;
  readonly alpha: AlphaMode;
  readonly overwrite: boolean;
  readonly previewWidth?: number;
  /** With previewWidth: a preview every this many finished tiles of a pass, and its last. */
  readonly previewEvery?: number;
  /** Padding colour for fit 'contain': `#rrggbb`, `#rgb` or `transparent`. */
  readonly background?: string;
  readonly padding?: Padding;
  /** Plan and check only; nothing is decoded, run or written. */
  readonly dryRun?: boolean;
  /** Write the reproducibility record beside the output. */
  readonly sidecar?: boolean;
  /** The request as received, for the sidecar. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Why this model was chosen, for the plan. */
  readonly modelReason?: string;
}

export interface PipelineModel {
  readonly id: string;
  readonly scale: number;
  readonly inputMultiple: number;
  /** The ONNX file, hashed into the sidecar. */
  readonly onnxPath?: string;
  /** Peak activation bytes per input pixel, when known: heavy models get smaller automatic tiles. */
  readonly activationBytesPerPixel?: number | null;
}

/** A progress notification before the daemon adds the job and request ids. */
export type ProgressUpdate = Omit<ProgressParams, 'jobId' | 'requestId' | 'queuePosition'>;

export interface PipelineContext {
  readonly jobId: string;
  readonly model: PipelineModel;
  readonly provider: ExecutionProvider;
  /** Loads (or finds resident) the model's session; called after the input checks pass. */
  readonly load: () => Promise<TileInference>;
  /** The request's: aborted when it is cancelled, and the job then stops before its next tile. */
  readonly signal: AbortSignal;
  readonly progress: (update: ProgressUpdate) => void;
  /** Told each temporary file before it is written, so that a daemon killed mid-write has it removed by the next one (daemon/temp-files.ts). */
  readonly temporaryFile?: (file: string) => void;
  /** Pixel limits, and the machine's memory (for the automatic tile size). */
  readonly limits: { readonly maxInputPixels: number; readonly maxOutputPixels: number; readonly memoryBytes: number };
  /** Tile throughput remembered across jobs (default: one per daemon process). */
  readonly throughput?: ThroughputMemory;
  /** The daemon's version, for the sidecar. */
  readonly daemonVersion?: string;
  /** Clock in milliseconds (default performance.now). */
  readonly now?: () => number;
}

/** Tile throughput per model, provider and tile size, for the life of the daemon process. */
const daemonThroughput = new ThroughputMemory();

/**
 * Mirrored border around the image with `padding: 'reflect'`, in input pixels. Not the
 * default: a whole-image run with it is no longer the model's own output, and on five
 * photos and two models the outer 8 output pixels of a crop came out closer to the same
 * model run with the crop's real surroundings without it in 8 cases of 10, level in one
 * and 0.3 dB behind in one (`npm run bench -- --only border`).
 */
export const EDGE_PAD = 4;

/**
 * The border added around the image. None by default. Mirrored, it is context for edge
 * tiles, so it is no wider than the context inner tiles get: with --overlap 0 a 512 px
 * tile covers a 512 px image in one piece, not two. With wrap padding the image's edges
 * are seams inside a repeating texture, so they get the context a seam between tiles gets
 * (2 x overlap).
 */
export function edgePadFor(padding: Padding, overlap: number): number {
  switch (padding) {
    case 'none':
      return 0;
    case 'reflect':
      return Math.min(EDGE_PAD, overlap);
    case 'wrap':
      return Math.max(EDGE_PAD, 2 * overlap);
  }
}
/** Largest output raster: one typed array, which Node 20 limits to 2^32 bytes. */
export const MAX_RASTER_BYTES = 2 ** 32;

async function checkInput(file: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new DaemonError('InputNotFound', `${file}: no such file`, file);
  }
  if (stat.isDirectory()) throw new DaemonError('DecodeFailed', `${file}: is a folder, not an image file`, file);
  if (!stat.isFile()) throw new DaemonError('DecodeFailed', `${file}: is not a regular file`, file);
}

function asDecodeError(file: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const tooLarge = /pixel limit|too large|exceeds/i.test(message);
  return new DaemonError(
    tooLarge ? 'ImageTooLarge' : 'DecodeFailed',
    message.includes(file) ? message : `${file}: ${message}`,
    file,
  );
}

/** Where the output goes, decided before any work. `named`: the user gave the file name, so it is kept or refused, never changed. */
interface OutputTarget {
  file: string;
  readonly format: OutputFormat;
  readonly named: boolean;
}

/** Where the output goes, before any work: folder, template, format, clash handling. */
async function resolveOutput(
  req: PipelineRequest,
  model: PipelineModel,
  input: Size & { format: string },
  final: Size,
): Promise<OutputTarget> {
  const parsed = path.parse(req.input);
  let folder = parsed.dir;
  let name: string | undefined;
  if (req.output) {
    const isFolder =
      req.output.endsWith(path.sep) ||
      (await fs.stat(req.output).then(
        (s) => s.isDirectory(),
        () => false,
      ));
    if (isFolder) folder = req.output;
    else {
      folder = path.dirname(req.output);
      name = path.basename(req.output);
    }
  }
  const named = name !== undefined;
  const scale = req.target.kind === 'scale' ? req.target.scale : final.width / input.width;
  let format: OutputFormat;
  try {
    if (name !== undefined) format = formatForName(path.join(folder, name), req.format);
    else {
      const fallback = outputFormatFor(input, req.format);
      const template = req.template ?? DEFAULT_TEMPLATE;
      name = applyTemplate(template, {
        name: parsed.name,
        scale,
        width: final.width,
        height: final.height,
        model: model.id,
        ext: extensionFor(fallback).replace(/^\./, ''),
      });
      const ext = templateExtension(template);
      format = ext === '{ext}' ? fallback : formatForName(path.join(folder, name), req.format, ext);
    }
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message, req.output);
  }
  const folderStat = await fs.stat(folder).catch(() => null);
  if (!folderStat?.isDirectory())
    throw new DaemonError('OutputNotWritable', `${folder}: output folder does not exist`, folder);
  const wanted = path.join(folder, name);
  return {
    file: named ? await namedOutput(wanted, req) : await freePath(wanted, req.input, req.overwrite),
    format,
    named,
  };
}

async function namedOutput(file: string, req: PipelineRequest): Promise<string> {
  try {
    await checkNamedOutput(file, req.input, req.overwrite);
    // Its record is named by the user's name too, so the same promise covers it.
    if (req.sidecar) await checkNamedOutput(sidecarPathFor(file), req.input, req.overwrite);
  } catch (e) {
    throw new DaemonError('OutputNotWritable', (e as Error).message, file);
  }
  return file;
}

function writeError(file: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  if (e instanceof NameTaken) return new DaemonError('OutputNotWritable', e.message, e.file);
  const err = e as NodeJS.ErrnoException;
  const why = WRITE_FAILURES;
  // libvips reports write failures as text without an errno code.
  const text = err.message || String(e);
  const fromText = /No space left on device/i.test(text)
    ? why.ENOSPC
    : /Read-only file system/i.test(text)
      ? why.EROFS
      : /Permission denied/i.test(text)
        ? why.EACCES
        : /Disk quota exceeded/i.test(text)
          ? why.EDQUOT
          : undefined;
  const reason = (err.code && why[err.code]) ?? fromText ?? text.split('\n')[0];
  return new DaemonError('OutputNotWritable', `${file}: cannot write the output: ${reason}`, file);
}

/** Grey image through a 3-channel model: the plane repeated three times in, the mean out. */
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
  for (let i = 0; i < plane; i++)
    out[i] = ((rows[i] as number) + (rows[plane + i] as number) + (rows[2 * plane + i] as number)) / 3;
  return out;
}

async function encodePreview(pixels: PlanarImage, width: number, height: number): Promise<string> {
  const small = resizeLanczos(pixels, width, height);
  const raster = new Uint8Array(width * height * 3);
  quantisePlanes(raster, width, 3, 0, 0, width, height, small.data, 3, 0);
  const png = await sharp(raster, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return png.toString('base64');
}

/** One pass's geometry: input size, tile and grid. */
interface PassLayout {
  readonly input: Size;
  readonly output: Size;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly columns: number;
  readonly rows: number;
  /** The tensor the model sees per tile (padded extent when one tile spans an axis). */
  readonly tensorWidth: number;
  readonly tensorHeight: number;
}

function passLayouts(
  input: Size,
  plan: PassPlan,
  tile: number | undefined,
  overlap: number,
  edgePad: number,
  maxCore: number,
): PassLayout[] {
  const layouts: PassLayout[] = [];
  let current = input;
  for (const output of plan.passSizes) {
    const t = chooseTile(tile, current.width + 2 * edgePad, current.height + 2 * edgePad, overlap, maxCore);
    const grid = passGrid(current, { tileWidth: t.width, tileHeight: t.height, overlap: 2 * overlap, edgePad });
    const c0 = grid.cols[0] as { start: number; end: number };
    const r0 = grid.rows[0] as { start: number; end: number };
    layouts.push({
      input: current,
      output,
      tileWidth: t.width,
      tileHeight: t.height,
      columns: grid.cols.length,
      rows: grid.rows.length,
      tensorWidth: c0.end - c0.start,
      tensorHeight: r0.end - r0.start,
    });
    current = output;
  }
  return layouts;
}

/** The padding colour, or null when the output has no padding. */
function resolveBackground(
  req: PipelineRequest,
  plan: PassPlan,
  format: OutputFormat,
  warnings: string[],
): { text: string; rgba: Rgba } | null {
  const padded = plan.content.width !== plan.final.width || plan.content.height !== plan.final.height;
  if (!padded) return null;
  const canAlpha = ALPHA_FORMATS.has(format);
  let text = req.background ?? (canAlpha ? 'transparent' : '#ffffff');
  let rgba = parseBackground(text);
  if (rgba === null)
    throw new DaemonError('InvalidParams', `upscale: 'background' is "${text}"; expected #rrggbb, #rgb or transparent`);
  if (rgba.a === 0 && !canAlpha) {
    warnings.push(
      `${format.toUpperCase()} cannot store transparency: the padding is white. Choose PNG, WebP, TIFF or AVIF, or --background.`,
    );
    text = '#ffffff';
    rgba = { r: 1, g: 1, b: 1, a: 1 };
  }
  return { text, rgba };
}

function describePlan(
  req: PipelineRequest,
  ctx: PipelineContext,
  input: Size,
  plan: PassPlan,
  layouts: readonly PassLayout[],
  alphaPlanes: number,
  background: { text: string } | null,
  hasAlpha: boolean,
  out: { file: string; format: OutputFormat },
  channels: number,
  depth: number,
): UpscalePlan {
  const passes: PlannedPass[] = layouts.map((l) => ({
    model: ctx.model.id,
    scale: ctx.model.scale,
    inputWidth: l.input.width,
    inputHeight: l.input.height,
    outputWidth: l.output.width,
    outputHeight: l.output.height,
    tileWidth: l.tensorWidth,
    tileHeight: l.tensorHeight,
    overlap: 2 * (req.overlap ?? DEFAULT_OVERLAP),
    columns: l.columns,
    rows: l.rows,
    tiles: l.columns * l.rows * alphaPlanes,
  }));
  const last = plan.passSizes[plan.passSizes.length - 1] as Size;
  return {
    inputWidth: input.width,
    inputHeight: input.height,
    model: ctx.model.id,
    modelReason: req.modelReason ?? 'named in the request',
    passes,
    finalResize: plan.resize
      ? { fromWidth: last.width, fromHeight: last.height, toWidth: plan.content.width, toHeight: plan.content.height }
      : null,
    fit: plan.fit,
    content: plan.content,
    background: background?.text ?? null,
    padding: req.padding ?? DEFAULT_PADDING,
    alpha: hasAlpha ? req.alpha : null,
    outputPath: out.file,
    format: out.format,
    width: plan.final.width,
    height: plan.final.height,
    channels,
    depth,
  };
}

function etaWork(ctx: PipelineContext, layouts: readonly PassLayout[], alphaPlanes: number): Work[] {
  return layouts.map((l) => ({
    key: { model: ctx.model.id, provider: ctx.provider, tileWidth: l.tensorWidth, tileHeight: l.tensorHeight },
    tiles: l.columns * l.rows * alphaPlanes,
  }));
}

function outputDepth(sourceDepth: 8 | 16, format: OutputFormat): 8 | 16 {
  return sourceDepth === 16 && SIXTEEN_BIT_FORMATS.has(format) ? 16 : 8;
}

export async function runPipeline(req: PipelineRequest, ctx: PipelineContext): Promise<UpscaleResult> {
  const checkpoint = () => throwIfCancelled(ctx.signal);
  const now = ctx.now ?? (() => performance.now());
  const started = now();
  await checkInput(req.input);
  const inputHash = req.sidecar && !req.dryRun ? sha256File(req.input) : null;
  inputHash?.catch(() => undefined);
  const header = await readImageHeader(req.input).catch((e: unknown) => {
    throw asDecodeError(req.input, e);
  });
  const inputSize: Size = { width: header.width, height: header.height };
  if (header.width * header.height > ctx.limits.maxInputPixels) {
    throw new DaemonError(
      'ImageTooLarge',
      `${req.input}: ${header.width}x${header.height} is ${header.width * header.height} pixels, above the input limit of ${ctx.limits.maxInputPixels}`,
      req.input,
    );
  }
  let plan: PassPlan;
  try {
    plan = planPasses(inputSize, ctx.model.scale, req.target);
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message);
  }
  for (const size of [...plan.passSizes, plan.final]) {
    if (size.width * size.height > ctx.limits.maxOutputPixels) {
      throw new DaemonError(
        'ImageTooLarge',
        `${req.input}: upscaling needs a ${size.width}x${size.height} image (${size.width * size.height} pixels), above the output limit of ${ctx.limits.maxOutputPixels}; choose a smaller scale`,
        req.input,
      );
    }
  }
  const out = await resolveOutput(req, ctx.model, header, plan.final);
  try {
    checkOutputSize(out.format, plan.final.width, plan.final.height);
  } catch (e) {
    throw new DaemonError('ImageTooLarge', `${out.file}: ${(e as Error).message}`, out.file);
  }
  const planWarnings: string[] = [];
  const background = resolveBackground(req, plan, out.format, planWarnings);
  const transparentPad = background !== null && background.rgba.a === 0;
  const overlap = req.overlap ?? DEFAULT_OVERLAP;
  const shared = 2 * overlap;
  const edgePad = edgePadFor(req.padding ?? DEFAULT_PADDING, overlap);
  const maxCore = autoMaxCore(ctx.model.activationBytesPerPixel, ctx.limits.memoryBytes, overlap);
  const layouts = passLayouts(inputSize, plan, req.tile, overlap, edgePad, maxCore);
  const throughput = ctx.throughput ?? daemonThroughput;
  const traits = await readImageTraits(req.input).catch(() => ({ hasAlpha: false, depth: 8 as const }));
  const guessPlanes = traits.hasAlpha && req.alpha === 'model' ? 2 : 1;
  const planFor = (hasAlpha: boolean, planes: number, depth: number, file: string) =>
    describePlan(
      req,
      ctx,
      inputSize,
      plan,
      layouts,
      planes,
      background,
      hasAlpha,
      { file, format: out.format },
      hasAlpha || transparentPad ? 4 : 3,
      depth,
    );

  {
    // The output raster is one typed array (at most 2^32 bytes in Node 20).
    const guessChannels = traits.hasAlpha || transparentPad ? 4 : 3;
    const bytes = plan.final.width * plan.final.height * guessChannels * (outputDepth(traits.depth, out.format) / 8);
    if (bytes > MAX_RASTER_BYTES) {
      throw new DaemonError(
        'ImageTooLarge',
        `${req.input}: a ${plan.final.width}x${plan.final.height} output with ${guessChannels} channels needs ${(bytes / 2 ** 30).toFixed(1)} GiB in one buffer, above the ${MAX_RASTER_BYTES / 2 ** 30} GiB a raster can have; choose a smaller scale or size`,
        req.input,
      );
    }
  }
  const passes = plan.passSizes.length;
  const usedTileOf = (ls: readonly PassLayout[]) =>
    Math.max(0, ...ls.map((l) => Math.max(l.tileWidth - shared, l.tileHeight - shared, 0)));
  if (req.dryRun) {
    const dryPlan = planFor(traits.hasAlpha, guessPlanes, outputDepth(traits.depth, out.format), out.file);
    return {
      jobId: ctx.jobId,
      input: req.input,
      outputPath: out.file,
      width: plan.final.width,
      height: plan.final.height,
      inputWidth: inputSize.width,
      inputHeight: inputSize.height,
      model: ctx.model.id,
      passes,
      provider: ctx.provider,
      tile: usedTileOf(layouts),
      overlap,
      timings: { decodeMs: 0, inferMs: 0, encodeMs: 0, totalMs: now() - started },
      warnings: planWarnings,
      plan: dryPlan,
      dryRun: true,
    };
  }

  let eta = new EtaTracker(throughput, etaWork(ctx, layouts, guessPlanes), now);
  const withEta = (u: ProgressUpdate): ProgressUpdate => {
    const ms = eta.etaMs();
    return ms === undefined ? u : { ...u, etaMs: ms };
  };
  ctx.progress(withEta({ stage: 'decode', pass: 0, passes, done: 0, total: 0 }));
  const decodeStart = now();
  let decoded: DecodedImage | null = await decodeImage(req.input, { maxInputPixels: ctx.limits.maxInputPixels }).catch(
    (e: unknown) => {
      throw asDecodeError(req.input, e);
    },
  );
  const decodeMs = now() - decodeStart;
  const source = decoded.source;
  let rgb: PlanarImage = { width: decoded.width, height: decoded.height, channels: 3, data: decoded.rgb };
  let alpha: PlanarImage | null = decoded.alpha
    ? { width: decoded.width, height: decoded.height, channels: 1, data: decoded.alpha }
    : null;
  decoded = null; // the planes live on in rgb/alpha only, so each is freed once its pass is done
  checkpoint();
  const alphaByModel = alpha !== null && req.alpha === 'model';
  const alphaPlanes = alphaByModel ? 2 : 1;
  eta = new EtaTracker(throughput, etaWork(ctx, layouts, alphaPlanes), now);

  ctx.progress(withEta({ stage: 'load', pass: 0, passes, done: 0, total: 0 }));
  const infer = await ctx.load();
  checkpoint();

  const inferStart = now();
  const depth = outputDepth(source.depth, out.format);
  const channels: 3 | 4 = alpha !== null || transparentPad ? 4 : 3;
  const finalPlan = planFor(alpha !== null, alphaPlanes, depth, out.file);
  const W = plan.final.width;
  const H = plan.final.height;
  const content = plan.content;
  const sampleMax = depth === 16 ? 65535 : 255;
  let raster: Uint8Array | Uint16Array | null = null;
  const allocateRaster = (): Uint8Array | Uint16Array => {
    if (raster) return raster;
    const size = W * H * channels;
    const r = depth === 16 ? new Uint16Array(size) : new Uint8Array(size);
    if (background !== null) {
      const bg = background.rgba;
      const values = [bg.r, bg.g, bg.b, bg.a].map((v) => quantiseSample(v, sampleMax));
      for (let c = 0; c < channels; c++) fillChannel(r, W, channels, 0, 0, W, H, c, values[c] as number);
    }
    // Content without an alpha plane of its own is opaque (its alpha is never written otherwise).
    if (channels === 4 && alpha === null)
      fillChannel(r, W, channels, content.x, content.y, content.width, content.height, 3, sampleMax);
    raster = r;
    return r;
  };

  const previewScale = req.previewWidth ? Math.min(1, req.previewWidth / W) : 0;
  let previews: Promise<void> = Promise.resolve();
  const usedTile = usedTileOf(layouts);
  const edgeMode = req.padding ?? DEFAULT_PADDING;

  for (let p = 0; p < passes; p++) {
    const layout = layouts[p] as PassLayout;
    const passSize = layout.output;
    const direct = p === passes - 1 && !plan.resize;
    // Without a border, reads stay inside the image but for the pad to the input multiple, which mirrors.
    const base = {
      tileWidth: layout.tileWidth,
      tileHeight: layout.tileHeight,
      overlap: shared,
      edgePad,
      padding: edgeMode === 'wrap' ? ('wrap' as const) : ('reflect' as const),
    };
    const tilesPerImage = layout.columns * layout.rows;
    const total = tilesPerImage * alphaPlanes;
    let doneBefore = 0;
    const report = (info: TileDone, planes: 'rgb' | 'alpha') => {
      eta.tileDone(p);
      const update = withEta({
        stage: 'infer' as const,
        pass: p + 1,
        passes,
        done: doneBefore + info.done,
        total,
        tile: info.rect,
        passWidth: passSize.width,
        passHeight: passSize.height,
      });
      const previewed = info.done % (req.previewEvery ?? 1) === 0 || info.done === tilesPerImage;
      if (previewScale === 0 || planes !== 'rgb' || !previewed) {
        previews = previews.then(() => ctx.progress(update));
        return;
      }
      // The tile in the final output's geometry, scaled to the preview width.
      const fx = (content.width / passSize.width) * previewScale;
      const fy = (content.height / passSize.height) * previewScale;
      const rect = {
        x: Math.floor(content.x * previewScale + info.rect.x * fx),
        y: Math.floor(content.y * previewScale + info.rect.y * fy),
        width: Math.max(1, Math.round(info.rect.width * fx)),
        height: Math.max(1, Math.round(info.rect.height * fy)),
      };
      previews = previews.then(async () => {
        const png = await encodePreview(info.pixels, rect.width, rect.height);
        ctx.progress({ ...update, preview: { png, rect, scale: previewScale } });
      });
    };
    const options = (planes: 'rgb' | 'alpha') => ({
      ...base,
      scale: ctx.model.scale,
      inputMultiple: ctx.model.inputMultiple,
      minTile: MIN_TILE,
      checkpoint,
      onTile: (info: TileDone) => report(info, planes),
    });
    ctx.progress(
      withEta({
        stage: 'infer',
        pass: p + 1,
        passes,
        done: 0,
        total,
        passWidth: passSize.width,
        passHeight: passSize.height,
      }),
    );
    eta.resetClock();

    if (alphaByModel && alpha) {
      const src: PlanarImage = { ...alpha, channels: 3, data: greyAsRgb(alpha.data) };
      if (direct) {
        const target = allocateRaster();
        await runTiledPass(src, infer, options('alpha'), (y, count, rows) => {
          quantisePlanes(
            target,
            W,
            channels,
            content.x,
            content.y + y,
            passSize.width,
            count,
            meanOfChannels(rows),
            1,
            3,
          );
        });
        alpha = null; // written
      } else {
        const next = new Float32Array(passSize.width * passSize.height);
        await runTiledPass(src, infer, options('alpha'), (y, _count, rows) => {
          next.set(meanOfChannels(rows), y * passSize.width);
        });
        alpha = { width: passSize.width, height: passSize.height, channels: 1, data: next };
      }
      doneBefore = tilesPerImage;
    }
    if (direct) {
      // The last pass is the output: rows are quantised straight into the raster, so no
      // float image of the output's size ever exists.
      const target = allocateRaster();
      await runTiledPass(rgb, infer, options('rgb'), (y, count, rows) => {
        quantisePlanes(target, W, channels, content.x, content.y + y, passSize.width, count, rows, 3, 0);
      });
    } else {
      const next = new Float32Array(3 * passSize.width * passSize.height);
      const plane = passSize.width * passSize.height;
      await runTiledPass(rgb, infer, options('rgb'), (y, count, rows) => {
        for (let c = 0; c < 3; c++)
          next.set(
            rows.subarray(c * count * passSize.width, (c + 1) * count * passSize.width),
            c * plane + y * passSize.width,
          );
      });
      rgb = { width: passSize.width, height: passSize.height, channels: 3, data: next };
    }
  }
  await previews;
  const inferMs = now() - inferStart;

  const wrap = edgeMode === 'wrap';
  const windowFor = (img: PlanarImage): Window =>
    fitWindow(img.width, img.height, content.width, content.height, plan.fit === 'cover' ? 'cover' : 'fill');
  if (plan.resize) {
    ctx.progress({ stage: 'resize', pass: passes, passes, done: 0, total: 0 });
    const resized = resizeLanczos(rgb, content.width, content.height, windowFor(rgb), wrap);
    quantisePlanes(
      allocateRaster(),
      W,
      channels,
      content.x,
      content.y,
      content.width,
      content.height,
      resized.data,
      3,
      0,
    );
  }
  if (alpha) {
    // Lanczos alpha mode, or the model's alpha before the final resize.
    const resized =
      alpha.width === content.width && alpha.height === content.height
        ? alpha
        : resizeLanczos(alpha, content.width, content.height, windowFor(alpha), wrap);
    quantisePlanes(
      allocateRaster(),
      W,
      channels,
      content.x,
      content.y,
      content.width,
      content.height,
      resized.data,
      1,
      3,
    );
    alpha = null;
  }
  const data = allocateRaster();
  checkpoint();

  ctx.progress({ stage: 'encode', pass: passes, passes, done: 0, total: 0 });
  const encodeStart = now();
  const temp = partialPath(out.file, ctx.jobId);
  ctx.temporaryFile?.(temp);
  let sidecarTemp: string | null = null;
  let sidecarPath: string | undefined;
  let warnings: readonly string[] = [...source.warnings, ...planWarnings];
  // Transparent padding needs an alpha channel in the output even when the source had none.
  const encodeSource: SourceInfo = transparentPad && !source.hasAlpha ? { ...source, hasAlpha: true } : source;
  try {
    const result = await encodeImage({ width: W, height: H, channels, depth, data }, encodeSource, {
      path: temp,
      format: out.format,
      ...(req.quality !== undefined ? { quality: req.quality } : {}),
    });
    warnings = [...warnings, ...(result?.warnings ?? [])];
    checkpoint();
    // Checked again: the job may have run long enough for someone else to take the name.
    const finalPath = out.named ? await namedOutput(out.file, req) : await freePath(out.file, req.input, req.overwrite);
    if (req.sidecar) {
      sidecarTemp = partialPath(sidecarPathFor(finalPath), ctx.jobId);
      ctx.temporaryFile?.(sidecarTemp);
      const timings: UpscaleTimings = { decodeMs, inferMs, encodeMs: now() - encodeStart, totalMs: now() - started };
      const sidecar: Sidecar = {
        format: SIDECAR_FORMAT,
        input: {
          path: req.input,
          sha256: await (inputHash as Promise<string>),
          width: inputSize.width,
          height: inputSize.height,
          format: header.format,
        },
        output: {
          path: finalPath,
          width: W,
          height: H,
          format: out.format,
          channels,
          depth,
          pixelsSha256: sha256Bytes(data),
        },
        model: {
          id: ctx.model.id,
          scale: ctx.model.scale,
          weightsSha256: ctx.model.onnxPath ? await weightsSha256(ctx.model.onnxPath) : null,
          reason: req.modelReason ?? 'named in the request',
        },
        parameters: {
          request: req.params ?? {},
          resolved: {
            target: req.target,
            tile: usedTile,
            overlap,
            alpha: req.alpha,
            padding: edgeMode,
            fit: plan.fit,
            background: background?.text ?? null,
            format: out.format,
            quality: req.quality ?? null,
            depth,
            channels,
          },
        },
        plan: { ...finalPlan, outputPath: finalPath },
        provider: ctx.provider,
        versions: runtimeVersions(ctx.daemonVersion ?? 'unknown'),
        timings,
      };
      await writeSidecar(sidecarTemp, sidecar);
    }
    // In the rare race with another writer the image may land under a later free name;
    // its record then follows it (the record's own output.path keeps the first choice).
    out.file = await placeFile(temp, finalPath, req.input, { overwrite: req.overwrite, named: out.named });
    if (sidecarTemp !== null) {
      try {
        sidecarPath = sidecarPathFor(out.file);
        await fs.rename(sidecarTemp, sidecarPath);
      } catch (e) {
        // The image was asked for with its record: without one, neither is kept.
        await fs.rm(out.file, { force: true });
        throw e;
      }
    }
  } catch (e) {
    await fs.rm(temp, { force: true });
    if (sidecarTemp !== null) await fs.rm(sidecarTemp, { force: true });
    throw writeError(out.file, e);
  }
  const encodeMs = now() - encodeStart;
  ctx.progress({ stage: 'done', pass: passes, passes, done: 0, total: 0 });

  return {
    jobId: ctx.jobId,
    input: req.input,
    outputPath: out.file,
    width: W,
    height: H,
    inputWidth: inputSize.width,
    inputHeight: inputSize.height,
    model: ctx.model.id,
    passes,
    provider: ctx.provider,
    tile: usedTile,
    overlap,
    timings: { decodeMs, inferMs, encodeMs, totalMs: now() - started },
    warnings,
    plan: { ...finalPlan, outputPath: out.file },
    ...(sidecarPath !== undefined && { sidecarPath }),
  };
}
