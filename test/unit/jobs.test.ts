import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobQueue } from '../../daemon/jobs';
import { UpscaleService } from '../../daemon/service';
import { DaemonError, throwIfCancelled } from '../../contract/errors';

const tick = () => new Promise((r) => setTimeout(r, 1));
const signal = () => new AbortController().signal;

test('jobs run one at a time in submission order', async () => {
  const q = new JobQueue();
  const events: string[] = [];
  const job = (name: string) => async () => {
    events.push(`start ${name}`);
    await tick();
    events.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all([
    q.enqueue(signal(), job('a')),
    q.enqueue(signal(), job('b')),
    q.enqueue(signal(), job('c')),
  ]);
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test("a queued job is cancelled before it starts; a running one at its next check of its request's signal", async () => {
  const q = new JobQueue();
  let steps = 0;
  const first = new AbortController();
  const running = q.enqueue(first.signal, async (signal) => {
    for (;;) {
      throwIfCancelled(signal);
      steps++;
      await tick();
    }
  });
  let started = false;
  const second = new AbortController();
  const queued = q.enqueue(second.signal, async () => {
    started = true;
  });
  const positions: number[] = [];
  const third = q.enqueue(
    signal(),
    async () => 'third',
    (p) => positions.push(p),
  );
  second.abort();
  await assert.rejects(queued, (e: unknown) => e instanceof DaemonError && e.errorName === 'Cancelled');
  await tick();
  first.abort();
  await assert.rejects(running, (e: unknown) => e instanceof DaemonError && e.code === -32800);
  assert.equal(await third, 'third');
  assert.equal(started, false);
  assert.ok(steps > 0);
  assert.deepEqual(positions.slice(0, 2), [1, 0]);
});

test('cancelling a request id with nothing in flight says so', () => {
  const service = new UpscaleService({ notifyProgress: () => undefined });
  assert.equal(service.cancel(99), false);
});
