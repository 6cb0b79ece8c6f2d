// The layer library's reference vectors (test/fixtures/nn/, made by make_vectors.py with
// PyTorch): each case is one layer's weights, input and PyTorch output. A test builds the
// layer with models/nn/ into a one-layer graph, runs it with onnxruntime and compares.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder } from '../models/onnx/graph';
import { GraphContext } from '../models/nn/context';
import type { StateDict } from '../models/weights/state-dict';
import { REPO_ROOT, maxAbsDiff, relativeL2, runOnnx } from './fixtures';
import * as ort from 'onnxruntime-node';

/** Arch-core's vectors; other branches keep theirs in sibling folders with the same format. */
const DEFAULT_FOLDER = 'nn';

interface TensorEntry {
  readonly shape: readonly number[];
  readonly offset: number;
  readonly count: number;
}

export interface VectorCase {
  /** The folder under test/fixtures the case was read from. */
  readonly folder: string;
  readonly name: string;
  readonly layer: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tensors: Readonly<Record<string, TensorEntry>>;
}

interface VectorFile {
  readonly cases: readonly VectorCase[];
}

interface Loaded {
  readonly file: VectorFile;
  readonly values: Float32Array;
}

const loaded = new Map<string, Loaded>();

function load(folder: string): Loaded {
  let found = loaded.get(folder);
  if (!found) {
    const dir = path.join(REPO_ROOT, 'test', 'fixtures', folder);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'vectors.json'), 'utf8')) as {
      cases: readonly Omit<VectorCase, 'folder'>[];
    };
    const bytes = fs.readFileSync(path.join(dir, 'vectors.bin'));
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    found = { file: { cases: json.cases.map((c) => ({ ...c, folder })) }, values };
    loaded.set(folder, found);
  }
  return found;
}

/** The cases of one layer kind, from test/fixtures/`folder`. */
export function casesOf(layer: string, folder = DEFAULT_FOLDER): VectorCase[] {
  const found = load(folder).file.cases.filter((c) => c.layer === layer);
  assert.ok(found.length > 0, `${folder}/vectors.json has cases for '${layer}'`);
  return found;
}

export function tensorOf(c: VectorCase, role: string): { shape: readonly number[]; data: Float32Array } {
  const entry = c.tensors[role];
  assert.ok(entry, `${c.name} has tensor '${role}'`);
  return { shape: entry.shape, data: load(c.folder).values.subarray(entry.offset, entry.offset + entry.count) };
}

/** The case's weights (every tensor but input, grid and output) as a state dict. */
export function weightsOf(c: VectorCase): StateDict {
  const sd: StateDict = new Map();
  for (const role of Object.keys(c.tensors)) {
    if (role === 'input' || role === 'output' || role === 'grid') continue;
    const t = tensorOf(c, role);
    sd.set(role, { shape: t.shape, data: Float32Array.from(t.data) });
  }
  return sd;
}

export function param<T>(c: VectorCase, key: string): T {
  assert.ok(key in c.params, `${c.name} has parameter '${key}'`);
  return c.params[key] as T;
}

/** Tolerances for one layer in float32 against PyTorch's float32. */
const REL_L2 = 2e-6;
const MAX_ABS = 2e-5;

/**
 * Builds `layer` (x → y, and the grid for grid sampling) on the case's weights with dynamic
 * spatial axes, runs it on the case's input, and checks PyTorch's output. Returns the figures.
 */
export async function checkCase(
  c: VectorCase,
  layer: (ctx: GraphContext, x: string, extra: { grid?: string }) => string,
): Promise<{ relL2: number; maxAbs: number }> {
  const input = tensorOf(c, 'input');
  const expected = tensorOf(c, 'output');
  const g = new GraphBuilder(c.name);
  const ctx = new GraphContext(g, weightsOf(c));
  // Every axis but the batch is left to run time, as in the converted models.
  const x = g.input(
    'input',
    input.shape.map((d, i) => (i === 0 ? d : `d${i}`)),
  );
  const hasGrid = 'grid' in c.tensors;
  const grid = hasGrid ? g.input('grid', tensorOf(c, 'grid').shape) : undefined;
  g.output(
    layer(ctx, x, grid === undefined ? {} : { grid }),
    'output',
    expected.shape.map((_, i) => `o${i}`),
  );
  const model = g.toBytes();
  let actual: ort.Tensor;
  if (grid === undefined) {
    actual = await runOnnx(model, Float32Array.from(input.data), input.shape);
  } else {
    const session = await ort.InferenceSession.create(model);
    try {
      const gridTensor = tensorOf(c, 'grid');
      const result = await session.run({
        input: new ort.Tensor('float32', Float32Array.from(input.data), [...input.shape]),
        grid: new ort.Tensor('float32', Float32Array.from(gridTensor.data), [...gridTensor.shape]),
      });
      const out = result['output'];
      assert.ok(out);
      actual = out;
    } finally {
      await session.release();
    }
  }
  assert.deepEqual(actual.dims, expected.shape, `${c.name}: output shape`);
  const values = actual.data as Float32Array;
  const relL2 = relativeL2(values, expected.data);
  const maxAbs = maxAbsDiff(values, expected.data);
  console.log(`${c.name}: rel L2 ${relL2.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
  assert.ok(relL2 < REL_L2, `${c.name}: relative L2 ${relL2}`);
  assert.ok(maxAbs < MAX_ABS, `${c.name}: max abs ${maxAbs}`);
  return { relL2, maxAbs };
}
