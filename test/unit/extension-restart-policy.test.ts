import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy } from '../../extension/restart-policy';

test('restarts with doubling delays, then stops at the 5th crash within 3 minutes', () => {
  const p = new RestartPolicy();
  const d = [0, 1000, 2000, 3000].map((t) => p.crashed(t));
  assert.deepEqual(
    d.map((x) => x.restart && x.delayMs),
    [500, 1000, 2000, 4000],
  );
  const fifth = p.crashed(4000);
  assert.equal(fifth.restart, false);
  assert.equal(fifth.crashesInWindow, 5);
  assert.match(
    !fifth.restart ? fifth.reason : '',
    /crashed 5 times in the last 3 minutes; it will not be restarted automatically/,
  );
});

test('crashes older than the window are forgotten', () => {
  const p = new RestartPolicy();
  for (const t of [0, 10_000, 20_000, 30_000]) assert.equal(p.crashed(t).restart, true);
  // 3 minutes after the first two, only two recent ones remain.
  const d = p.crashed(195_000);
  assert.equal(d.restart, true);
  assert.equal(d.crashesInWindow, 3);
});

test('delay is capped', () => {
  const p = new RestartPolicy({ maxCrashes: 100, windowMs: 1e9, baseDelayMs: 500, maxDelayMs: 8000 });
  let last = 0;
  for (let i = 0; i < 10; i++) {
    const d = p.crashed(i);
    assert.ok(d.restart);
    last = d.delayMs;
  }
  assert.equal(last, 8000);
});

test('reset gives a fresh budget (the user pressed Restart Daemon)', () => {
  const p = new RestartPolicy();
  for (let i = 0; i < 5; i++) p.crashed(i);
  p.reset();
  const d = p.crashed(10);
  assert.deepEqual(d, { restart: true, delayMs: 500, crashesInWindow: 1 });
});
