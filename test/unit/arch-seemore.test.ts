// SeemoRe's two flags the weights do not hold (use_shuffle, recursive), which spandrel's
// loader turns off only for the Large release (16 layers of 48 channels). Both parts come
// from test/fixtures/held-out/make_part2_b.py: the Large release's tensor names and shapes
// with the flags spandrel gave it, and a small model built with both flags off, whose
// reference is the class's own forward (spandrel would load it with them on, which is why
// it is not among the golden test's held-out cases).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, maxAbsDiff, readF32, relativeL2, runOnnx } from '../fixtures';
import { seemore } from '../../models/architectures/seemore';
import { readSafetensors } from '../../models/readers/safetensors';
import type { StateDict } from '../../models/weights/state-dict';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'seemore-flags');

interface LargeShapes {
  readonly loaded: { readonly use_shuffle: boolean; readonly recursive: number; readonly scale: number };
  readonly shapes: Readonly<Record<string, readonly number[]>>;
}

test("SeemoRe's Large release reads as spandrel loads it: no channel shuffle, one aggregation step", () => {
  const large = JSON.parse(fs.readFileSync(path.join(DIR, 'large_shapes.json'), 'utf8')) as LargeShapes;
  const sd: StateDict = new Map(
    Object.entries(large.shapes).map(([key, shape]) => {
      const count = shape.reduce((a, b) => a * b, 1);
      return [key, { shape, data: new Float32Array(count) }];
    }),
  );
  const config = seemore.readConfig(sd);
  assert.deepEqual([config.useShuffle, config.recursive], [large.loaded.use_shuffle, large.loaded.recursive]);
  assert.deepEqual([config.numLayers, config.embedDim, config.scale], [16, 48, large.loaded.scale]);
  const { params } = seemore.describe(config);
  assert.deepEqual([params['use_shuffle'], params['recursive']], [false, 1]);
});

test('without the channel shuffle and with one aggregation step, the graph matches the class', async () => {
  const name = 'no_shuffle_recursive1_x2';
  const dir = path.join(DIR, name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as {
    cases: readonly { input: string; output: string; input_shape: number[]; output_shape: number[] }[];
  };
  const sd = readSafetensors(fs.readFileSync(path.join(dir, `${name}.safetensors`)), name);
  const read = seemore.readConfig(sd);
  assert.deepEqual([read.useShuffle, read.recursive], [true, 2], 'a small model reads with both flags on');
  const model = seemore.build(sd, { ...read, useShuffle: false, recursive: 1 });
  for (const golden of json.cases) {
    const output = await runOnnx(model, readF32(path.join(dir, golden.input)), golden.input_shape);
    assert.deepEqual(output.dims, golden.output_shape);
    const reference = readF32(path.join(dir, golden.output));
    const rel = relativeL2(output.data as Float32Array, reference);
    const maxAbs = maxAbsDiff(output.data as Float32Array, reference);
    console.log(`${name}: rel L2 ${rel.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
    assert.ok(rel < 1e-4 && maxAbs < 1e-3, `rel L2 ${rel}, max abs ${maxAbs}`);
  }
});
