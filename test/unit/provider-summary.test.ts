// What probing the providers says in the log: one line at info level, the details at debug,
// and a warning only for an accelerator that was asked for and does not run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { providerSummary, runtimeLogLevel, type ProviderSelection } from '../../daemon/runtime/providers';

const LINUX_CPU_ONLY: ProviderSelection = {
  active: 'cpu',
  statuses: [
    { provider: 'cuda', available: false, reason: 'Failed to load shared library' },
    { provider: 'dml', available: false, reason: "this platform's onnxruntime-node build has no dml provider" },
    { provider: 'coreml', available: false, reason: "this platform's onnxruntime-node build has no coreml provider" },
    { provider: 'webgpu', available: false, reason: 'no adapter' },
    { provider: 'cpu', available: true },
  ],
};

test('auto on a machine without accelerators: one info line, the reasons at debug level', () => {
  const lines = providerSummary(LINUX_CPU_ONLY, 'auto');
  assert.deepEqual(lines[0], {
    level: 'info',
    message: 'providers: cpu runs; not usable here: cuda, webgpu; not in this build: dml, coreml',
  });
  assert.deepEqual(
    lines.slice(1).map((l) => l.level),
    ['debug', 'debug', 'debug', 'debug'],
  );
  assert.deepEqual(lines[1], { level: 'debug', message: 'cuda: Failed to load shared library' });
  assert.equal(runtimeLogLevel('auto'), 'fatal');
  assert.equal(runtimeLogLevel('cpu'), 'fatal');
});

test('an accelerator asked for that does not run is a warning with its reason', () => {
  const lines = providerSummary(LINUX_CPU_ONLY, 'cuda');
  assert.deepEqual(
    lines.filter((l) => l.level === 'warn'),
    [{ level: 'warn', message: 'asked for cuda: Failed to load shared library' }],
  );
  assert.equal(runtimeLogLevel('cuda'), 'warning');
});

test('an accelerator that runs, with the CPU also available', () => {
  const lines = providerSummary(
    {
      active: 'cuda',
      statuses: [
        { provider: 'cuda', available: true },
        { provider: 'webgpu', available: true, reason: 'available; cuda was preferred' },
        { provider: 'cpu', available: true, reason: 'available; cuda was preferred' },
      ],
    },
    'auto',
  );
  assert.equal(lines[0]?.message, 'providers: cuda runs; also available: webgpu, cpu');
  assert.ok(lines.slice(1).every((l) => l.level === 'debug'));
});
