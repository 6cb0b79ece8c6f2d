// Where the shared golden vectors live: `../shared/fixtures` beside the repository root
// (as in CI's clone), unless UPSCALE_FIXTURES points elsewhere. Tests run from the root.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

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
  for (let i = 0; i < reference.length; i++)
    m = Math.max(m, Math.abs((actual[i] as number) - (reference[i] as number)));
  return m;
}

/** One golden case of an architecture fixture: an input and the upstream output, raw float32 NCHW. */
export interface GoldenCase {
  readonly input: string;
  readonly output: string;
  readonly input_shape: readonly number[];
  readonly output_shape: readonly number[];
}

/** One run of an ONNX model's first input and output, the session released after. */
export async function runOnnx(model: Uint8Array, input: Float32Array, shape: readonly number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model);
  try {
    const result = await session.run({
      [session.inputNames[0] as string]: new ort.Tensor('float32', input, [...shape]),
    });
    const output = result[session.outputNames[0] as string];
    assert.ok(output, 'the graph has an output');
    return output;
  } finally {
    await session.release();
  }
}

/** Runs `model` on a golden case from `dir` and asserts the upstream output: relative L2 below 1e-4, max abs below 1e-3. */
export async function assertMatchesGolden(
  model: Uint8Array,
  dir: string,
  golden: GoldenCase,
  label: string,
): Promise<void> {
  const output = await runOnnx(model, readF32(path.join(dir, golden.input)), golden.input_shape);
  assert.deepEqual(output.dims, golden.output_shape);
  const actual = output.data as Float32Array;
  const reference = readF32(path.join(dir, golden.output));
  const rel = relativeL2(actual, reference);
  const maxAbs = maxAbsDiff(actual, reference);
  console.log(
    `${label} ${golden.input_shape.join('x')}: rel L2 ${rel.toExponential(3)}, max abs ${maxAbs.toExponential(3)}`,
  );
  assert.ok(rel < 1e-4, `${label}: relative L2 ${rel}`);
  assert.ok(maxAbs < 1e-3, `${label}: max abs ${maxAbs}`);
}
