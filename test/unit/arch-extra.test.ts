// Held-out configurations (test/fixtures/arch-extra/, made by its make_*.py with spandrel
// 0.4.2's classes): other scales, widths, depths, norms, upsamplers and channel counts than
// the golden fixtures show. Each file must be detected as the architecture spandrel loaded
// it as, read with spandrel's hyper-parameters and descriptor traits, convert, and reproduce
// spandrel's output on the whole image (relative L2 < 1e-4, max abs < 1e-3).
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, maxAbsDiff, readF32, relativeL2, runOnnx, type GoldenCase } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import type { ModelTraits, Params } from '../../models/architectures/types';
import { readPthBytes } from '../../models/readers/pth';
import { readSafetensors } from '../../models/readers/safetensors';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'arch-extra');

interface ExtraCase {
  readonly name: string;
  readonly scale: number;
  readonly config: Params;
  readonly files: { readonly safetensors?: string; readonly pth?: string };
  readonly cases: readonly GoldenCase[];
  readonly spandrel: {
    readonly architecture: string;
    readonly input_channels: number;
    readonly output_channels: number;
    readonly supports_half: boolean;
    readonly supports_bfloat16: boolean;
    readonly size_requirements: { readonly minimum: number; readonly multiple_of: number; readonly square: boolean };
    readonly tiling: string;
  };
}

const REL_L2_LIMIT = 1e-4;
const MAX_ABS_LIMIT = 1e-3;

const rows: string[] = [];
after(() => console.log(['', '| case | file | rel L2 | max abs |', '|---|---|---|---|', ...rows, ''].join('\n')));

const folders = fs
  .readdirSync(DIR)
  .filter((n) => fs.existsSync(path.join(DIR, n, 'case.json')))
  .sort();

test('the held-out folder has cases', () => {
  assert.ok(folders.length >= 20, `found ${folders.length}`);
});

for (const folder of folders) {
  test(`arch-extra/${folder}`, async () => {
    const dir = path.join(DIR, folder);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as ExtraCase;
    const files = Object.entries(json.files);
    assert.ok(files.length > 0, 'the case names a weights file');
    for (const [kind, file] of files) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, file)));
      const sd = kind === 'pth' ? readPthBytes(bytes, file) : readSafetensors(bytes, file);
      const { module, config, info } = detectArchitecture(sd, file);
      const s = json.spandrel;
      assert.equal(module.id, s.architecture.toLowerCase(), 'architecture');
      assert.equal(info.scale, json.scale, 'scale');
      const traits: ModelTraits = {
        channels: { input: s.input_channels, output: s.output_channels },
        size: {
          minimum: s.size_requirements.minimum,
          multiple: s.size_requirements.multiple_of,
          square: s.size_requirements.square,
        },
        tiling: s.tiling.toLowerCase() as ModelTraits['tiling'],
        fp16: s.supports_half,
        bf16: s.supports_bfloat16,
      };
      assert.deepEqual(info.traits, traits, 'traits as spandrel describes the model');
      // Every hyper-parameter spandrel read, under its constructor name.
      for (const [key, value] of Object.entries(json.config)) assert.deepEqual(info.params[key], value, key);
      const model = module.build(sd, config);
      for (const golden of json.cases) {
        const output = await runOnnx(model, readF32(path.join(dir, golden.input)), golden.input_shape);
        assert.deepEqual(output.dims, golden.output_shape, 'output shape');
        const actual = output.data as Float32Array;
        const reference = readF32(path.join(dir, golden.output));
        const rel = relativeL2(actual, reference);
        const maxAbs = maxAbsDiff(actual, reference);
        rows.push(`| ${folder} | ${kind} | ${rel.toExponential(2)} | ${maxAbs.toExponential(2)} |`);
        assert.ok(rel < REL_L2_LIMIT, `${file}: relative L2 ${rel}`);
        assert.ok(maxAbs < MAX_ABS_LIMIT, `${file}: max abs ${maxAbs}`);
      }
    }
  });
}
