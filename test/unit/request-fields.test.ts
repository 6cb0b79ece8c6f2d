// The request's field table (contract/request.ts) against everything derived from it: the
// daemon's checks, the command line, package.json's settings and the README's table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseUpscale, REQUEST_FIELDS, UPSCALE_FIELDS, type RequestField } from '../../contract/request';
import { DaemonError } from '../../contract/errors';
import type { Kind } from '../../contract/validate';
import { parseCliArgs, UsageError, USAGE } from '../../daemon/cli-args';
import { optionsTable, START, END } from '../../scripts/readme-options';

const root = process.cwd();

/** A value of the kind that passes its field's rule, as the command line writes it and as JSON carries it. */
function sample(field: string, spec: RequestField): { arg?: string; value: unknown } {
  const kind = spec.kind;
  switch (kind.type) {
    case 'boolean':
      return { value: true };
    case 'number': {
      const n = field === 'tile' ? 64 : kind.integer ? kind.max : kind.max / 2;
      return { arg: String(n), value: n };
    }
    case 'choice': {
      const last = kind.choices[kind.choices.length - 1] ?? '';
      return { arg: last, value: last };
    }
    case 'path':
      return { arg: '/abs/out.png', value: '/abs/out.png' };
    case 'string': {
      const text = { background: '#123456', chain: 'm1,m2', blend: 'm2:0.25' }[field] ?? 'm1';
      return { arg: text, value: text };
    }
  }
}

function outOfRange(kind: Kind): string | null {
  if (kind.type === 'number') return String(kind.max + 1);
  if (kind.type === 'choice') return 'nonsense';
  return null;
}

test('every field with a flag: the command line and the daemon take the same value, and refuse the same', () => {
  for (const [field, spec] of REQUEST_FIELDS) {
    if (!spec.cli) continue;
    const { arg, value } = sample(field, spec);
    const flag = spec.cli.flags[spec.cli.flags.length - 1] ?? '';
    // fit needs both sides.
    const extra = field === 'fit' ? ['--width', '10', '--height', '10'] : [];
    const cmd = parseCliArgs(['a.png', flag, ...(arg === undefined ? [] : [arg]), ...extra], '/w') as unknown as Record<
      string,
      unknown
    >;
    assert.deepEqual(cmd[field], value, `${flag} ${arg ?? ''}`);
    const params = parseUpscale({
      input: '/a.png',
      [field]: value,
      ...(field === 'fit' && { width: 10, height: 10 }),
    }) as Record<string, unknown>;
    assert.deepEqual(params[field], value, field);
    const bad = outOfRange(spec.kind);
    if (bad === null) continue;
    assert.throws(
      () => parseCliArgs(['a.png', flag, bad], '/w'),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(`${flag} is '${bad}'; expected`),
      flag,
    );
    assert.throws(
      () => parseUpscale({ input: '/a.png', [field]: spec.kind.type === 'number' ? Number(bad) : bad }),
      (e: unknown) => e instanceof DaemonError && e.message.startsWith(`upscale: '${field}' is`),
      field,
    );
  }
});

test('a field rule holds on both sides: --tile 16 and tile 16 are refused alike', () => {
  assert.throws(
    () => parseCliArgs(['a.png', '--tile', '16'], '/w'),
    /--tile is '16'; expected 0 \(whole image\) or at least 32/,
  );
  assert.throws(
    () => parseUpscale({ input: '/a.png', tile: 16 }),
    /'tile' is 16; expected 0 \(whole image\) or at least 32/,
  );
  assert.throws(
    () => parseCliArgs(['a.png', '--fit', 'cover'], '/w'),
    /--fit applies only when both --width and --height/,
  );
});

test('the usage lists every flag of the table', () => {
  for (const [, spec] of REQUEST_FIELDS)
    for (const flag of spec.cli?.flags ?? []) assert.ok(USAGE.includes(flag), flag);
});

test("package.json's settings for request fields are the table's: kind, range, choices and default", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, Record<string, unknown>> } };
  };
  const props = manifest.contributes.configuration.properties;
  let settings = 0;
  for (const [field, spec] of REQUEST_FIELDS) {
    const setting = spec.setting;
    if (!setting) continue;
    settings++;
    const p = props[`upscale.${setting.key}`];
    assert.ok(p, `upscale.${setting.key} (${field}) is contributed`);
    assert.equal(p.default, setting.default, `${setting.key} default`);
    assert.equal(p.order, setting.order, `${setting.key} order`);
    const kind = spec.kind;
    if (kind.type === 'choice')
      assert.deepEqual(p.enum, [...(setting.unset === undefined ? [] : [setting.unset]), ...kind.choices], setting.key);
    if (kind.type === 'number' && setting.unset === undefined) {
      assert.equal(p.type, kind.integer ? 'integer' : 'number', setting.key);
      assert.equal(p.minimum, setting.min ?? kind.min, `${setting.key} minimum`);
      assert.equal(p.maximum, setting.max ?? kind.max, `${setting.key} maximum`);
    }
    if (kind.type === 'string' || kind.type === 'path') assert.equal(p.type, 'string', setting.key);
  }
  assert.ok(settings > 0, 'request fields have settings');
});

test("the README's option table is the table's", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  assert.ok(start >= 0 && end > start, 'README.md has the option table markers');
  assert.equal(
    readme.slice(start, end + END.length),
    optionsTable(),
    'README.md option table differs; run `npx tsc -p . && node out/scripts/readme-options.js --write`',
  );
});

test('every field of the table is a field of the request', () => {
  assert.deepEqual(
    Object.keys(UPSCALE_FIELDS),
    REQUEST_FIELDS.map(([f]) => f),
  );
  for (const [field, spec] of REQUEST_FIELDS)
    for (const other of spec.requires ?? []) assert.ok(other in UPSCALE_FIELDS, `${field} requires ${other}`);
  for (const [field] of REQUEST_FIELDS)
    assert.throws(
      () => parseUpscale({ input: '/a.png', [field]: { not: 'a value' } }),
      (e: unknown) => e instanceof DaemonError && !/unknown field/.test(e.message),
      field,
    );
});

test('model and chain are one or the other; a chain and a blend name models, a blend its weight', () => {
  assert.throws(
    () => parseUpscale({ input: '/a.png', model: 'a', chain: 'b,c' }),
    /upscale: give either 'model' or 'chain', not both/,
  );
  assert.throws(
    () => parseUpscale({ input: '/a.png', chain: 'b,,c' }),
    /upscale: 'chain' is "b,,c"; expected 2 to 8 model ids separated by commas/,
  );
  assert.throws(
    () => parseUpscale({ input: '/a.png', blend: 'b:0' }),
    /upscale: 'blend' is "b:0"; expected MODEL:WEIGHT, a model id and a weight above 0 up to 1/,
  );
  assert.throws(() => parseUpscale({ input: '/a.png', tta: 3 }), /upscale: 'tta' is 3; expected 2, 4 or 8/);
  assert.deepEqual(parseUpscale({ input: '/a.png', chain: 'b,c', blend: 'd:1', tta: 4 }), {
    input: '/a.png',
    chain: 'b,c',
    blend: 'd:1',
    tta: 4,
  });
});
