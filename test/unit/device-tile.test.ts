// The automatic tile on a GPU provider: within the memory budget and within what one tensor
// may take on the device (WebGPU's default binding limit, fp16 values taking half the
// bytes); no device limit on the CPU and the providers that state none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsDevice } from '../../daemon/engine/device-tile';
import { deviceTensorLimit, WEBGPU_DEFAULT_LIMITS } from '../../daemon/runtime/device-limits';
import { chooseTile } from '../../daemon/engine/tile-size';

const MIB = 2 ** 20;

test('no device limit on the CPU, CUDA, DirectML or Core ML', () => {
  for (const provider of ['cpu', 'cuda', 'dml', 'coreml'] as const)
    assert.equal(deviceTensorLimit(provider, 'fp32'), undefined, provider);
});

test('WebGPU: a tile fits when its largest tensor fits the default storage binding; fp16 halves the bytes', () => {
  const fp32 = deviceTensorLimit('webgpu', 'fp32');
  const fp16 = deviceTensorLimit('webgpu', 'fp16');
  assert.deepEqual(fp32, { maxTensorBytes: WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize, bytesPerValue: 4 });
  assert.deepEqual(fp16, { maxTensorBytes: 128 * MIB, bytesPerValue: 2 });
  if (!fp32 || !fp16) throw new Error('webgpu has a limit');
  // 2048 bytes of fp32 activations per pixel: 128 MiB holds 256² in fp32 and 362² in fp16.
  assert.equal(fitsDevice(256, 256, 2048, fp32), true);
  assert.equal(fitsDevice(257, 256, 2048, fp32), false);
  assert.equal(fitsDevice(362, 362, 2048, fp16), true);
  assert.equal(fitsDevice(363, 363, 2048, fp16), false);
});

test('the automatic tile keeps within the device where the memory budget alone would take the whole image', () => {
  const budget = { bytesPerPixel: 2048, budgetBytes: 64 * 1024 * MIB };
  assert.deepEqual(chooseTile(undefined, 1000, 1000, 16, budget), { width: 0, height: 0 }, 'the CPU: whole');
  for (const precision of ['fp32', 'fp16'] as const) {
    const device = deviceTensorLimit('webgpu', precision);
    if (!device) throw new Error('webgpu has a limit');
    const t = chooseTile(undefined, 1000, 1000, 16, { ...budget, device });
    assert.ok(t.width > 0 && t.height > 0, `${precision}: tiled`);
    assert.ok(fitsDevice(t.width, t.height, 2048, device), `${precision}: ${t.width}x${t.height} fits`);
  }
  const device = deviceTensorLimit('webgpu', 'fp32');
  if (!device) throw new Error('webgpu has a limit');
  assert.deepEqual(
    chooseTile(128, 1000, 1000, 16, { ...budget, device }),
    { width: 160, height: 160 },
    'an explicit tile is the user’s',
  );
});
