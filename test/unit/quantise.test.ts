import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantiseRows, quantiseSample } from '../../daemon/engine/quantise';

test('samples are rounded and clamped, NaN becomes 0', () => {
  assert.equal(quantiseSample(0.5, 255), 128);
  assert.equal(quantiseSample(-0.2, 255), 0);
  assert.equal(quantiseSample(1.3, 65535), 65535);
  assert.equal(quantiseSample(Number.NaN, 255), 0);
  assert.equal(quantiseSample(1 / 65535, 65535), 1);
});

test('planar rows become interleaved samples at the right row, with alpha', () => {
  const target = new Uint16Array(2 * 2 * 4);
  const rgb = Float32Array.from([0, 1, 0.5, 0.25, 1, 0]); // 1 row x 2 px, 3 planes
  quantiseRows(target, 2, 4, 1, 1, rgb, Float32Array.from([1, 0]));
  assert.deepEqual([...target.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...target.subarray(8)], [0, 32768, 65535, 65535, 65535, 16384, 0, 0]);
});
