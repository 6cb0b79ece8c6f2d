// One upscale job from file to file: check everything that can be checked before any
// work (paths, sizes, format limits), decode, run the planned passes, resize, quantise
// once, encode to a temporary file beside the target, and rename it into place. A
// failed or cancelled job removes its temporary file, so nothing partial is left.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import sharp from 'sharp';
import { DaemonError } from '../protocol/errors';
import type { AlphaMode, ExecutionProvider, OutputFormat, ProgressParams, UpscaleResult } from '../protocol/protocol';
import { decodeImage, readImageHeader } from '../image/decode';
import { encodeImage } from '../image/encode';
import { checkOutputSize, extensionFor, outputFormatFor } from '../image/formats';
import type { SourceInfo } from '../image/types';
import { planPasses, type PassPlan, type Size, type Target } from './plan';
import { passGrid, runTiledPass, type PlanarImage, type TileDone, type TileInference } from './tiled-pass';
import { fitWindow, resizeLanczos } from './lanczos';
import { quantiseRows } from './quantise';
import { applyTemplate, DEFAULT_TEMPLATE, freePath, partialPath } from './output-path';
import { chooseTile } from './tile-size';

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
}

export interface PipelineModel {
  readonly id: string;
  readonly scale: number;
  readonly inputMultiple: number;
}

/** A progress notification before the daemon adds the job and request ids. */
export type ProgressUpdate = Omit<ProgressParams, 'jobId' | 'requestId' | 'queuePosition'>;

export interface PipelineContext {
  readonly jobId: string;
  readonly model: PipelineModel;
  readonly provider: ExecutionProvider;
  /** Loads (or finds resident) the model's session; called after the input checks pass. */
  readonly load: () => Promise<TileInference>;
  /** Throws DaemonError('Cancelled') once the job is cancelled. */
  readonly checkpoint: () => void;
  readonly progress: (update: ProgressUpdate) => void;
  readonly limits: { readonly maxInputPixels: number; readonly maxOutputPixels: number };
}

/** Context added on each side of a tile, in input pixels (Real-ESRGAN's tile_pad). */
export const DEFAULT_OVERLAP = 16;
/** Reflected border around the image, in input pixels: edge tiles get context like inner ones. */
export const EDGE_PAD = 8;
const MIN_TILE = 32;

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
  return new DaemonError(tooLarge ? 'ImageTooLarge' : 'DecodeFailed', message.includes(file) ? message : `${file}: ${message}`, file);
}

/** Where the output goes, before any work: folder, template, format, clash handling. */
async function resolveOutput(req: PipelineRequest, model: PipelineModel, input: Size & { format: string }, final: Size): Promise<{ file: string; format: OutputFormat }> {
  const format = outputFormatFor({ format: input.format } as SourceInfo, req.format);
  const parsed = path.parse(req.input);
  let folder = parsed.dir;
  let name: string | undefined;
  if (req.output) {
    const isFolder = req.output.endsWith(path.sep) || (await fs.stat(req.output).then((s) => s.isDirectory(), () => false));
    if (isFolder) folder = req.output;
    else {
      folder = path.dirname(req.output);
      name = path.basename(req.output);
    }
  }
  const scale = req.target.kind === 'scale' ? req.target.scale : final.width / input.width;
  try {
    name ??= applyTemplate(req.template ?? DEFAULT_TEMPLATE, {
      name: parsed.name, scale, width: final.width, height: final.height, model: model.id, ext: extensionFor(format).replace(/^\./, ''),
    });
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message);
  }
  const folderStat = await fs.stat(folder).catch(() => null);
  if (!folderStat?.isDirectory()) throw new DaemonError('OutputNotWritable', `${folder}: output folder does not exist`, folder);
  const file = await freePath(path.join(folder, name), req.input, req.overwrite);
  return { file, format };
}

function writeError(file: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    EDQUOT: 'the disk quota is exceeded',
  };
  const reason = (err.code && why[err.code]) ?? (err.message || String(e));
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
  for (let i = 0; i < plane; i++) out[i] = ((rows[i] as number) + (rows[plane + i] as number) + (rows[2 * plane + i] as number)) / 3;
  return out;
}

async function encodePreview(pixels: PlanarImage, width: number, height: number): Promise<string> {
  const small = resizeLanczos(pixels, width, height);
  const raster = new Uint8Array(width * height * 3);
  quantiseRows(raster, width, 3, 0, height, small.data, null);
  const png = await sharp(raster, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
  return png.toString('base64');
}

export async function runPipeline(req: PipelineRequest, ctx: PipelineContext): Promise<UpscaleResult> {
  const started = performance.now();
  await checkInput(req.input);
  const header = await readImageHeader(req.input).catch((e: unknown) => {
    throw asDecodeError(req.input, e);
  });
  const inputSize: Size = { width: header.width, height: header.height };
  if (header.width * header.height > ctx.limits.maxInputPixels) {
    throw new DaemonError('ImageTooLarge',
      `${req.input}: ${header.width}x${header.height} is ${header.width * header.height} pixels, above the input limit of ${ctx.limits.maxInputPixels}`, req.input);
  }
  let plan: PassPlan;
  try {
    plan = planPasses(inputSize, ctx.model.scale, req.target);
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message);
  }
  for (const size of [...plan.passSizes, plan.final]) {
    if (size.width * size.height > ctx.limits.maxOutputPixels) {
      throw new DaemonError('ImageTooLarge',
        `${req.input}: upscaling needs a ${size.width}x${size.height} image (${size.width * size.height} pixels), above the output limit of ${ctx.limits.maxOutputPixels}; choose a smaller scale`, req.input);
    }
  }
  const out = await resolveOutput(req, ctx.model, header, plan.final);
  try {
    checkOutputSize(out.format, plan.final.width, plan.final.height);
  } catch (e) {
    throw new DaemonError('ImageTooLarge', `${out.file}: ${(e as Error).message}`, out.file);
  }

  const passes = plan.passSizes.length;
  ctx.progress({ stage: 'decode', pass: 0, passes, done: 0, total: 0 });
  const decodeStart = performance.now();
  const decoded = await decodeImage(req.input, { maxInputPixels: ctx.limits.maxInputPixels }).catch((e: unknown) => {
    throw asDecodeError(req.input, e);
  });
  const decodeMs = performance.now() - decodeStart;
  ctx.checkpoint();

  ctx.progress({ stage: 'load', pass: 0, passes, done: 0, total: 0 });
  const infer = await ctx.load();
  ctx.checkpoint();

  const inferStart = performance.now();
  let rgb: PlanarImage = { width: decoded.width, height: decoded.height, channels: 3, data: decoded.rgb };
  let alpha: PlanarImage | null = decoded.alpha ? { width: decoded.width, height: decoded.height, channels: 1, data: decoded.alpha } : null;
  const alphaByModel = alpha !== null && req.alpha === 'model';
  const overlap = req.overlap ?? DEFAULT_OVERLAP;
  const shared = 2 * overlap;
  const previewScale = req.previewWidth ? Math.min(1, req.previewWidth / plan.final.width) : 0;
  let previews: Promise<void> = Promise.resolve();
  let usedTile = 0;

  for (let p = 0; p < passes; p++) {
    const passSize = plan.passSizes[p] as Size;
    const tile = chooseTile(req.tile, rgb.width + 2 * EDGE_PAD, rgb.height + 2 * EDGE_PAD, overlap);
    usedTile = Math.max(usedTile, tile.width - shared, tile.height - shared, 0);
    const base = { tileWidth: tile.width, tileHeight: tile.height, overlap: shared, edgePad: EDGE_PAD };
    const grid = passGrid(rgb, base);
    const tilesPerImage = grid.cols.length * grid.rows.length;
    const total = tilesPerImage * (alphaByModel ? 2 : 1);
    let doneBefore = 0;
    const report = (info: TileDone, planes: 'rgb' | 'alpha') => {
      const update = { stage: 'infer' as const, pass: p + 1, passes, done: doneBefore + info.done, total, tile: info.rect, passWidth: passSize.width, passHeight: passSize.height };
      if (previewScale === 0 || planes !== 'rgb') {
        previews = previews.then(() => ctx.progress(update));
        return;
      }
      // The tile in the final output's geometry, scaled to the preview width.
      const fx = (plan.final.width / passSize.width) * previewScale;
      const fy = (plan.final.height / passSize.height) * previewScale;
      const rect = {
        x: Math.floor(info.rect.x * fx), y: Math.floor(info.rect.y * fy),
        width: Math.max(1, Math.round(info.rect.width * fx)), height: Math.max(1, Math.round(info.rect.height * fy)),
      };
      previews = previews.then(async () => {
        const png = await encodePreview(info.pixels, rect.width, rect.height);
        ctx.progress({ ...update, preview: { png, rect, scale: previewScale } });
      });
    };
    const options = (planes: 'rgb' | 'alpha') => ({
      ...base, scale: ctx.model.scale, inputMultiple: ctx.model.inputMultiple, minTile: MIN_TILE,
      checkpoint: ctx.checkpoint, onTile: (info: TileDone) => report(info, planes),
    });
    ctx.progress({ stage: 'infer', pass: p + 1, passes, done: 0, total, passWidth: passSize.width, passHeight: passSize.height });

    if (alphaByModel && alpha) {
      const src: PlanarImage = { ...alpha, channels: 3, data: greyAsRgb(alpha.data) };
      const next = new Float32Array(passSize.width * passSize.height);
      await runTiledPass(src, infer, options('alpha'), (y, _count, rows) => {
        next.set(meanOfChannels(rows), y * passSize.width);
      });
      alpha = { width: passSize.width, height: passSize.height, channels: 1, data: next };
      doneBefore = tilesPerImage;
    }
    const next = new Float32Array(3 * passSize.width * passSize.height);
    const plane = passSize.width * passSize.height;
    await runTiledPass(rgb, infer, options('rgb'), (y, count, rows) => {
      for (let c = 0; c < 3; c++) next.set(rows.subarray(c * count * passSize.width, (c + 1) * count * passSize.width), c * plane + y * passSize.width);
    });
    rgb = { width: passSize.width, height: passSize.height, channels: 3, data: next };
  }
  await previews;
  const inferMs = performance.now() - inferStart;

  if (plan.resize) {
    ctx.progress({ stage: 'resize', pass: passes, passes, done: 0, total: 0 });
    const fit = plan.fit === 'contain' ? 'fill' : plan.fit;
    const win = fitWindow(rgb.width, rgb.height, plan.final.width, plan.final.height, fit);
    rgb = resizeLanczos(rgb, plan.final.width, plan.final.height, win);
  }
  if (alpha && (alpha.width !== plan.final.width || alpha.height !== plan.final.height)) {
    // Lanczos alpha mode, or the model's alpha after the final resize.
    const fit = plan.fit === 'contain' ? 'fill' : plan.fit;
    alpha = resizeLanczos(alpha, plan.final.width, plan.final.height, fitWindow(alpha.width, alpha.height, plan.final.width, plan.final.height, fit));
  }
  ctx.checkpoint();

  ctx.progress({ stage: 'encode', pass: passes, passes, done: 0, total: 0 });
  const encodeStart = performance.now();
  const depth: 8 | 16 = decoded.source.depth === 16 && (out.format === 'png' || out.format === 'tif') ? 16 : 8;
  const channels: 3 | 4 = alpha ? 4 : 3;
  const size = plan.final.width * plan.final.height * channels;
  const data = depth === 16 ? new Uint16Array(size) : new Uint8Array(size);
  quantiseRows(data, plan.final.width, channels, 0, plan.final.height, rgb.data, alpha ? alpha.data : null);

  const temp = partialPath(out.file, ctx.jobId);
  let warnings: readonly string[] = decoded.source.warnings;
  try {
    const result = await encodeImage({ width: plan.final.width, height: plan.final.height, channels, depth, data }, decoded.source, {
      path: temp, format: out.format, ...(req.quality !== undefined ? { quality: req.quality } : {}),
    });
    warnings = [...warnings, ...(result?.warnings ?? [])];
    ctx.checkpoint();
    const finalPath = await freePath(out.file, req.input, req.overwrite);
    await fs.rename(temp, finalPath);
    out.file = finalPath;
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw writeError(out.file, e);
  }
  const encodeMs = performance.now() - encodeStart;
  ctx.progress({ stage: 'done', pass: passes, passes, done: 0, total: 0 });

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
    tile: usedTile,
    overlap,
    timings: { decodeMs, inferMs, encodeMs, totalMs: performance.now() - started },
    warnings,
  };
}
