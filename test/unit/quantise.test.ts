import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantisePlanes, quantiseSample } from '../../daemon/engine/quantise';

test('samples are rounded and clamped, NaN becomes 0', () => {
  assert.equal(quantiseSample(0.5, 255), 128);
  assert.equal(quantiseSample(-0.2, 255), 0);
  assert.equal(quantiseSample(1.3, 65535), 65535);
  assert.equal(quantiseSample(Number.NaN, 255), 0);
  assert.equal(quantiseSample(1 / 65535, 65535), 1);
});

test('planes are quantised exactly as quantiseSample rounds, in 8 and 16 bits', () => {
  const edges = [
    Number.NaN,
    -Infinity,
    -1,
    -1e-9,
    0,
    1e-9,
    0.5 / 255,
    0.5,
    127.5 / 255,
    254.49 / 255,
    254.5 / 255,
    0.999,
    1,
    1.5,
    Infinity,
  ];
  const data = new Float32Array(3 * 1000);
  for (let i = 0; i < data.length; i++)
    data[i] = i < edges.length ? (edges[i] as number) : ((i * 7919) % 1200) / 1000 - 0.1;
  for (const target of [new Uint8Array(3000), new Uint16Array(3000)]) {
    const max = target instanceof Uint8Array ? 255 : 65535;
    quantisePlanes(target, 1000, 3, 0, 0, 1000, 1, data, 3, 0);
    for (let c = 0; c < 3; c++) {
      for (let x = 0; x < 1000; x++) {
        const v = data[c * 1000 + x] as number;
        assert.equal(target[x * 3 + c], quantiseSample(Math.fround(v), max), `${max}: sample ${v}`);
      }
    }
  }
});

test('planar rows become interleaved samples at the right row and column, other channels untouched', () => {
  const target = new Uint16Array(3 * 2 * 4).fill(7);
  const rgb = Float32Array.from([0, 1, 0.5, 0.25, 1, 0]); // 1 row x 2 px, 3 planes
  quantisePlanes(target, 3, 4, 1, 1, 2, 1, rgb, 3, 0);
  assert.deepEqual(
    [...target.subarray(0, 16)],
    Array(16).fill(7),
    'row 0 and the first pixel of row 1 are not written',
  );
  assert.deepEqual([...target.subarray(16)], [0, 32768, 65535, 7, 65535, 16384, 0, 7]);
});
