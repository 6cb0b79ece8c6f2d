// One upscale job from file to file, in stages: the header is read once and planJob checks
// everything that can be checked before any work (job-plan.ts); a dry run ends there.
// Then the pixels are decoded, runPasses runs the model and the resize (passes.ts), and
// commitOutput encodes, records and places the file (commit.ts). The file system is
// read and written here and in commit.ts only.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DaemonError, throwIfCancelled } from '../../contract/errors';
import type { RunsOn, UpscaleResult, UpscaleTimings } from '../../contract/protocol';
import { endsInSeparator } from '../../contract/paths';
import { decodeImage, readImageHeader, type ImageFileHeader } from '../image/decode';
import type { DecodedImage, SourceInfo } from '../image/types';
import type { TileInference } from './tiled-pass';
import type { ThroughputMemory } from './eta';
import { JobProgress, type ProgressUpdate } from './job-progress';
import { runPasses, type PassHooks, type Planes, type RasterWatch } from './passes';
import { claimOutput, commitOutput, encodeSource, outputTemporary } from './commit';
import { streamsAsPng } from '../image/encode';
import { PngStream } from '../image/png-stream';
import {
  planJob,
  settleAlpha,
  withOutputFile,
  type JobLimits,
  type JobModels,
  type JobPlan,
  type OutputPlace,
  type PipelineModel,
  type PipelineRequest,
} from './job-plan';
import { sha256File } from './sidecar';

/** A model's session, ready for tiles, and where and how it runs. */
export interface LoadedModel {
  readonly infer: TileInference;
  readonly runsOn: RunsOn;
}

export interface PipelineContext {
  readonly jobId: string;
  /** The main model: the one whose passes reach the target. */
  readonly model: PipelineModel;
  /** The models run besides it (a chain's others, a blend); none by default. */
  readonly models?: JobModels;
  /** The provider and the precision decided for the job; what loading returns is what ran. */
  readonly runsOn: RunsOn;
  /** Loads (or finds resident) a model's session; called after the input checks pass, and as each pass starts. */
  readonly load: (model: PipelineModel) => Promise<LoadedModel>;
  /** The request's: aborted when it is cancelled, and the job then stops before its next tile or stage. */
  readonly signal: AbortSignal;
  readonly progress: (update: ProgressUpdate) => void;
  /** Told what the job changed on its own (smaller tiles after running out of memory), for the daemon's log. */
  readonly warn?: (message: string) => void;
  /** Told each temporary file before it is written, so that a daemon killed mid-write has it removed by the next one (daemon/temp-files.ts). */
  readonly temporaryFile?: (file: string) => void;
  readonly limits: JobLimits;
  /** Rates remembered across jobs and daemons (daemon/rates-file.ts), which the job's own timings add to. */
  readonly throughput: ThroughputMemory;
  /** Whether the model's session is loaded already: the estimate then counts no loading. */
  readonly resident: boolean;
  /** The daemon's version, for the sidecar. */
  readonly daemonVersion?: string;
  /** Clock in milliseconds (default performance.now). */
  readonly now?: () => number;
}

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
      endsInSeparator(req.output) ||
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
  runsOn: RunsOn,
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
    ...runsOn,
    tile: job.tile,
    overlap: job.overlap,
    timings,
    warnings,
    plan: job.summary,
    ...extra,
  };
}

export async function runPipeline(req: PipelineRequest, ctx: PipelineContext): Promise<UpscaleResult> {
  const now = ctx.now ?? (() => performance.now());
  const started = now();
  await checkInput(req.input);
  const inputHash = req.sidecar && !req.dryRun ? sha256File(req.input) : null;
  inputHash?.catch(() => undefined);
  const header = await readImageHeader(req.input);
  const planned = planJob(header, req, ctx.model, ctx.limits, await locateOutput(req), ctx.models);
  const plan = withOutputFile(planned, await claimOutput(planned.output, req));
  if (req.dryRun) {
    const timings = { decodeMs: 0, inferMs: 0, encodeMs: 0, totalMs: now() - started };
    return jobResult(ctx, ctx.runsOn, req, plan, timings, plan.warnings, { dryRun: true });
  }
  return runJob(req, ctx, header, plan, inputHash, { now, started });
}

/** Out of memory halves the tile (tiled-pass.ts): the log and the result say so. */
function smallerTilesNote(
  provider: string,
  notes: string[],
  warn: ((note: string) => void) | undefined,
): NonNullable<PassHooks['smallerTiles']> {
  return (pass, from, to, why) => {
    const note = `pass ${pass + 1} ran out of memory on ${provider} with a ${from} px tile (${why}); it continued with tiles of at most ${to} px`;
    notes.push(note);
    warn?.(note);
  };
}

/**
 * A PNG that needs nothing of libvips (streamsAsPng) is written as the last pass finishes
 * its rows, by a worker thread beside inference (png-stream.ts); other outputs are encoded
 * once the raster is whole.
 */
function writtenAsItRuns(
  plan: JobPlan,
  source: SourceInfo,
  ctx: PipelineContext,
): { watch?: RasterWatch; readonly stream: PngStream | null } {
  if (!streamsAsPng(plan.output.format, source)) return { stream: null };
  const file = outputTemporary(plan, ctx.jobId);
  const written: { watch: RasterWatch; stream: PngStream | null } = {
    stream: null,
    watch: {
      allocated: (raster) => {
        ctx.temporaryFile?.(file);
        const stream = PngStream.start(file, raster, source);
        written.stream = stream;
        return (rows) => stream.rowsFinal(rows);
      },
    },
  };
  return written;
}

/** Decodes, runs the passes and commits the output of a planned job. */
async function runJob(
  req: PipelineRequest,
  ctx: PipelineContext,
  header: ImageFileHeader,
  planned: JobPlan,
  inputHash: Promise<string> | null,
  clock: { readonly now: () => number; readonly started: number },
): Promise<UpscaleResult> {
  const { now, started } = clock;
  const estimate = { runsOn: ctx.runsOn, resident: ctx.resident, memory: ctx.throughput, now };
  const progress = new JobProgress(ctx.progress, planned, estimate, req);
  progress.started('decode');
  const decodeStart = now();
  const { source, planes } = planesOf(await decodeImage(header, { maxInputPixels: ctx.limits.maxInputPixels }));
  const decodeMs = now() - decodeStart;
  throwIfCancelled(ctx.signal);
  const plan = settleAlpha(planned, planes.alpha !== null);
  progress.replan(plan);

  progress.started('load');
  // What ran: the job's decision, unless a model's session came back at another precision
  // (auto's fp16 version of it could not be made or loaded, so it ran fp32), which is then reported.
  let runsOn = ctx.runsOn;
  const load = async (model: PipelineModel): Promise<TileInference> => {
    const loaded = await ctx.load(model);
    if (loaded.runsOn.precision !== runsOn.precision) {
      runsOn = loaded.runsOn;
      progress.loaded(runsOn);
    }
    return loaded.infer;
  };
  const first = plan.layouts[0];
  if (first) await load(first.model);
  throwIfCancelled(ctx.signal);
  const inferStart = now();
  let inferMs = 0;
  const notes: string[] = [];
  const hooks: PassHooks = {
    ...progress.passHooks(() => (inferMs = now() - inferStart)),
    smallerTiles: smallerTilesNote(runsOn.provider, notes, ctx.warn),
  };
  const written = writtenAsItRuns(plan, encodeSource(source, plan), ctx);
  let raster;
  try {
    raster = await runPasses(plan, planes, load, ctx.signal, hooks, written.watch);
    throwIfCancelled(ctx.signal);
  } catch (e) {
    await written.stream?.abort();
    throw e;
  }

  progress.finishing('encode');
  const encodeStart = now();
  const timings = (): UpscaleTimings => ({
    decodeMs,
    inferMs,
    encodeMs: now() - encodeStart,
    totalMs: now() - started,
  });
  const record = inputHash && {
    inputSha256: inputHash,
    runsOn,
    daemonVersion: ctx.daemonVersion ?? 'unknown',
    timings,
  };
  const { jobId, signal, temporaryFile } = ctx;
  const writing = written.stream ?? undefined;
  const out = await commitOutput({ raster, source, plan, request: req, jobId, signal, temporaryFile, record, writing });
  const final = timings();
  progress.finishing('done');
  const sidecar = out.sidecarPath !== undefined ? { sidecarPath: out.sidecarPath } : {};
  return jobResult(ctx, runsOn, req, withOutputFile(plan, out.file), final, [...notes, ...out.warnings], sidecar);
}
