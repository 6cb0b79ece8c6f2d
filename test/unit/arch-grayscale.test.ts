// Grayscale weights (in_chans 1) are applied to each RGB channel: the graph takes and gives
// three channels, and each output channel is what spandrel's model gives for that input
// channel alone. test/fixtures/held-out-grayscale (made by ../fixtures/held-out/make_attn.py)
// holds such models with that reference; each must say so in its variant, describe three
// channels, keep the rest of spandrel's description, and match (relative L2 < 1e-4, max abs
// < 1e-3).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, maxAbsDiff, readF32, relativeL2, runOnnx, type GoldenCase } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import { readSafetensors } from '../../models/readers/safetensors';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out-grayscale');

interface GrayscaleCase {
  readonly scale: number;
  readonly cases: readonly GoldenCase[];
  readonly spandrel: {
    readonly architecture: string;
    readonly input_channels: number;
    readonly size_requirements: { readonly minimum: number; readonly multiple_of: number };
  };
}

const folders = fs
  .readdirSync(DIR)
  .filter((n) => fs.existsSync(path.join(DIR, n, 'case.json')))
  .sort();

test('there are grayscale models of RGT, DRCT and ATD', () => {
  assert.deepEqual(new Set(folders.map((f) => f.split('_')[0])), new Set(['atd', 'drct', 'rgt']));
});

for (const folder of folders) {
  test(`held-out-grayscale/${folder}: applied to each RGB channel`, async () => {
    const dir = path.join(DIR, folder);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as GrayscaleCase;
    assert.equal(json.spandrel.input_channels, 1, 'the file holds grayscale weights');
    const file = `${folder}.safetensors`;
    const sd = readSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, file))), file);
    const { module, config, info } = detectArchitecture(sd, file);
    assert.equal(module.id, json.spandrel.architecture.toLowerCase());
    assert.equal(info.scale, json.scale);
    assert.match(info.variant, /grayscale \(applied per RGB channel\)/);
    assert.deepEqual(info.traits?.channels, { input: 3, output: 3 });
    assert.equal(info.traits?.size.minimum, json.spandrel.size_requirements.minimum);
    assert.equal(info.traits?.size.multiple, json.spandrel.size_requirements.multiple_of);
    const model = module.build(sd, config);
    for (const golden of json.cases) {
      assert.equal(golden.input_shape[1], 3);
      const output = await runOnnx(model, readF32(path.join(dir, golden.input)), golden.input_shape);
      assert.deepEqual(output.dims, golden.output_shape);
      const reference = readF32(path.join(dir, golden.output));
      const rel = relativeL2(output.data as Float32Array, reference);
      const maxAbs = maxAbsDiff(output.data as Float32Array, reference);
      process.stdout.write(`# ${folder}: rel L2 ${rel.toExponential(2)}, max abs ${maxAbs.toExponential(2)}\n`);
      assert.ok(rel < 1e-4, `${folder}: relative L2 ${rel}`);
      assert.ok(maxAbs < 1e-3, `${folder}: max abs ${maxAbs}`);
    }
  });
}
