import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisBlend } from '../../daemon/engine/blend';
import { blendRows, type HeldTile } from '../../daemon/engine/composite';
import { axisSpans } from '../../daemon/engine/tiles';

/** Tiles of noise for a grid, as a model would return them (each tile its own values). */
function noiseTiles(
  rows: number,
  cols: number,
  rowBlend: ReturnType<typeof axisBlend>,
  colBlend: ReturnType<typeof axisBlend>,
  channels: number,
): HeldTile[][] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => {
      const height = (rowBlend.weights[r] as Float32Array).length;
      const width = (colBlend.weights[c] as Float32Array).length;
      const data = new Float32Array(channels * width * height);
      for (let i = 0; i < data.length; i++) data[i] = next();
      return { width, height, channels, data, firstRow: rowBlend.starts[r] as number };
    }),
  );
}

/** The definition: Σ w·v / Σ w over every tile, with w the product of the axis weights. */
function reference(
  tiles: HeldTile[][],
  rowBlend: ReturnType<typeof axisBlend>,
  colBlend: ReturnType<typeof axisBlend>,
  channels: number,
  width: number,
  height: number,
): Float32Array {
  const acc = new Float64Array(channels * width * height);
  const wsum = new Float64Array(width * height);
  tiles.forEach((row, r) =>
    row.forEach((t, c) => {
      const wy = rowBlend.weights[r] as Float32Array;
      const wx = colBlend.weights[c] as Float32Array;
      for (let y = 0; y < t.height; y++)
        for (let x = 0; x < t.width; x++) {
          const w = (wy[y] as number) * (wx[x] as number);
          const p = (t.firstRow + y) * width + (colBlend.starts[c] as number) + x;
          wsum[p] = (wsum[p] as number) + w;
          for (let ch = 0; ch < channels; ch++)
            acc[ch * width * height + p] =
              (acc[ch * width * height + p] as number) + w * (t.data[(ch * t.height + y) * t.width + x] as number);
        }
    }),
  );
  return Float32Array.from(acc, (v, i) => v / (wsum[i % (width * height)] as number));
}

test('blended rows equal the weighted average of every tile, for shallow and deep overlaps', () => {
  for (const [w, h, tile, overlap, scale] of [
    [40, 30, 16, 4, 2],
    [50, 50, 12, 10, 2],
    [33, 17, 20, 8, 3],
    [24, 24, 0, 0, 2],
  ] as const) {
    const rowBlend = axisBlend(axisSpans(h, tile, overlap), scale);
    const colBlend = axisBlend(axisSpans(w, tile, overlap), scale);
    const tiles = noiseTiles(rowBlend.starts.length, colBlend.starts.length, rowBlend, colBlend, 3);
    const W = w * scale;
    const H = h * scale;
    const expected = reference(tiles, rowBlend, colBlend, 3, W, H);
    const got = new Float32Array(3 * W * H);
    blendRows(got, rowBlend, colBlend, (r, c) => (tiles[r] as HeldTile[])[c] as HeldTile, 3, 0, H, 0, W);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs((got[i] as number) - (expected[i] as number)));
    assert.ok(maxDiff < 1e-5, `${w}x${h} tile ${tile}/${overlap}: max diff ${maxDiff}`);
  }
});

test('a window of rows and columns is the same window of the whole blend', () => {
  const rowBlend = axisBlend(axisSpans(30, 16, 6), 2);
  const colBlend = axisBlend(axisSpans(40, 16, 6), 2);
  const tiles = noiseTiles(rowBlend.starts.length, colBlend.starts.length, rowBlend, colBlend, 2);
  const lookup = (r: number, c: number) => (tiles[r] as HeldTile[])[c] as HeldTile;
  const whole = new Float32Array(2 * 80 * 60);
  blendRows(whole, rowBlend, colBlend, lookup, 2, 0, 60, 0, 80);
  const [y0, y1, x0, width] = [13, 41, 7, 50];
  const part = new Float32Array(2 * (y1 - y0) * width);
  blendRows(part, rowBlend, colBlend, lookup, 2, y0, y1, x0, width);
  for (let ch = 0; ch < 2; ch++)
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x0 + width; x++) {
        assert.equal(part[(ch * (y1 - y0) + y - y0) * width + x - x0], whole[(ch * 60 + y) * 80 + x]);
      }
});

test('asking for rows a held tile no longer has is an error, not wrong pixels', () => {
  const rowBlend = axisBlend(axisSpans(30, 16, 6), 1);
  const colBlend = axisBlend(axisSpans(10, 0, 0), 1);
  const tiles = noiseTiles(rowBlend.starts.length, 1, rowBlend, colBlend, 1);
  const trimmed = tiles.map(([t]) => ({
    ...(t as HeldTile),
    firstRow: (t as HeldTile).firstRow + 4,
    height: (t as HeldTile).height - 4,
  }));
  const out = new Float32Array(30 * 10);
  assert.throws(
    () => blendRows(out, rowBlend, colBlend, (r) => trimmed[r] as HeldTile, 1, 0, 30, 0, 10),
    /output row 0 is not held/,
  );
});
