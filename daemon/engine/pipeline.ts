// One upscale job from file to file: check everything that can be checked before any
// work (paths, sizes, format limits), decode, run the planned passes, resize, quantise
// once, encode to a temporary file beside the target, and rename it into place. A
// failed or cancelled job removes its temporary file, so nothing partial is left.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DaemonError } from '../protocol/errors';
import type { ExecutionProvider, UpscaleResult, UpscaleTimings } from '../protocol/protocol';
import { decodeImage, readImageHeader } from '../image/decode';
import { encodeImage } from '../image/encode';
import type { DecodedImage, SourceInfo } from '../image/types';
import type { TileInference } from './tiled-pass';
import { checkNamedOutput, freePath, NameTaken, partialPath, placeFile } from './output-path';
import { throwIfCancelled } from './cancel';
import { ThroughputMemory } from './eta';
import { JobProgress, type ProgressUpdate } from './job-progress';
import { runPasses, type Planes } from './passes';
import {
  planJob,
  settleAlpha,
  withOutputFile,
  type JobLimits,
  type JobPlan,
  type OutputChoice,
  type OutputPlace,
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

/** The decoded planes, apart from what the encoder needs: runPasses frees each once its pass is done. */
function planesOf(decoded: DecodedImage): { source: SourceInfo; planes: Planes } {
  const { width, height, rgb, alpha, source } = decoded;
  const planes = {
    rgb: { width, height, channels: 3, data: rgb },
    alpha: alpha ? { width, height, channels: 1, data: alpha } : null,
  };
  return { source, planes };
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
  if (req.dryRun)
    return jobResult(ctx, req, job, { decodeMs: 0, inferMs: 0, encodeMs: 0, totalMs: now() - started }, job.warnings, {
      dryRun: true,
    });

  const progress = new JobProgress(
    ctx.progress,
    job,
    ctx.provider,
    ctx.throughput ?? daemonThroughput,
    req.previewWidth,
    now,
  );
  progress.started('decode');
  const decodeStart = now();
  const { source, planes } = planesOf(await decodeImage(header, { maxInputPixels: ctx.limits.maxInputPixels }));
  const decodeMs = now() - decodeStart;
  throwIfCancelled(ctx.signal);
  job = settleAlpha(job, planes.alpha !== null);
  progress.replan(job);

  progress.started('load');
  const infer = await ctx.load();
  throwIfCancelled(ctx.signal);

  const inferStart = now();
  let inferMs = 0;
  const raster = await runPasses(
    job,
    planes,
    infer,
    ctx.signal,
    progress.passHooks(() => (inferMs = now() - inferStart)),
  );
  const { data, width: W, height: H } = raster;
  const { depth, channels } = job;
  const plan = job.geometry;
  const out = { ...job.output };
  const background = job.background;
  const overlap = job.overlap;
  const edgeMode = job.padding;
  throwIfCancelled(ctx.signal);

  progress.finishing('encode');
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
  progress.finishing('done');

  const timings = { decodeMs, inferMs, encodeMs, totalMs: now() - started };
  return jobResult(ctx, req, withOutputFile(job, out.file), timings, warnings, {
    ...(sidecarPath !== undefined && { sidecarPath }),
  });
}
