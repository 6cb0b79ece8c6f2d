// The README's table of supported architectures, checked against the registry: one row per
// module in registry order with its label; the tiling, fp16/bf16 (one value, or one per
// variant) and size columns agree with the traits every fixture configuration of that module gives; and the sentence of
// recognised-only architectures names exactly the registry's.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, REPO_ROOT } from '../fixtures';
import { ARCHITECTURES, RECOGNISED_ONLY } from '../../models/architectures/registry';
import { identify, readWith } from '../../models/architectures/detect';
import { NotConvertedError } from '../../models/architectures/refusals';
import type { ModelTraits } from '../../contract/protocol';
import { readSafetensors } from '../../models/readers/safetensors';

function readmeSection(): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const match = /<!-- architectures:begin -->([\s\S]*?)<!-- architectures:end -->/.exec(readme);
  assert.ok(match?.[1], 'README.md has the architectures section between its markers');
  return match[1];
}

interface Row {
  readonly label: string;
  readonly id: string;
  readonly size: string;
  readonly tiling: string;
  readonly precision: string;
}

function tableRows(section: string): Row[] {
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| architecture') && !line.startsWith('| ---'))
    .map((line) => {
      const cells = line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
      const [label, id, , size, tiling, precision] = cells;
      assert.ok(label && id && size && tiling && precision, `a full row: ${line}`);
      return { label, id: id.replace(/`/g, ''), size, tiling, precision };
    });
}

/** The traits of every fixture configuration each module converts, by module id. */
function fixtureTraits(): Map<string, ModelTraits[]> {
  const found = new Map<string, ModelTraits[]>();
  const dirs = [
    path.join(FIXTURES_DIR, 'arch'),
    path.join(FIXTURES_DIR, 'spandrel'),
    path.join(REPO_ROOT, 'test', 'fixtures', 'held-out'),
  ];
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name, `${name}.safetensors`);
      if (!fs.existsSync(file)) continue;
      const sd = readSafetensors(fs.readFileSync(file), file);
      const identity = identify(sd);
      if (identity?.kind !== 'converted') continue;
      try {
        const { info } = readWith(identity.module, sd, file);
        if (info.traits) found.set(identity.module.id, [...(found.get(identity.module.id) ?? []), info.traits]);
      } catch (e) {
        if (!(e instanceof NotConvertedError)) throw e;
      }
    }
  }
  return found;
}

test('the README table has one row per converted architecture, in registry order, with its label', () => {
  const rows = tableRows(readmeSection());
  assert.deepEqual(
    rows.map((r) => [r.id, r.label]),
    ARCHITECTURES.map((m) => [m.id, m.label]),
  );
});

test("the README's size, tiling and fp16/bf16 columns agree with every fixture configuration's traits", () => {
  const rows = new Map(tableRows(readmeSection()).map((r) => [r.id, r]));
  const traits = fixtureTraits();
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  for (const module of ARCHITECTURES) {
    const row = rows.get(module.id);
    const seen = traits.get(module.id) ?? [];
    assert.ok(row, module.id);
    assert.ok(seen.length > 0, `${module.id} has fixture configurations`);
    for (const t of seen) {
      assert.equal(row.tiling, t.tiling, `${module.id} tiling`);
      // One value, or one per variant: "variants: yes / yes; other variants: no / yes".
      const values = row.precision.split(';').map((v) => v.replace(/^[^:]*:/, '').trim());
      const value = `${yes(t.fp16)} / ${yes(t.bf16)}`;
      assert.ok(values.includes(value), `${module.id} fp16 / bf16: '${value}' is not in '${row.precision}'`);
      if (t.size.minimum > 0)
        assert.ok(row.size.includes(`at least ${t.size.minimum} px`), `${module.id}: ${row.size}`);
      else assert.ok(row.size.includes('any size'), `${module.id}: ${row.size}`);
      if (t.size.multiple > 1) assert.ok(row.size.includes(`a multiple of ${t.size.multiple}`), row.size);
      if (t.size.square) assert.ok(row.size.includes('square'), row.size);
    }
  }
});

test('the README names every architecture recognised but not converted, and no other', () => {
  const section = readmeSection().replace(/\s+/g, ' ');
  const labels = RECOGNISED_ONLY.map((r) => r.label).sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
  assert.ok(
    section.includes(`Recognised and refused by name: ${labels.join(', ')}.`),
    `expected the sentence: Recognised and refused by name: ${labels.join(', ')}.`,
  );
});
