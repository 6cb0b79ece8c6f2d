// The supervisor's time limits, against stand-in daemons that misbehave on purpose: one
// that never answers `initialize`, one that ignores `shutdown` and `exit`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonClient } from '../../extension/client';
import { RestartPolicy } from '../../extension/restart-policy';
import { STAND_IN_FRAMING } from '../stand-in-daemon';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-supervision-'));

/** A stand-in daemon: answers `initialize` when told to, and never exits on its own. */
function standIn(name: string, answerInitialize: boolean): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(
    file,
    `
    ${STAND_IN_FRAMING}
    onMessage((msg) => {
      if (msg.method === 'initialize' && ${answerInitialize}) initialized(msg);
    });
    process.on('SIGTERM', () => undefined);
    setInterval(() => undefined, 1000);
  `,
  );
  return file;
}

function client(script: string, logs: string[]): DaemonClient {
  return new DaemonClient({
    launch: () => ({ command: process.execPath, args: [script], env: process.env, initialize: {} }),
    log: (level, message) => logs.push(`${level}: ${message}`),
    policy: new RestartPolicy({ maxCrashes: 2, windowMs: 60_000, baseDelayMs: 10, maxDelayMs: 10 }),
    startTimeoutMs: 300,
    stopTimeoutMs: 300,
  });
}

test('a daemon that never answers initialize is killed and counted as a crash', async (t) => {
  const logs: string[] = [];
  const c = client(standIn('silent', false), logs);
  // The stand-ins ignore SIGTERM: a failed assertion must still end them, or the test
  // process waits on their pipes for ever.
  t.after(() => c.dispose());
  await assert.rejects(c.start(), /the Upscale daemon .*see the Upscale log/);
  assert.ok(
    logs.some((l) => l === 'error: the daemon did not answer "initialize" within 0.3 s; killing it'),
    logs.join('\n'),
  );
  // Second crash within the window (policy: 2) stops the restarts.
  await new Promise<void>((resolve) => {
    const sub = c.onState((s) => {
      if (s.kind === 'failed') {
        sub.dispose();
        resolve();
      }
    });
  });
  await assert.rejects(c.start(), /crashed 2 times/);
});

test('stop: shutdown and exit first, then a kill when the daemon ignores them', async (t) => {
  const logs: string[] = [];
  const c = client(standIn('stubborn', true), logs);
  t.after(() => c.dispose());
  const init = await c.start();
  assert.equal(init.version, 'stand-in');
  const pid = Number(c.pid);
  await c.stop();
  assert.ok(
    logs.some((l) => l === 'warn: the daemon did not exit within 300 ms; killing it'),
    logs.join('\n'),
  );
  assert.equal(c.state.kind, 'stopped');
  assert.throws(() => process.kill(pid, 0));
  // Stopped on purpose: not a crash, so no restart.
  assert.ok(!logs.some((l) => /unexpectedly/.test(l)));
});
