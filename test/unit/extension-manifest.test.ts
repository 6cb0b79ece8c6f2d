// package.json's extension entries equal extension/contributions.ts and config.ts; a drift
// fails here with the command that fixes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_IDS, manifestEntries } from '../../extension/contributions';
import { DEFAULTS, SETTINGS_SCHEMA } from '../../extension/config';

const manifest = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as Record<
  string,
  unknown
>;
const FIX = 'run `npx tsc -p . && node out/scripts/package.js --sync-manifest`';

test('package.json carries the extension entries exactly', () => {
  const entries = manifestEntries() as unknown as Record<string, unknown>;
  for (const key of Object.keys(entries))
    assert.deepEqual(manifest[key], JSON.parse(JSON.stringify(entries[key])), `package.json "${key}" differs; ${FIX}`);
});

test('activation: commands and the preview panel, never *', () => {
  const events = manifest.activationEvents as string[];
  assert.ok(!events.includes('*'));
  for (const id of Object.values(COMMAND_IDS)) assert.ok(events.includes(`onCommand:${id}`), id);
  assert.ok(events.includes('onWebviewPanel:upscale.preview'));
});

test('every setting has a description and a default equal to the code default', () => {
  const props = (
    manifest.contributes as {
      configuration: { properties: Record<string, { default: unknown; markdownDescription?: string }> };
    }
  ).configuration.properties;
  for (const key of Object.keys(SETTINGS_SCHEMA) as (keyof typeof DEFAULTS)[]) {
    const p = props[`upscale.${key}`];
    assert.ok(p, `upscale.${key} is contributed`);
    assert.deepEqual(p.default, DEFAULTS[key], `upscale.${key} default`);
    assert.ok((p.markdownDescription ?? '').length > 20, `upscale.${key} has a description`);
  }
  const caps = manifest.capabilities as {
    untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] };
  };
  assert.equal(caps.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(caps.untrustedWorkspaces.restrictedConfigurations.sort(), [
    'upscale.executionProvider',
    'upscale.modelsFolder',
    'upscale.outputFolder',
    'upscale.outputNameTemplate',
  ]);
  assert.equal((props['upscale.modelsFolder'] as { scope?: string }).scope, 'machine');
  assert.equal((props['upscale.executionProvider'] as { scope?: string }).scope, 'machine');
});

test('marketplace fields are present', () => {
  for (const key of [
    'displayName',
    'description',
    'license',
    'engines',
    'icon',
    'categories',
    'keywords',
    'repository',
    'galleryBanner',
  ]) {
    assert.ok(manifest[key], `package.json has ${key}`);
  }
  const cmds = (manifest.contributes as { commands: { command: string; category: string }[] }).commands;
  assert.deepEqual(cmds.map((c) => c.command).sort(), Object.values(COMMAND_IDS).sort());
  assert.ok(cmds.every((c) => c.category === 'Upscale'));
});
