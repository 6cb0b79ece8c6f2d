// One upscale job from file to file: check everything that can be checked before any
// work (paths, sizes, format limits), decode, run the planned passes, resize, quantise
// once, encode to a temporary file beside the target, and rename it into place. A
// failed or cancelled job removes its temporary file, so nothing partial is left.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DaemonError } from '../protocol/errors';
import type { ExecutionProvider, ProgressParams, UpscaleResult, UpscaleTimings } from '../protocol/protocol';
import { decodeImage, readImageHeader } from '../image/decode';
import { encodeImage, encodePreview } from '../image/encode';
import type { DecodedImage, PlanarImage, Raster, SourceInfo } from '../image/types';
import { runTiledPass, type TileDone, type TileInference } from './tiled-pass';
import { fitWindow, resizeLanczos, type Window } from './lanczos';
import { fillChannel, quantisePlanes, quantiseSample } from './quantise';
import { checkNamedOutput, freePath, NameTaken, partialPath, placeFile } from './output-path';
import { throwIfCancelled } from './cancel';
import { EtaTracker, ThroughputMemory, type Work } from './eta';
import {
  MIN_TILE,
  planJob,
  settleAlpha,
  withOutputFile,
  type JobLimits,
  type JobPlan,
  type OutputChoice,
  type OutputPlace,
  type PassLayout,
  type PipelineModel,
  type PipelineRequest,
} from './job-plan';
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

/** A progress notification before the daemon adds the job and request ids. */
export type ProgressUpdate = Omit<ProgressParams, 'jobId' | 'requestId' | 'queuePosition'>;

export interface PipelineContext {
  readonly jobId: string;
  readonly model: PipelineModel;
  readonly provider: ExecutionProvider;
  /** Loads (or finds resident) the model's session; called after the input checks pass. */
  readonly load: () => Promise<TileInference>;
  /** Aborted when the job is cancelled: checked between tiles and between stages. */
  readonly signal: AbortSignal;
  readonly progress: (update: ProgressUpdate) => void;
  readonly limits: JobLimits;
  /** Tile throughput remembered across jobs (default: one per daemon process). */
  readonly throughput?: ThroughputMemory;
  /** The daemon's version, for the sidecar. */
  readonly daemonVersion?: string;
  /** Clock in milliseconds (default performance.now). */
  readonly now?: () => number;
}

/** Tile throughput per model, provider and tile size, for the life of the daemon process. */
const daemonThroughput = new ThroughputMemory();

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

/** Where the request puts its output: what planning needs from the file system. */
async function locateOutput(req: PipelineRequest): Promise<OutputPlace> {
  let folder = path.parse(req.input).dir;
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
  const folderStat = await fs.stat(folder).catch(() => null);
  return { folder, name, folderExists: folderStat?.isDirectory() ?? false };
}

/** The planned output file, if still free: a name the user gave is kept or refused, a name the program chose moves on to the next free one. */
async function claimOutput(output: OutputChoice, req: PipelineRequest): Promise<string> {
  return output.named ? namedOutput(output.file, req) : freePath(output.file, req.input, req.overwrite);
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

/** What a user can do about a failed write, by errno (libvips' own failures carry one too: see EncodeWriteError). */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EDQUOT: 'the disk quota is exceeded',
};

function writeError(file: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  if (e instanceof NameTaken) return new DaemonError('OutputNotWritable', e.message, e.file);
  const err = e as NodeJS.ErrnoException;
  const reason = (err.code && WRITE_FAILURES[err.code]) ?? (err.message || String(e)).split('\n')[0];
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

/** A tile's pixels at preview size, as an 8-bit raster. */
function previewRaster(pixels: PlanarImage, width: number, height: number): Raster & { readonly depth: 8 } {
  const small = resizeLanczos(pixels, width, height);
  const data = new Uint8Array(width * height * 3);
  quantisePlanes(data, width, 3, 0, 0, width, height, small.data, 3, 0);
  return { width, height, channels: 3, depth: 8, data };
}

function jobResult(
  ctx: PipelineContext,
  req: PipelineRequest,
  job: JobPlan,
  timings: UpscaleTimings,
  warnings: readonly string[],
  extra: Pick<UpscaleResult, 'dryRun' | 'sidecarPath'>,
): UpscaleResult {
  return {
    jobId: ctx.jobId,
    input: req.input,
    outputPath: job.output.file,
    width: job.geometry.final.width,
    height: job.geometry.final.height,
    inputWidth: job.input.width,
    inputHeight: job.input.height,
    model: ctx.model.id,
    passes: job.layouts.length,
    provider: ctx.provider,
    tile: job.tile,
    overlap: job.overlap,
    timings,
    warnings,
    plan: job.summary,
    ...extra,
  };
}

function etaWork(ctx: PipelineContext, layouts: readonly PassLayout[], alphaPlanes: number): Work[] {
  return layouts.map((l) => ({
    key: { model: ctx.model.id, provider: ctx.provider, tileWidth: l.tensorWidth, tileHeight: l.tensorHeight },
    tiles: l.columns * l.rows * alphaPlanes,
  }));
}

/**
 * What service.ts passes today: a checkpoint that throws once jobs.ts has marked the job
 * cancelled. The queue is moving to an AbortSignal (the \`contract\` branch); until then
 * runPipeline takes either, and withSignal is the one place that knows the checkpoint.
 */
export type CheckpointContext = Omit<PipelineContext, 'signal'> & { readonly checkpoint: () => void };

function withSignal(ctx: PipelineContext | CheckpointContext): PipelineContext {
  if (!('checkpoint' in ctx)) return ctx;
  const { checkpoint, ...rest } = ctx;
  // jobs.ts marks a cancelled job without an event to listen to, so the signal asks the
  // checkpoint each time it is read (the engine reads it before every tile and stage).
  const controller = new AbortController();
  Object.defineProperty(controller.signal, 'aborted', {
    get: () => {
      try {
        checkpoint();
        return false;
      } catch (e) {
        controller.abort(e);
        return true;
      }
    },
  });
  return { ...rest, signal: controller.signal };
}

export async function runPipeline(
  req: PipelineRequest,
  context: PipelineContext | CheckpointContext,
): Promise<UpscaleResult> {
  const ctx = withSignal(context);
  const now = ctx.now ?? (() => performance.now());
  const started = now();
  await checkInput(req.input);
  const inputHash = req.sidecar && !req.dryRun ? sha256File(req.input) : null;
  inputHash?.catch(() => undefined);
  const header = await readImageHeader(req.input);
  let job = planJob(header, req, ctx.model, ctx.limits, await locateOutput(req));
  job = withOutputFile(job, await claimOutput(job.output, req));
  const plan = job.geometry;
  const layouts = job.layouts;
  const out = { ...job.output };
  const background = job.background;
  const overlap = job.overlap;
  const shared = 2 * overlap;
  const edgePad = job.edgePad;
  const throughput = ctx.throughput ?? daemonThroughput;
  const passes = plan.passSizes.length;
  if (req.dryRun)
    return jobResult(ctx, req, job, { decodeMs: 0, inferMs: 0, encodeMs: 0, totalMs: now() - started }, job.warnings, {
      dryRun: true,
    });

  let eta = new EtaTracker(throughput, etaWork(ctx, layouts, job.planes), now);
  const withEta = (u: ProgressUpdate): ProgressUpdate => {
    const ms = eta.etaMs();
    return ms === undefined ? u : { ...u, etaMs: ms };
  };
  ctx.progress(withEta({ stage: 'decode', pass: 0, passes, done: 0, total: 0 }));
  const decodeStart = now();
  let decoded: DecodedImage | null = await decodeImage(header, { maxInputPixels: ctx.limits.maxInputPixels });
  const decodeMs = now() - decodeStart;
  const source = decoded.source;
  let rgb: PlanarImage = { width: decoded.width, height: decoded.height, channels: 3, data: decoded.rgb };
  let alpha: PlanarImage | null = decoded.alpha
    ? { width: decoded.width, height: decoded.height, channels: 1, data: decoded.alpha }
    : null;
  decoded = null; // the planes live on in rgb/alpha only, so each is freed once its pass is done
  throwIfCancelled(ctx.signal);
  job = settleAlpha(job, alpha !== null);
  const alphaByModel = job.planes === 2;
  const alphaPlanes = job.planes;
  eta = new EtaTracker(throughput, etaWork(ctx, layouts, alphaPlanes), now);

  ctx.progress(withEta({ stage: 'load', pass: 0, passes, done: 0, total: 0 }));
  const infer = await ctx.load();
  throwIfCancelled(ctx.signal);

  const inferStart = now();
  const { depth, channels } = job;
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
      [bg.r, bg.g, bg.b, bg.a]
        .slice(0, channels)
        .forEach((v, c) => fillChannel(r, W, channels, 0, 0, W, H, c, quantiseSample(v, sampleMax)));
    }
    // Content without an alpha plane of its own is opaque (its alpha is never written otherwise).
    if (channels === 4 && alpha === null)
      fillChannel(r, W, channels, content.x, content.y, content.width, content.height, 3, sampleMax);
    raster = r;
    return r;
  };

  const previewScale = req.previewWidth ? Math.min(1, req.previewWidth / W) : 0;
  let previews: Promise<void> = Promise.resolve();
  const edgeMode = job.padding;

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
      if (previewScale === 0 || planes !== 'rgb') {
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
        const png = await encodePreview(previewRaster(info.pixels, rect.width, rect.height));
        ctx.progress({ ...update, preview: { png, rect, scale: previewScale } });
      });
    };
    const options = (planes: 'rgb' | 'alpha') => ({
      ...base,
      scale: ctx.model.scale,
      inputMultiple: ctx.model.inputMultiple,
      minTile: MIN_TILE,
      signal: ctx.signal,
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
  throwIfCancelled(ctx.signal);

  ctx.progress({ stage: 'encode', pass: passes, passes, done: 0, total: 0 });
  const encodeStart = now();
  const temp = partialPath(out.file, ctx.jobId);
  let sidecarTemp: string | null = null;
  let sidecarPath: string | undefined;
  let warnings: readonly string[] = [...source.warnings, ...job.warnings];
  // Transparent padding needs an alpha channel in the output even when the source had none.
  const transparentPad = background !== null && background.rgba.a === 0;
  const encodeSource: SourceInfo = transparentPad && !source.hasAlpha ? { ...source, hasAlpha: true } : source;
  try {
    const result = await encodeImage({ width: W, height: H, channels, depth, data }, encodeSource, {
      path: temp,
      format: out.format,
      ...(req.quality !== undefined ? { quality: req.quality } : {}),
    });
    warnings = [...warnings, ...(result?.warnings ?? [])];
    throwIfCancelled(ctx.signal);
    // Checked again: the job may have run long enough for someone else to take the name.
    const finalPath = await claimOutput(out, req);
    if (req.sidecar) {
      sidecarTemp = partialPath(sidecarPathFor(finalPath), ctx.jobId);
      const timings: UpscaleTimings = { decodeMs, inferMs, encodeMs: now() - encodeStart, totalMs: now() - started };
      const sidecar: Sidecar = {
        format: SIDECAR_FORMAT,
        input: {
          path: req.input,
          sha256: await (inputHash as Promise<string>),
          width: job.input.width,
          height: job.input.height,
          format: job.input.format,
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
            tile: job.tile,
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
        plan: { ...job.summary, outputPath: finalPath },
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

  const timings = { decodeMs, inferMs, encodeMs, totalMs: now() - started };
  return jobResult(ctx, req, withOutputFile(job, out.file), timings, warnings, {
    ...(sidecarPath !== undefined && { sidecarPath }),
  });
}
