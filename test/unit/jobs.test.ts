import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobQueue } from '../../daemon/jobs';
import { DaemonError } from '../../contract/errors';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('jobs run one at a time in submission order', async () => {
  const q = new JobQueue();
  const events: string[] = [];
  const job = (name: string) => async () => {
    events.push(`start ${name}`);
    await tick();
    events.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all([q.enqueue(1, job('a')), q.enqueue(2, job('b')), q.enqueue(3, job('c'))]);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('a queued job is cancelled before it starts; a running one at its next checkpoint', async () => {
  const q = new JobQueue();
  let steps = 0;
  const running = q.enqueue(1, async (checkpoint) => {
    for (;;) {
      checkpoint();
      steps++;
      await tick();
    }
  });
  let started = false;
  const queued = q.enqueue(2, async () => {
    started = true;
  });
  const positions: number[] = [];
  const third = q.enqueue(
    3,
    async () => 'third',
    (p) => positions.push(p),
  );
  assert.equal(q.cancel(2), true);
  await assert.rejects(queued, (e: unknown) => e instanceof DaemonError && e.errorName === 'Cancelled');
  await tick();
  assert.equal(q.cancel(1), true);
  await assert.rejects(running, (e: unknown) => e instanceof DaemonError && e.code === -32800);
  assert.equal(await third, 'third');
  assert.equal(started, false);
  assert.ok(steps > 0);
  assert.deepEqual(positions.slice(0, 2), [1, 0]);
  assert.equal(q.cancel(99), false);
});
