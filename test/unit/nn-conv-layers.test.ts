// Mish, GroupNorm and DySample against PyTorch (test/fixtures/nn-conv/, made by its
// make_vectors.py; DySample is spandrel's own class): each layer built with models/nn/ into
// a one-layer graph with every axis but the batch left to run time, run with onnxruntime,
// and compared with PyTorch's output.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, maxAbsDiff, relativeL2, runOnnx } from '../fixtures';
import { GraphBuilder } from '../../models/onnx/graph';
import { GraphContext } from '../../models/nn/context';
import { mish } from '../../models/nn/activation';
import { groupNorm } from '../../models/nn/norm';
import { dySample } from '../../models/nn/dysample';
import type { StateDict } from '../../models/weights/state-dict';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'nn-conv');
const REL_L2 = 2e-6;
const MAX_ABS = 2e-5;

interface VectorCase {
  readonly name: string;
  readonly layer: string;
  readonly params: Readonly<Record<string, number | boolean>>;
  readonly tensors: Readonly<Record<string, { shape: number[]; offset: number; count: number }>>;
}

const { cases } = JSON.parse(fs.readFileSync(path.join(DIR, 'vectors.json'), 'utf8')) as { cases: VectorCase[] };
const bytes = fs.readFileSync(path.join(DIR, 'vectors.bin'));
const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

function tensor(c: VectorCase, role: string): { shape: number[]; data: Float32Array } {
  const entry = c.tensors[role];
  assert.ok(entry, `${c.name} has '${role}'`);
  return { shape: entry.shape, data: values.slice(entry.offset, entry.offset + entry.count) };
}

function number(c: VectorCase, key: string): number {
  const v = c.params[key];
  assert.equal(typeof v, 'number', `${c.name}: ${key}`);
  return v as number;
}

const LAYERS: Record<string, (ctx: GraphContext, x: string, c: VectorCase) => string> = {
  mish: (ctx, x) => mish(ctx, x),
  group_norm: (ctx, x, c) => groupNorm(ctx, x, 'norm', number(c, 'groups'), number(c, 'eps')),
  dysample: (ctx, x, c) =>
    dySample(ctx, x, {
      prefix: 'to_img',
      channels: number(c, 'channels'),
      scale: number(c, 'scale'),
      groups: number(c, 'groups'),
      endConvolution: c.params['endConvolution'] === true,
    }),
};

test('every layer has cases', () => {
  for (const layer of Object.keys(LAYERS))
    assert.ok(
      cases.some((c) => c.layer === layer),
      layer,
    );
});

for (const c of cases) {
  test(`${c.layer}: ${c.name}`, async () => {
    const build = LAYERS[c.layer];
    assert.ok(build, `a builder for ${c.layer}`);
    const sd: StateDict = new Map(
      Object.keys(c.tensors)
        .filter((role) => role !== 'input' && role !== 'output')
        .map((role) => [role, tensor(c, role)]),
    );
    const input = tensor(c, 'input');
    const expected = tensor(c, 'output');
    const g = new GraphBuilder(c.name);
    const x = g.input(
      'input',
      input.shape.map((d, i) => (i === 0 ? d : `d${i}`)),
    );
    g.output(
      build(new GraphContext(g, sd), x, c),
      'output',
      expected.shape.map((_, i) => `o${i}`),
    );
    const output = await runOnnx(g.toBytes(), input.data, input.shape);
    assert.deepEqual(output.dims, expected.shape);
    const rel = relativeL2(output.data as Float32Array, expected.data);
    const maxAbs = maxAbsDiff(output.data as Float32Array, expected.data);
    console.log(`${c.name}: rel L2 ${rel.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
    assert.ok(rel < REL_L2, `${c.name}: relative L2 ${rel}`);
    assert.ok(maxAbs < MAX_ABS, `${c.name}: max abs ${maxAbs}`);
  });
}
