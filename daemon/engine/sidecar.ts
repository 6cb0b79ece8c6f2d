// The reproducibility record written beside an output (`OUTPUT.json`): what went in (input
// and weights hashes), what was asked (every parameter), what ran (plan, provider and
// precision with why, versions) and how long it took. Everything but `timings` is the same
// for the same command on the same provider and precision, and so are the output pixels
// (`output.pixelsSha256`).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { RunsOn, UpscalePlan, UpscaleTimings } from '../../contract/protocol';

export const SIDECAR_FORMAT = 'upscale-sidecar/1';

export interface SidecarModel {
  readonly id: string;
  readonly scale: number;
  readonly weightsSha256: string | null;
}

/** What a model was to the job: the main model, another in its chain, or the blend. */
export type ModelRole = 'main' | 'chain' | 'blend';

export interface Sidecar extends RunsOn {
  readonly format: typeof SIDECAR_FORMAT;
  readonly input: {
    readonly path: string;
    readonly sha256: string;
    readonly width: number;
    readonly height: number;
    readonly format: string;
  };
  readonly output: {
    readonly path: string;
    readonly width: number;
    readonly height: number;
    readonly format: string;
    readonly channels: number;
    readonly depth: number;
    readonly pixelsSha256: string;
  };
  /** The main model: the one whose passes reached the target. */
  readonly model: SidecarModel & { readonly reason: string };
  /** Every model the job ran, in order (a chain's, then a blend's), each with its hash. */
  readonly models: readonly (SidecarModel & { readonly role: ModelRole })[];
  /** The request as received, and the values the daemon resolved for what it left out. */
  readonly parameters: {
    readonly request: Readonly<Record<string, unknown>>;
    readonly resolved: Readonly<Record<string, unknown>>;
  };
  readonly plan: UpscalePlan;
  readonly versions: Readonly<Record<string, string>>;
  readonly timings: UpscaleTimings;
}

/** Where the sidecar of `output` goes: the output's name plus `.json`. */
export function sidecarPathFor(output: string): string {
  return `${output}.json`;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const weightsHashes = new Map<string, { key: string; hash: string }>();

/** sha256 of a model's ONNX file, remembered while its size and modification time stay the same. */
export async function weightsSha256(file: string): Promise<string> {
  const stat = await fs.stat(file);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const known = weightsHashes.get(file);
  if (known?.key === key) return known.hash;
  const hash = await sha256File(file);
  weightsHashes.set(file, { key, hash });
  return hash;
}

export function sha256Bytes(data: Uint8Array | Uint16Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

export function runtimeVersions(daemonVersion: string): Record<string, string> {
  return {
    daemon: daemonVersion,
    'onnxruntime-node': ort.env.versions.node ?? 'unknown',
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    node: process.versions.node,
  };
}

/** Writes the sidecar to `temp` (in the target folder, renamed into place by the caller). */
export async function writeSidecar(temp: string, sidecar: Sidecar): Promise<void> {
  await fs.mkdir(path.dirname(temp), { recursive: true });
  await fs.writeFile(temp, `${JSON.stringify(sidecar, null, 2)}\n`);
}
