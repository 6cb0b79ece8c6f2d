import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bleedColour } from '../../daemon/image/alpha';

/** Planar RGB from per-pixel [r, g, b] triples. */
function planes(pixels: ReadonlyArray<readonly [number, number, number]>): Float32Array {
  const n = pixels.length;
  const rgb = new Float32Array(3 * n);
  pixels.forEach(([r, g, b], p) => {
    rgb[p] = r;
    rgb[n + p] = g;
    rgb[2 * n + p] = b;
  });
  return rgb;
}

function pixel(rgb: Float32Array, n: number, p: number): [number, number, number] {
  return [rgb[p] as number, rgb[n + p] as number, rgb[2 * n + p] as number];
}

test('a transparent pixel takes the colour of its only visible neighbour', () => {
  const rgb = planes([
    [0.2, 0.4, 0.6],
    [0, 0, 0],
    [0, 0, 0],
  ]);
  const alpha = new Float32Array([1, 0, 0]);
  bleedColour(rgb, alpha, 3, 1);
  for (let p = 0; p < 3; p++) {
    const [r, g, b] = pixel(rgb, 3, p);
    assert.ok(
      Math.abs(r - 0.2) < 1e-6 && Math.abs(g - 0.4) < 1e-6 && Math.abs(b - 0.6) < 1e-6,
      `pixel ${p} is ${r},${g},${b}`,
    );
  }
});

test('transparent pixels take the colour of the nearest visible pixel, in two dimensions', () => {
  const width = 5;
  const n = 25;
  const rgb = new Float32Array(3 * n);
  const alpha = new Float32Array(n);
  alpha[0] = 1;
  rgb[0] = 1;
  alpha[24] = 1;
  rgb[2 * n + 24] = 1;
  alpha[4] = 1;
  rgb[n + 4] = 1;
  bleedColour(rgb, alpha, width, 5);
  assert.deepEqual(pixel(rgb, n, 1 * width + 1), [1, 0, 0]);
  assert.deepEqual(pixel(rgb, n, 3 * width + 3), [0, 0, 1]);
  assert.deepEqual(pixel(rgb, n, 1 * width + 3), [0, 1, 0]);
  assert.deepEqual(pixel(rgb, n, 3 * width + 0), [1, 0, 0]);
});

test('visible pixels, including faint ones, are never changed', () => {
  const before: Array<[number, number, number]> = [
    [0.1, 0.2, 0.3],
    [0, 0, 0],
    [0.9, 0.8, 0.7],
    [0.5, 0.5, 0.5],
  ];
  const rgb = planes(before);
  const alpha = new Float32Array([1, 0, 0.01, 0.5]);
  bleedColour(rgb, alpha, 2, 2);
  assert.deepEqual(pixel(rgb, 4, 0), [Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
  assert.deepEqual(pixel(rgb, 4, 2), [Math.fround(0.9), Math.fround(0.8), Math.fround(0.7)]);
  assert.deepEqual(pixel(rgb, 4, 3), [0.5, 0.5, 0.5]);
  assert.notDeepEqual(pixel(rgb, 4, 1), [0, 0, 0]);
});

test('colour spreads across a large transparent area, far from the visible pixel', () => {
  const width = 50;
  const height = 40;
  const n = width * height;
  const rgb = new Float32Array(3 * n);
  const alpha = new Float32Array(n);
  const seed = 20 * width + 25;
  alpha[seed] = 1;
  rgb[seed] = 0.25;
  rgb[n + seed] = 0.5;
  rgb[2 * n + seed] = 0.75;
  bleedColour(rgb, alpha, width, height);
  for (const p of [0, width - 1, n - 1, n - width]) {
    const [r, g, b] = pixel(rgb, n, p);
    assert.ok(
      Math.abs(r - 0.25) < 1e-6 && Math.abs(g - 0.5) < 1e-6 && Math.abs(b - 0.75) < 1e-6,
      `corner ${p} is ${r},${g},${b}`,
    );
  }
});

test('the nearer colour wins on each side of a transparent gap', () => {
  const width = 9;
  const rgb = new Float32Array(3 * width);
  const alpha = new Float32Array(width);
  alpha[0] = 1;
  rgb[0] = 1;
  alpha[8] = 1;
  rgb[2 * width + 8] = 1;
  bleedColour(rgb, alpha, width, 1);
  assert.deepEqual(pixel(rgb, width, 1), [1, 0, 0]);
  assert.deepEqual(pixel(rgb, width, 7), [0, 0, 1]);
});

test('an image with no visible pixel is left as it is', () => {
  const rgb = planes([
    [0.3, 0.3, 0.3],
    [0.6, 0.6, 0.6],
    [0.1, 0.2, 0.3],
    [0, 0, 0],
  ]);
  const copy = Float32Array.from(rgb);
  bleedColour(rgb, new Float32Array(4), 2, 2);
  assert.deepEqual(rgb, copy);
});

test('a fully opaque image is left as it is', () => {
  const rgb = planes([
    [0.3, 0.3, 0.3],
    [0.6, 0.6, 0.6],
  ]);
  const copy = Float32Array.from(rgb);
  bleedColour(rgb, new Float32Array([1, 1]), 2, 1);
  assert.deepEqual(rgb, copy);
});

test('a large mostly transparent image is filled completely', () => {
  const width = 1500;
  const height = 1000;
  const n = width * height;
  const rgb = new Float32Array(3 * n);
  const alpha = new Float32Array(n);
  alpha[0] = 1;
  rgb[0] = 1;
  bleedColour(rgb, alpha, width, height);
  assert.equal(rgb[n - 1], 1);
  assert.equal(rgb[2 * n - 1], 0);
});

test('mismatched plane sizes are rejected with the expected sizes', () => {
  assert.throws(
    () => bleedColour(new Float32Array(5), new Float32Array(2), 2, 1),
    /needs 6 colour values and 2 alpha values, got 5 and 2/,
  );
});
