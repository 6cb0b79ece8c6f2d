// The golden test, driven by the registry and the fixtures' case.json: every case folder in
// ../shared/fixtures/spandrel and ../shared/fixtures/arch is read from its .pth and from its
// .safetensors, and the held-out configurations of test/fixtures/held-out (made by the
// make_*.py generators there with spandrel's classes) from the weight file each has. A case
// whose architecture a module converts must convert and reproduce the reference on the whole
// image (relative L2 < 1e-4, max abs < 1e-3), with the traits spandrel's descriptor gives
// (a grey model's graph takes one channel, as spandrel's does); a case whose architecture
// is only recognised must be refused with the error that names it. A new module flips its
// cases from the second to the first.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, REPO_ROOT, maxAbsDiff, readF32, relativeL2, runOnnx } from '../fixtures';
import { detectArchitecture, identify } from '../../models/architectures/detect';
import { NotConvertedError } from '../../models/architectures/refusals';
import type { ModelTraits } from '../../contract/protocol';
import { readPthBytes } from '../../models/readers/pth';
import { readSafetensors } from '../../models/readers/safetensors';
import type { StateDict } from '../../models/weights/state-dict';

interface GoldenCase {
  readonly input: string;
  readonly output: string;
  readonly input_shape: readonly number[];
  readonly output_shape: readonly number[];
}

interface SpandrelFacts {
  readonly architecture: string;
  readonly scale: number;
  readonly input_channels: number;
  readonly output_channels: number;
  readonly supports_half: boolean;
  readonly supports_bfloat16: boolean;
  readonly size_requirements: { readonly minimum: number; readonly multiple_of: number; readonly square: boolean };
  readonly tiling: string;
}

interface CaseJson {
  readonly name: string;
  readonly scale: number;
  readonly cases: readonly GoldenCase[];
  /** spandrel fixtures only: what spandrel's descriptor says about the loaded file. */
  readonly spandrel?: SpandrelFacts;
}

const REL_L2_LIMIT = 1e-4;
const MAX_ABS_LIMIT = 1e-3;

interface Row {
  readonly folder: string;
  readonly architecture: string;
  readonly result: string;
}
const rows: Row[] = [];
after(() => {
  const lines = rows.map((r) => `| ${r.folder} | ${r.architecture} | ${r.result} |`);
  console.log(['', '| case | architecture | result |', '|---|---|---|', ...lines, ''].join('\n'));
});

/**
 * Where each group of cases lives, and the weight files its cases have: a shared case has
 * every one of `formats`; a held-out case those it has, .safetensors, or a .pth with
 * deflated entries where raw tensors would be too large (Real-CUGAN's fixed 5 MB).
 */
const GROUPS = [
  { name: 'arch', dir: path.join(FIXTURES_DIR, 'arch'), formats: ['pth', 'safetensors'], every: true },
  { name: 'spandrel', dir: path.join(FIXTURES_DIR, 'spandrel'), formats: ['pth', 'safetensors'], every: true },
  {
    name: 'held-out',
    dir: path.join(REPO_ROOT, 'test', 'fixtures', 'held-out'),
    formats: ['safetensors', 'pth'],
    every: false,
  },
] as const;

function weightFormats(group: (typeof GROUPS)[number], folder: string): readonly string[] {
  if (group.every) return group.formats;
  return group.formats.filter((f) => fs.existsSync(path.join(group.dir, folder, `${folder}.${f}`)));
}

function folders(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => fs.statSync(path.join(dir, n)).isDirectory())
    .sort();
}

/** The traits spandrel's descriptor gives; the context is Upscale's own (measured by test/integration/arch-seams). */
function expectedTraits(s: SpandrelFacts): Omit<ModelTraits, 'context'> {
  return {
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
}

async function checkConverted(dir: string, json: CaseJson, sd: StateDict, file: string): Promise<string> {
  const { module, config, info } = detectArchitecture(sd, file);
  assert.equal(info.scale, json.scale, 'scale');
  if (json.spandrel) {
    assert.equal(module.id, json.spandrel.architecture.toLowerCase(), 'architecture');
    const { context, ...described } = info.traits ?? {};
    assert.deepEqual(described, expectedTraits(json.spandrel), 'traits as spandrel describes the model');
    assert.ok(context === 'local' || context === 'global', `context ${String(context)}`);
  }
  const model = module.build(sd, config);
  const figures: string[] = [];
  for (const golden of json.cases) {
    const output = await runOnnx(model, readF32(path.join(dir, golden.input)), golden.input_shape);
    assert.deepEqual(output.dims, golden.output_shape, `${golden.input}: output shape`);
    const actual = output.data as Float32Array;
    const reference = readF32(path.join(dir, golden.output));
    const rel = relativeL2(actual, reference);
    const maxAbs = maxAbsDiff(actual, reference);
    assert.ok(rel < REL_L2_LIMIT, `${file} ${golden.input}: relative L2 ${rel}`);
    assert.ok(maxAbs < MAX_ABS_LIMIT, `${file} ${golden.input}: max abs ${maxAbs}`);
    figures.push(
      `${golden.input_shape.slice(2).join('x')}: rel L2 ${rel.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`,
    );
  }
  return figures.join('; ');
}

function checkRefused(json: CaseJson, sd: StateDict, file: string, words: string): string {
  const architecture = json.spandrel?.architecture.toLowerCase();
  assert.throws(
    () => detectArchitecture(sd, file),
    (e: Error) => {
      assert.ok(e instanceof NotConvertedError, `${file}: ${e.message}`);
      assert.equal(e.architecture, architecture);
      assert.ok(e.message.startsWith(`${file}: this is a`), e.message);
      assert.ok(e.message.includes(words), `'${words}' missing from: ${e.message}`);
      assert.ok(e.message.includes('export it to ONNX (chaiNNer can) and import the .onnx'), e.message);
      return true;
    },
  );
  return `refused: ${words}`;
}

for (const group of GROUPS) {
  for (const folder of folders(group.dir)) {
    const formats = weightFormats(group, folder);
    test(`${group.name}/${folder}: from ${formats.map((f) => `.${f}`).join(' and ')}`, async () => {
      assert.ok(formats.length > 0, `${folder} has a weight file`);
      const dir = path.join(group.dir, folder);
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as CaseJson;
      const results: string[] = [];
      let architecture = '';
      for (const ext of formats) {
        const file = `${folder}.${ext}`;
        const bytes = new Uint8Array(fs.readFileSync(path.join(dir, file)));
        const sd = ext === 'pth' ? readPthBytes(bytes, file) : readSafetensors(bytes, file);
        const identity = identify(sd);
        assert.ok(identity, `${file} is recognised`);
        if (identity.kind === 'recognised') {
          architecture = identity.entry.label;
          results.push(checkRefused(json, sd, file, identity.entry.label));
        } else {
          architecture = identity.module.label;
          results.push(`${ext}: ${await checkConverted(dir, json, sd, file)}`);
        }
      }
      rows.push({ folder: `${group.name}/${folder}`, architecture, result: [...new Set(results)].join(' / ') });
    });
  }
}
