// PLKSR / RealPLKSR, SPAN and OmniSR read their configuration as spandrel 0.4.2's loaders
// do: for every held-out case of theirs (test/fixtures/held-out, made by make_conv.py), each
// hyper-parameter spandrel's loaded model reports (case.json `config`) is in the module's
// params under the same name with the same value. arch-golden.test.ts checks the outputs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import type { Params } from '../../models/architectures/types';
import { readSafetensors } from '../../models/readers/safetensors';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out');
const ARCHITECTURES = ['PLKSR', 'SPAN', 'OmniSR'];

interface HeldOutCase {
  readonly config: Params;
  readonly spandrel: { readonly architecture: string };
}

const cases = fs
  .readdirSync(DIR)
  .filter((n) => fs.existsSync(path.join(DIR, n, 'case.json')))
  .map((name) => ({
    name,
    json: JSON.parse(fs.readFileSync(path.join(DIR, name, 'case.json'), 'utf8')) as HeldOutCase,
  }))
  .filter((c) => ARCHITECTURES.includes(c.json.spandrel.architecture));

test('every architecture has held-out cases', () => {
  for (const a of ARCHITECTURES) {
    assert.ok(cases.filter((c) => c.json.spandrel.architecture === a).length >= 4, a);
  }
});

for (const { name, json } of cases) {
  test(`held-out/${name}: the hyper-parameters spandrel read`, () => {
    const file = path.join(DIR, name, `${name}.safetensors`);
    const { info } = detectArchitecture(readSafetensors(new Uint8Array(fs.readFileSync(file)), file), file);
    for (const [key, value] of Object.entries(json.config)) assert.deepEqual(info.params[key], value, key);
  });
}
