// activate() against a stand-in vscode module: it wires every command from package.json,
// shows the status bar item, and starts no daemon until a command needs one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { DaemonState } from '../../extension/client';
import { fakeContext, installFakeVscode } from '../desktop/fake-vscode';

// One stand-in per test process: the extension's modules bind `vscode` when first loaded.
const fake = installFakeVscode();
const load = createRequire(__filename);
const extension = load('../../extension/extension') as typeof import('../../extension/extension');
const { DaemonAlerts } = load('../../extension/daemon-alerts') as typeof import('../../extension/daemon-alerts');

test('activate registers every contributed command and starts nothing', async () => {
  fake.reset();
  // An extension folder without dist/upscale.js: any daemon start would fail loudly.
  const context = fakeContext(fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-activate-')));
  extension.activate(context as never);
  const manifest = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string }[] };
  };
  for (const { command } of manifest.contributes.commands)
    assert.ok(fake.commands.has(command), `${command} registered`);
  assert.equal(fake.statusBar.text, '$(circle-outline) Upscale');
  assert.equal(fake.log.length, 0, `nothing logged: ${fake.log.join('\n')}`);
  await (fake.commands.get('upscale.showLog') as () => Promise<void>)();
  assert.ok(fake.executed.some((e) => e.id === '<show log>'));
  // Cancel All with nothing running says so.
  await (fake.commands.get('upscale.cancelAll') as () => Promise<void>)();
  assert.equal(fake.shown.at(-1)?.text, 'No Upscale jobs are running.');
  await extension.deactivate();
  for (const d of context.subscriptions) d.dispose();
});

test('a command that needs the daemon, when it cannot start, says so and offers the log', async () => {
  fake.reset();
  const context = fakeContext(fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-activate-')));
  extension.activate(context as never);
  await (fake.commands.get('upscale.showModels') as () => Promise<void>)();
  const error = fake.shown.find((s) => s.kind === 'error');
  assert.ok(error, JSON.stringify(fake.shown));
  assert.match(error.text, /^Upscale: the Upscale daemon .*see the Upscale log$/);
  assert.deepEqual(error.items, ['Show Log']);
  await extension.deactivate();
});

test('the crash-loop stop is announced with Restart Daemon and Show Log; Restart Daemon runs the command', async () => {
  fake.reset();
  let emit: (s: DaemonState) => void = () => undefined;
  const alerts = new DaemonAlerts({ onState: (l) => ((emit = l), { dispose: () => undefined }) });
  let restarted = false;
  fake.commands.set('upscale.restartDaemon', () => (restarted = true));
  fake.respond = (s) => (s.kind === 'error' ? 'Restart Daemon' : undefined);
  emit({ kind: 'restarting', reason: 'x', delayMs: 10 });
  assert.equal(fake.shown.length, 0, 'a restart in progress is not an alert');
  emit({
    kind: 'failed',
    reason: 'the Upscale daemon crashed 5 times in the last 3 minutes; it will not be restarted automatically',
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(fake.shown, [
    {
      kind: 'error',
      text: 'Upscale: the Upscale daemon crashed 5 times in the last 3 minutes; it will not be restarted automatically.',
      items: ['Restart Daemon', 'Show Log'],
    },
  ]);
  assert.equal(restarted, true);
  alerts.dispose();
});

test('the preview panel and the manifest agree on the webview type', () => {
  const panel = load('../../extension/preview/panel') as { PREVIEW_VIEW_TYPE?: string };
  const { PREVIEW_VIEW_TYPE } = load('../../extension/contributions') as typeof import('../../extension/contributions');
  assert.equal(panel.PREVIEW_VIEW_TYPE, PREVIEW_VIEW_TYPE);
});
