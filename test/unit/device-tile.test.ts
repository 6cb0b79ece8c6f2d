// The automatic tile on a GPU provider: bounded by what one tensor may take on the device
// (WebGPU's default binding limit), halved again in fp32 against fp16, and absent on the CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceMaxCore } from '../../daemon/engine/device-tile';
import { deviceTensorLimit, WEBGPU_DEFAULT_LIMITS } from '../../daemon/runtime/device-limits';
import { MIN_AUTO_CORE } from '../../daemon/engine/tile-size';

test('no device limit on the CPU, CUDA, DirectML or Core ML, nor for a model of unknown activation size', () => {
  for (const provider of ['cpu', 'cuda', 'dml', 'coreml'] as const)
    assert.equal(deviceTensorLimit(provider, 'fp32'), undefined, provider);
  assert.equal(deviceMaxCore(undefined, deviceTensorLimit('webgpu', 'fp32'), 16), null);
  assert.equal(deviceMaxCore(4096, undefined, 16), null);
});

test("WebGPU: each tile's largest tensor fits the default storage binding; fp16 halves the bytes", () => {
  const fp32 = deviceTensorLimit('webgpu', 'fp32');
  const fp16 = deviceTensorLimit('webgpu', 'fp16');
  assert.deepEqual(fp32, { maxTensorBytes: WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize, bytesPerValue: 4 });
  assert.equal(fp16?.bytesPerValue, 2);
  // 2048 bytes of fp32 activations per input pixel: 128 MiB holds a 256² tensor, less 2×16 of context.
  const core32 = deviceMaxCore(2048, fp32, 16);
  assert.equal(core32, 256 - 32);
  const core16 = deviceMaxCore(2048, fp16, 16);
  assert.equal(core16, Math.floor(256 * Math.SQRT2) - 32);
  // The tensor of the chosen core (with its context) fits; one pixel more per side does not.
  for (const [core, limit] of [
    [core32, fp32],
    [core16, fp16],
  ] as const) {
    assert.ok(core !== null && limit !== undefined);
    const bytes = (side: number) => side * side * 2048 * (limit.bytesPerValue / 4);
    assert.ok(bytes(core + 32) <= limit.maxTensorBytes);
    assert.ok(bytes(core + 33) > limit.maxTensorBytes);
  }
});

test('a model too large for any useful tile still gets the smallest automatic tile (and OOM halving below it)', () => {
  assert.equal(deviceMaxCore(1e9, deviceTensorLimit('webgpu', 'fp32'), 16), MIN_AUTO_CORE);
});
