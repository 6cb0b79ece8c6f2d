// The multiply-accumulates a graph does on one input, counted from the shapes onnxruntime's
// profiler records for each node of a run with only the basic optimisations (constant
// folding and folds into convolutions, which keep every Conv and MatMul with its shapes;
// the full level's NCHWc convolutions record padded, blocked shapes): convolutions, transposed
// convolutions and matrix products (the work a MatMul rate is comparable with);
// element-wise operators, norms and data movement count nothing. Counting the graph as
// written, not a formula per architecture, lets a new architecture's bench entry need
// nothing but its weights.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

interface ShapeEntry {
  readonly float?: readonly number[];
}

interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly args?: {
    readonly op_name?: string;
    readonly input_type_shape?: readonly ShapeEntry[];
    readonly output_type_shape?: readonly ShapeEntry[];
  };
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** One node's multiply-accumulates from its input and output shapes (0 for other operators). */
export function nodeMacs(
  op: string,
  inputs: readonly (readonly number[])[],
  outputs: readonly (readonly number[])[],
): number {
  const [a, b] = inputs;
  const [out] = outputs;
  if (!a || !b || !out) return 0;
  switch (op) {
    case 'Conv':
      // weight [Cout, Cin / groups, kh, kw]: every output value sums Cin / groups · kh · kw products.
      return product(out) * product(b.slice(1));
    case 'ConvTranspose':
      // weight [Cin, Cout / groups, kh, kw]: every input value is spread over Cout / groups · kh · kw outputs.
      return product(a) * product(b.slice(1));
    case 'MatMul':
    case 'Gemm': {
      const k = a[a.length - 1] ?? 0;
      return product(out) * k;
    }
    default:
      return 0;
  }
}

/** Multiply-accumulates of one run of `modelPath` on a [1, channels, size, size] input. */
export async function countMacs(modelPath: string, channels: number, size: number, dir: string): Promise<number> {
  const prefix = path.join(dir, `macs-${path.basename(modelPath, '.onnx')}`);
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'basic',
    enableProfiling: true,
    profileFilePrefix: prefix,
    logSeverityLevel: 3,
  });
  const input = new ort.Tensor('float32', new Float32Array(channels * size * size).fill(0.5), [
    1,
    channels,
    size,
    size,
  ]);
  await session.run({ [session.inputNames[0] as string]: input });
  session.endProfiling();
  await session.release();
  const base = path.basename(prefix);
  const written = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  const [file] = written;
  if (file === undefined || written.length !== 1) throw new Error(`expected one profile ${base}*.json in ${dir}`);
  const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ProfileEvent[];
  fs.rmSync(path.join(dir, file));
  const shapes = (entries: readonly ShapeEntry[] | undefined): number[][] =>
    (entries ?? []).map((e) => [...(e.float ?? [])]);
  return events
    .filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'))
    .reduce(
      (sum, e) =>
        sum + nodeMacs(e.args?.op_name ?? '', shapes(e.args?.input_type_shape), shapes(e.args?.output_type_shape)),
      0,
    );
}
