// Where the shared golden vectors live: `../shared/fixtures` beside the repository root
// (as in CI's clone), unless UPSCALE_FIXTURES points elsewhere. Tests run from the root.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = process.cwd();
export const FIXTURES_DIR = process.env.UPSCALE_FIXTURES ?? path.resolve(REPO_ROOT, '..', 'shared', 'fixtures');

/** Reads a raw little-endian float32 file. */
export function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** ||a - b|| / ||b|| */
export function relativeL2(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) throw new Error(`length ${actual.length} != ${reference.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = (actual[i] as number) - (reference[i] as number);
    num += d * d;
    den += (reference[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

export function maxAbsDiff(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < reference.length; i++) m = Math.max(m, Math.abs((actual[i] as number) - (reference[i] as number)));
  return m;
}
