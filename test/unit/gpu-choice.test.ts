// The pure parts of choosing where and how a model runs: `auto`'s decision from measured
// probes, the precision decision, reading the libraries' reasons from a probe's stderr,
// and the remembered decisions' file.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AUTO_ORDER, decideAuto, type Measurement } from '../../daemon/runtime/auto-choice';
import { decidePrecision, fp16Safety } from '../../daemon/runtime/precision';
import { libraryReasons, splitByProvider } from '../../daemon/runtime/probe-child';
import { errorLine } from '../../daemon/runtime/provider-probe';
import { forget, memoryPath, recall, remember, type RememberedDecision } from '../../daemon/runtime/provider-memory';
import { identityKey, machineIdentity } from '../../daemon/runtime/machine-identity';
import type { ProviderStatus } from '../../contract/protocol';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-gpu-choice-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

const notInBuild = (provider: 'dml' | 'coreml'): ProviderStatus => ({
  provider,
  available: false,
  reason: `no ${provider} in this build`,
});

test('auto takes the first GPU provider, in order, that beats the CPU; a slower (software) adapter never', () => {
  const slow: Measurement = { provider: 'webgpu', outcome: 'ran', ms: 780, deviceFp16: false };
  const d = decideAuto(
    [notInBuild('dml'), notInBuild('coreml')],
    [{ provider: 'cuda', outcome: 'failed', reason: 'no libcudart.so.13' }, slow],
    20,
  );
  assert.equal(d.active, 'cpu');
  assert.match(
    d.reason,
    /^auto: no GPU provider beat the CPU: cuda failed: no libcudart\.so\.13; webgpu ran the probe 39\.0× slower than the CPU \(a software adapter\) \(dml, coreml: not available here\)$/,
  );
  const webgpu = d.statuses.find((s) => s.provider === 'webgpu');
  assert.deepEqual(webgpu, {
    provider: 'webgpu',
    available: true,
    reason: 'ran the probe 39.0× slower than the CPU (780 ms against 20 ms): a software adapter, not chosen',
  });
  assert.deepEqual(
    d.statuses.map((s) => s.provider),
    [...AUTO_ORDER, 'cpu'],
  );
  assert.equal(d.deviceFp16, false);

  const fast = decideAuto(
    [notInBuild('dml'), notInBuild('coreml')],
    [{ provider: 'cuda', outcome: 'ran', ms: 1.5, deviceFp16: true }],
    20,
  );
  assert.equal(fast.active, 'cuda');
  assert.equal(fast.deviceFp16, true);
  assert.match(fast.reason, /^auto: cuda ran the probe 13\.3× faster than the CPU \(1\.5 ms against 20 ms\)$/);
  assert.deepEqual(
    fast.statuses.find((s) => s.provider === 'webgpu'),
    {
      provider: 'webgpu',
      available: false,
      reason: "not probed: cuda comes first in auto's order",
    },
  );
  assert.deepEqual(
    fast.statuses.find((s) => s.provider === 'cpu'),
    {
      provider: 'cpu',
      available: true,
      reason: 'available; cuda is faster',
    },
  );
});

test('auto with nothing to probe, or no CPU time to compare with, stays on the CPU and says so', () => {
  const none = decideAuto([notInBuild('dml')], [], null);
  assert.equal(none.active, 'cpu');
  assert.match(none.reason, /^auto: no GPU provider can run here \(dml: not available here\)$/);
  const blind = decideAuto([], [{ provider: 'webgpu', outcome: 'ran', ms: 1, deviceFp16: true }], null, 'killed');
  assert.equal(blind.active, 'cpu');
  assert.match(blind.reason, /could not time the CPU \(killed\)/);
});

test('precision: auto takes fp16 only on a GPU device that runs it and for architectures measured above the bar; explicit fp16 is refused where it cannot run or the architecture rules it out', () => {
  const safe = fp16Safety({ family: 'real-esrgan', variant: 'SRVGGNetCompact, 64 features, 32 convolutions' });
  const unsafe = fp16Safety({ family: 'swinir', variant: 'SwinIR classical' });
  assert.deepEqual(safe, {
    safe: true,
    ruledOut: false,
    why: 'SRVGGNetCompact in fp16 reaches 50.4 dB or more against fp32',
  });
  assert.deepEqual(unsafe, { safe: false, ruledOut: true, why: "swinir's attention is not fp16-safe" });
  const belowBar = fp16Safety({ family: 'real-esrgan', variant: 'RRDBNet, 23 blocks' });
  assert.deepEqual(belowBar, {
    safe: false,
    ruledOut: false,
    why: 'RRDBNet in fp16 fell to 39.6 dB against fp32 (below 45 dB)',
  });
  assert.deepEqual(fp16Safety({ family: 'esrgan', variant: 'RRDBNet (old ESRGAN keys)' }).safe, false);
  assert.deepEqual(fp16Safety({ family: 'esrgan', variant: 'UpscalerJS ESRGAN slim' }).safe, true);
  assert.deepEqual(fp16Safety({ family: 'esrgan', variant: 'UpscalerJS ESRGAN thick' }), {
    safe: false,
    ruledOut: false,
    why: 'UpscalerJS ESRGAN thick has no fp16 measurement',
  });
  assert.deepEqual(
    fp16Safety({ family: 'real-esrgan', variant: 'x', architecture: 'compact', traits: { fp16: true } }).safe,
    true,
    'the architecture id decides where a record has one',
  );
  assert.deepEqual(
    fp16Safety({ family: 'esrgan', variant: 'x', architecture: 'esrgan', traits: { fp16: true } }).safe,
    false,
    'a trait that allows fp16 does not override a measurement below the bar',
  );
  assert.deepEqual(fp16Safety({ family: 'real-esrgan', variant: 'SRVGGNetCompact', traits: { fp16: false } }), {
    safe: false,
    ruledOut: true,
    why: 'its architecture does not support fp16',
  });
  const gpu = { provider: 'webgpu' as const, deviceFp16: true };
  assert.deepEqual(decidePrecision({ choice: 'auto', ...gpu, safety: safe }), {
    precision: 'fp16',
    reason: 'auto: SRVGGNetCompact in fp16 reaches 50.4 dB or more against fp32 and webgpu runs fp16',
  });
  assert.deepEqual(decidePrecision({ choice: 'auto', ...gpu, safety: unsafe }), {
    precision: 'fp32',
    reason: "auto: swinir's attention is not fp16-safe",
  });
  assert.deepEqual(decidePrecision({ choice: 'auto', provider: 'webgpu', deviceFp16: false, safety: safe }), {
    precision: 'fp32',
    reason: 'auto: the WebGPU adapter has no shader-f16',
  });
  assert.deepEqual(decidePrecision({ choice: 'auto', provider: 'cpu', deviceFp16: false, safety: safe }), {
    precision: 'fp32',
    reason: 'auto: the cpu provider runs fp32 only',
  });
  assert.deepEqual(decidePrecision({ choice: 'fp16', provider: 'cpu', deviceFp16: false, safety: safe }), {
    refused: "precision 'fp16' cannot run: the cpu provider runs fp32 only",
  });
  assert.deepEqual(decidePrecision({ choice: 'fp16', provider: 'webgpu', deviceFp16: false, safety: safe }), {
    refused: "precision 'fp16' cannot run: the WebGPU adapter has no shader-f16",
  });
  assert.deepEqual(decidePrecision({ choice: 'fp16', ...gpu, safety: unsafe }), {
    refused: "precision 'fp16' cannot run: swinir's attention is not fp16-safe",
  });
  const honoured = decidePrecision({ choice: 'fp16', ...gpu, safety: belowBar });
  assert.ok('precision' in honoured && honoured.precision === 'fp16', 'an explicit choice below the bar is honoured');
  assert.match(('warning' in honoured && honoured.warning) || '', /although RRDBNet in fp16 fell to 39.6 dB/);
  assert.deepEqual(decidePrecision({ choice: 'fp32', ...gpu, safety: safe }), {
    precision: 'fp32',
    reason: 'fp32 was requested',
  });
});

test("the libraries' reasons are read from a probe's stderr: Dawn's warnings with context, onnxruntime's errors", () => {
  const stderr = [
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
    'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
    ' - While initializing adapter (backend=BackendType::Vulkan)',
    '    at InitializeImpl (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:253)',
    '',
    '2026-12-07 00:49:05.31 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /src/provider_bridge_ort.cc:1988 onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_shared.so',
    'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
  ];
  assert.deepEqual(libraryReasons(stderr), [
    'Vulkan shaderUniform*ArrayDynamicIndexing required (while initializing adapter (backend=BackendType::Vulkan))',
    '[ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_shared.so',
    'Vulkan shaderUniform*ArrayDynamicIndexing required.',
  ]);
  assert.deepEqual(
    splitByProvider('loading\n[probe-providers] cuda\ncuda says\n\n[probe-providers] webgpu\nWarning: x\n'),
    {
      cpu: ['loading'],
      cuda: ['cuda says'],
      webgpu: ['Warning: x'],
    },
  );
  assert.equal(
    errorLine(
      new Error(
        '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\nmore',
      ),
    ),
    'Failed to get a WebGPU adapter: No supported adapters',
  );
});

test('decisions are remembered per machine identity, a foreign or damaged file is ignored, and forgetting works', async () => {
  const cache = path.join(TMP, 'memory');
  const decision: RememberedDecision = {
    decidedAt: '2026-01-02T03:04:05.000Z',
    active: 'cpu',
    reason: 'auto: no GPU provider beat the CPU',
    statuses: [{ provider: 'cpu', available: true }],
    deviceFp16: false,
    probeMs: 2400,
    facts: ['linux-x64'],
  };
  assert.equal(await recall(cache, 'k1'), null);
  await remember(cache, 'k1', decision);
  await remember(cache, 'k2', { ...decision, active: 'webgpu', decidedAt: '2026-01-03T00:00:00.000Z' });
  assert.deepEqual(await recall(cache, 'k1'), decision);
  assert.equal((await recall(cache, 'k2'))?.active, 'webgpu');
  await forget(cache, 'k2');
  assert.equal(await recall(cache, 'k2'), null);
  assert.deepEqual(await recall(cache, 'k1'), decision);
  for (let i = 0; i < 10; i++) await remember(cache, `m${i}`, { ...decision, decidedAt: `2027-01-0${i}T00:00:00Z` });
  assert.equal(await recall(cache, 'k1'), null, 'only the newest 8 machines are kept');
  fs.writeFileSync(memoryPath(cache), '{"format": 1, "decisions": {"x": {"active": "tpu"}}}');
  assert.equal(await recall(cache, 'x'), null);
  fs.writeFileSync(memoryPath(cache), 'not json');
  assert.equal(await recall(cache, 'm9'), null);
});

test("the machine identity changes with what decides a provider's fate (drivers, their environment)", async () => {
  const a = await machineIdentity(['onnxruntime-node 1.30.0'], { VK_DRIVER_FILES: '/nonexistent/a.json' });
  const same = await machineIdentity(['onnxruntime-node 1.30.0'], { VK_DRIVER_FILES: '/nonexistent/a.json' });
  const b = await machineIdentity(['onnxruntime-node 1.30.0'], { VK_DRIVER_FILES: '/nonexistent/b.json' });
  assert.equal(a.key, same.key);
  assert.notEqual(a.key, b.key);
  assert.ok(a.facts.includes('env VK_DRIVER_FILES=/nonexistent/a.json'));
  assert.ok(a.facts.some((f) => f.startsWith('vulkan driver /nonexistent/a.json -> ? (absent)')));
  assert.equal(identityKey(['x']), identityKey(['x']));
  assert.notEqual(identityKey(['x']), identityKey(['y']));
});
