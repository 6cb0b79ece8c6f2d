import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisTaps, fitWindow, lanczos3, resizeLanczos } from '../../daemon/engine/lanczos';

test('the kernel is 1 at 0, 0 at other integers and beyond 3 lobes', () => {
  assert.equal(lanczos3(0), 1);
  for (const x of [1, 2, -1, -2]) assert.ok(Math.abs(lanczos3(x)) < 1e-12);
  assert.equal(lanczos3(3), 0);
  assert.equal(lanczos3(4.5), 0);
});

test('taps sum to one', () => {
  for (const [from, to] of [
    [10, 37],
    [100, 13],
    [7, 7],
  ] as const) {
    const t = axisTaps(from, to);
    for (let o = 0; o < to; o++) {
      let s = 0;
      for (let k = 0; k < t.count; k++) s += t.weights[o * t.count + k] as number;
      assert.ok(Math.abs(s - 1) < 1e-6);
    }
  }
});

test('a flat image stays flat, and same-size resizing is the identity', () => {
  const flat = { width: 9, height: 5, channels: 2, data: new Float32Array(90).fill(0.3) };
  const up = resizeLanczos(flat, 31, 17);
  assert.equal(up.data.length, 2 * 31 * 17);
  for (const v of up.data) assert.ok(Math.abs(v - 0.3) < 1e-6);
  const ramp = { width: 6, height: 4, channels: 1, data: Float32Array.from({ length: 24 }, (_, i) => i / 24) };
  const same = resizeLanczos(ramp, 6, 4);
  for (let i = 0; i < 24; i++) assert.ok(Math.abs((same.data[i] as number) - (ramp.data[i] as number)) < 1e-6);
});

test('cover crops the centre; fill uses the whole image', () => {
  assert.deepEqual(fitWindow(200, 100, 100, 100, 'fill'), { x: 0, y: 0, width: 200, height: 100 });
  assert.deepEqual(fitWindow(200, 100, 100, 100, 'cover'), { x: 50, y: 0, width: 100, height: 100 });
  // A left half black and right half white, cover-cropped to a square, keeps both halves equally.
  const img = {
    width: 8,
    height: 4,
    channels: 1,
    data: Float32Array.from({ length: 32 }, (_, i) => (i % 8 >= 4 ? 1 : 0)),
  };
  const sq = resizeLanczos(img, 4, 4, fitWindow(8, 4, 4, 4, 'cover'));
  assert.ok((sq.data[0] as number) < 0.1 && (sq.data[3] as number) > 0.9);
});
