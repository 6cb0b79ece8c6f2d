// The fp16 version of a model file, derived once and kept beside it: `<folder>/.fp16/<name>`
// (a hidden folder, so no model id can ever name it), with a stamp of the source it came
// from. It is derived again when the source changes (size or modification time) or the
// transform does (FP16_TRANSFORM_VERSION). Written to a temporary name and renamed, so a
// reader never sees half a file and two daemons deriving at once both end with a whole one.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { renameIntoPlace } from '../../platform/rename';
import { FP16_TRANSFORM_VERSION, convertBytesToFloat16 } from './fp16';

interface Stamp {
  readonly transformVersion: number;
  readonly sourceSize: number;
  readonly sourceMtimeMs: number;
}

export function fp16ModelPath(onnxPath: string): string {
  return path.join(path.dirname(onnxPath), '.fp16', path.basename(onnxPath));
}

function stampPath(fp16Path: string): string {
  return fp16Path.replace(/\.onnx$/i, '') + '.json';
}

async function readStamp(file: string): Promise<Stamp | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(tmp, data);
    await renameIntoPlace(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** The fp16 model derived from `onnxPath` (converted now if missing or stale). */
export async function ensureFp16Model(onnxPath: string): Promise<{ path: string; derivedMs: number | null }> {
  const target = fp16ModelPath(onnxPath);
  const source = await fs.stat(onnxPath);
  const want: Stamp = {
    transformVersion: FP16_TRANSFORM_VERSION,
    sourceSize: source.size,
    sourceMtimeMs: source.mtimeMs,
  };
  const have = await readStamp(stampPath(target));
  const present = await fs.stat(target).then(
    () => true,
    () => false,
  );
  if (
    present &&
    have?.transformVersion === want.transformVersion &&
    have.sourceSize === want.sourceSize &&
    have.sourceMtimeMs === want.sourceMtimeMs
  )
    return { path: target, derivedMs: null };
  const start = performance.now();
  const bytes = convertBytesToFloat16(await fs.readFile(onnxPath), onnxPath);
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await writeAtomically(target, bytes);
    await writeAtomically(stampPath(target), `${JSON.stringify(want)}\n`);
  } catch (e) {
    throw new Error(`cannot keep the fp16 model of ${onnxPath} in ${path.dirname(target)}: ${(e as Error).message}`);
  }
  return { path: target, derivedMs: performance.now() - start };
}
