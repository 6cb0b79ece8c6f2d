// The end of a job: the raster encoded, with the source's metadata, to a temporary file
// beside the target, the sidecar written when asked for, and both moved into place. A
// failure removes what it wrote, so nothing partial is left.
import * as fs from 'node:fs/promises';
import { DaemonError, throwIfCancelled, WRITE_FAILURES } from '../../contract/errors';
import type { RunsOn, UpscaleTimings } from '../../contract/protocol';
import { renameIntoPlace } from '../../platform/rename';
import { encodeImage } from '../image/encode';
import type { EncodeResult, Raster, SourceInfo } from '../image/types';
import type { JobPlan, OutputChoice, PipelineModel, PipelineRequest } from './job-plan';
import { checkNamedOutput, freePath, NameTaken, partialPath, placeFile } from './output-path';
import {
  SIDECAR_FORMAT,
  runtimeVersions,
  sha256Bytes,
  sidecarPathFor,
  weightsSha256,
  writeSidecar,
  type ModelRole,
  type Sidecar,
  type SidecarModel,
} from './sidecar';

export interface Commit {
  readonly raster: Raster;
  readonly source: SourceInfo;
  readonly plan: JobPlan;
  readonly request: PipelineRequest;
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Told each temporary file before it is written (the daemon's journal, daemon/temp-files.ts). */
  readonly temporaryFile?: (file: string) => void;
  /** What the sidecar records beyond the plan, when one is asked for. */
  readonly record: RecordFacts | null;
  /** The output being written already, to outputTemporary's file (a PNG written as the job ran): finishing it is the encoding. */
  readonly writing?: { finish(): Promise<EncodeResult> };
}

export interface RecordFacts {
  readonly inputSha256: Promise<string>;
  /** The provider and precision the model ran on, with why. */
  readonly runsOn: RunsOn;
  readonly daemonVersion: string;
  /** The job's timings so far, read as the record is written. */
  readonly timings: () => UpscaleTimings;
}

export interface Committed {
  /** Where the image landed. */
  readonly file: string;
  readonly sidecarPath?: string;
  /** What the output could not keep, the source's and the plan's warnings included. */
  readonly warnings: readonly string[];
}

/** The temporary file the output is written to, beside where it will land. */
export function outputTemporary(plan: JobPlan, jobId: string): string {
  return partialPath(plan.output.file, jobId);
}

/** Encodes, records and places the output (see the top of this file). */
export async function commitOutput(c: Commit): Promise<Committed> {
  const { plan, request: req } = c;
  const temp = outputTemporary(plan, c.jobId);
  c.temporaryFile?.(temp);
  let file = plan.output.file;
  let sidecarTemp: string | null = null;
  try {
    const encoded = c.writing
      ? await c.writing.finish()
      : await encodeImage(c.raster, encodeSource(c.source, plan), {
          path: temp,
          format: plan.output.format,
          ...(req.quality !== undefined ? { quality: req.quality } : {}),
        });
    throwIfCancelled(c.signal);
    // Checked again: the job may have run long enough for someone else to take the name.
    const wanted = await claimOutput(plan.output, req);
    if (c.record !== null) {
      sidecarTemp = partialPath(sidecarPathFor(wanted), c.jobId);
      c.temporaryFile?.(sidecarTemp);
      await writeSidecar(sidecarTemp, await sidecarRecord(c, c.record, wanted));
    }
    // In the rare race with another writer the image may land under a later free name;
    // its record then follows it (the record's own output.path keeps the first choice).
    file = await placeFile(temp, wanted, req.input, { overwrite: req.overwrite, named: plan.output.named });
    const sidecarPath = sidecarTemp === null ? undefined : await placeSidecar(sidecarTemp, file);
    return {
      file,
      warnings: [...c.source.warnings, ...plan.warnings, ...encoded.warnings],
      ...(sidecarPath !== undefined && { sidecarPath }),
    };
  } catch (e) {
    await fs.rm(temp, { force: true });
    if (sidecarTemp !== null) await fs.rm(sidecarTemp, { force: true });
    throw writeError(file, e);
  }
}

/** The planned output file, if still free: a name the user gave is kept or refused, a name the program chose moves on to the next free one. */
export async function claimOutput(output: OutputChoice, req: PipelineRequest): Promise<string> {
  if (!output.named) return freePath(output.file, req.input, req.overwrite);
  try {
    await checkNamedOutput(output.file, req.input, req.overwrite);
    // Its record is named by the user's name too, so the same promise covers it.
    if (req.sidecar) await checkNamedOutput(sidecarPathFor(output.file), req.input, req.overwrite);
  } catch (e) {
    throw new DaemonError('OutputNotWritable', (e as Error).message, output.file);
  }
  return output.file;
}

/** Transparent padding needs an alpha channel in the output even when the source had none. */
export function encodeSource(source: SourceInfo, plan: JobPlan): SourceInfo {
  const transparentPad = plan.background !== null && plan.background.rgba.a === 0;
  return transparentPad && !source.hasAlpha ? { ...source, hasAlpha: true } : source;
}

/** Moves the record beside where the image landed. The image was asked for with its record: without one, neither is kept. */
async function placeSidecar(temp: string, image: string): Promise<string> {
  const sidecarPath = sidecarPathFor(image);
  try {
    await renameIntoPlace(temp, sidecarPath);
  } catch (e) {
    await fs.rm(image, { force: true });
    throw e;
  }
  return sidecarPath;
}

async function sidecarRecord(c: Commit, facts: RecordFacts, output: string): Promise<Sidecar> {
  const { plan, request: req, raster } = c;
  const timings = facts.timings();
  const { format } = plan.output;
  return {
    format: SIDECAR_FORMAT,
    input: { path: req.input, sha256: await facts.inputSha256, ...plan.input },
    output: {
      path: output,
      width: raster.width,
      height: raster.height,
      format,
      channels: raster.channels,
      depth: raster.depth,
      pixelsSha256: sha256Bytes(raster.data),
    },
    model: { ...(await modelRecord(plan.model)), reason: plan.modelReason },
    models: await Promise.all(jobModels(plan).map(async ({ m, role }) => ({ ...(await modelRecord(m)), role }))),
    parameters: {
      request: req.params ?? {},
      resolved: {
        target: req.target,
        tile: plan.tile,
        overlap: plan.overlap,
        alpha: req.alpha,
        padding: plan.padding,
        fit: plan.geometry.fit,
        background: plan.background?.text ?? null,
        format,
        quality: req.quality ?? null,
        depth: plan.depth,
        channels: plan.channels,
      },
    },
    plan: { ...plan.summary, outputPath: output },
    ...facts.runsOn,
    versions: runtimeVersions(facts.daemonVersion),
    timings,
  };
}

/** Every model the job ran, in order, with what it was to the job. */
function jobModels(plan: JobPlan): { m: PipelineModel; role: ModelRole }[] {
  const chain = plan.chain.map((m, i) => ({ m, role: i === plan.mainIndex ? ('main' as const) : ('chain' as const) }));
  return plan.blend ? [...chain, { m: plan.blend.model, role: 'blend' }] : chain;
}

async function modelRecord(m: PipelineModel): Promise<SidecarModel> {
  return { id: m.id, scale: m.scale, weightsSha256: m.onnxPath ? await weightsSha256(m.onnxPath) : null };
}

function writeError(file: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  if (e instanceof NameTaken) return new DaemonError('OutputNotWritable', e.message, e.file);
  // libvips' own failures carry an errno too (see EncodeWriteError).
  const err = e as NodeJS.ErrnoException;
  const reason = (err.code && WRITE_FAILURES[err.code]) ?? (err.message || String(e)).split('\n')[0];
  return new DaemonError('OutputNotWritable', `${file}: cannot write the output: ${reason}`, file);
}
