// The resident session cache: a model is loaded once per provider and thread count, and a
// job asking for another thread count gets it loaded again with that count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import type * as ort from 'onnxruntime-node';
import { SessionCache } from '../../daemon/runtime/sessions';
import type { ExecutionProvider } from '../../contract/vocabulary';

function fakeCache(created: { provider: ExecutionProvider; threads: number }[], released: number[]): SessionCache {
  return new SessionCache(1e9, (_path, provider, threads) => {
    const index = created.length;
    created.push({ provider, threads });
    // The cache only keeps and releases sessions; it never runs them.
    const session = { release: () => Promise.resolve(void released.push(index)) };
    return Promise.resolve(session as unknown as ort.InferenceSession);
  });
}

test('sessions: one per model, provider and thread count; 0 or none is every core', async () => {
  const created: { provider: ExecutionProvider; threads: number }[] = [];
  const released: number[] = [];
  const cache = fakeCache(created, released);
  const model = { id: 'm', path: '/m.onnx', sizeBytes: 100 };
  const cores = os.availableParallelism();

  const first = await cache.acquire(model, 'cpu');
  assert.equal(first.cached, false);
  assert.deepEqual(created, [{ provider: 'cpu', threads: cores }]);
  assert.equal((await cache.acquire(model, 'cpu', 0)).cached, true, '0 is every core, as none is');
  assert.equal((await cache.acquire(model, 'cpu', cores)).session, first.session);

  const one = await cache.acquire(model, 'cpu', 1);
  assert.equal(one.cached, false);
  assert.deepEqual(created[1], { provider: 'cpu', threads: 1 });
  assert.deepEqual(released, [0], 'the every-core session went when one thread was asked for');
  assert.equal((await cache.acquire(model, 'cpu', 1)).cached, true);
  assert.equal(created.length, 2);
});
