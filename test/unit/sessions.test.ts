// The resident-session cache: one session per model, provider and precision, reused while
// resident, evicted least recently used past the memory budget, all of a model's released
// by unload; a job asking for another thread count gets the model loaded again with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import type * as ort from 'onnxruntime-node';
import { SessionCache, type SessionSource } from '../../daemon/runtime/sessions';
import type { ExecutionProvider } from '../../contract/vocabulary';

function fakeCache(budget: number) {
  const created: string[] = [];
  const released: string[] = [];
  const cache = new SessionCache(budget, async (path: string, provider: ExecutionProvider) => {
    const name = `${path}@${provider}`;
    created.push(name);
    return { release: async () => void released.push(name) } as unknown as ort.InferenceSession;
  });
  return { cache, created, released };
}

const fp32: SessionSource = { id: 'm', path: 'm.onnx', sizeBytes: 100, precision: 'fp32' };
const fp16: SessionSource = { id: 'm', path: '.fp16/m.onnx', sizeBytes: 50, precision: 'fp16' };

test('a model is resident once per provider and precision, and reused', async () => {
  const { cache, created } = fakeCache(10_000);
  assert.equal((await cache.acquire(fp32, 'webgpu')).cached, false);
  assert.equal((await cache.acquire(fp16, 'webgpu')).cached, false);
  assert.equal((await cache.acquire(fp32, 'webgpu')).cached, true);
  assert.equal((await cache.acquire(fp16, 'webgpu')).cached, true);
  assert.equal((await cache.acquire(fp32, 'cpu')).cached, false);
  assert.deepEqual(created, ['m.onnx@webgpu', '.fp16/m.onnx@webgpu', 'm.onnx@cpu']);
  assert.equal(cache.residentBytes(), 3 * (100 + 50 + 100));
});

test('past the budget the least recently used goes; unload releases every variant of a model', async () => {
  const { cache, released } = fakeCache(3 * 150);
  await cache.acquire(fp32, 'webgpu');
  await cache.acquire(fp16, 'webgpu');
  await cache.acquire(fp32, 'webgpu'); // fp32 is now the more recent of the two
  await cache.acquire({ id: 'other', path: 'o.onnx', sizeBytes: 10, precision: 'fp32' }, 'webgpu');
  assert.deepEqual(released, ['.fp16/m.onnx@webgpu']);
  await cache.acquire(fp16, 'webgpu');
  assert.deepEqual(released, ['.fp16/m.onnx@webgpu', 'm.onnx@webgpu']);
  assert.equal(await cache.unload('m'), true);
  assert.deepEqual(released, ['.fp16/m.onnx@webgpu', 'm.onnx@webgpu', '.fp16/m.onnx@webgpu']);
  assert.equal(cache.isLoaded('m'), false);
  assert.equal(cache.isLoaded('other'), true);
  assert.equal(await cache.unload('m'), false);
});

function threadsCache(created: { provider: ExecutionProvider; threads: number }[], released: number[]): SessionCache {
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
  const cache = threadsCache(created, released);
  const model: SessionSource = { id: 'm', path: '/m.onnx', sizeBytes: 100, precision: 'fp32' };
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
