// Geometry that decides output pixels: contain rectangles, wrap padding through tiles and
// resizing, quantising rows straight into an output raster, and size ceilings. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containRect, planPasses } from '../../daemon/engine/plan';
import { extractRegion, runTiledPass, wrapIndex, type TileInference } from '../../daemon/engine/tiled-pass';
import type { PlanarImage } from '../../daemon/image/types';
import { resizeLanczos } from '../../daemon/engine/lanczos';
import { fillChannel, quantisePlanes } from '../../daemon/engine/quantise';
import { checkOutputSize } from '../../contract/formats';

test('contain: the largest rectangle of the input aspect inside W x H, centred; the plan resizes to it', () => {
  assert.deepEqual(containRect({ width: 40, height: 20 }, { width: 100, height: 100 }), {
    x: 0,
    y: 25,
    width: 100,
    height: 50,
  });
  assert.deepEqual(containRect({ width: 20, height: 40 }, { width: 100, height: 100 }), {
    x: 25,
    y: 0,
    width: 50,
    height: 100,
  });
  const plan = planPasses({ width: 40, height: 20 }, 4, { kind: 'size', width: 100, height: 100, fit: 'contain' });
  assert.deepEqual(plan.final, { width: 100, height: 100 });
  assert.deepEqual(plan.content, { x: 0, y: 25, width: 100, height: 50 });
  assert.deepEqual(plan.passSizes, [{ width: 160, height: 80 }]);
  assert.equal(plan.resize, true);
  // Exactly 4x inside a taller frame: the pass is the content, no resize.
  const exact = planPasses({ width: 40, height: 20 }, 4, { kind: 'size', width: 160, height: 100, fit: 'contain' });
  assert.deepEqual(exact.content, { x: 0, y: 10, width: 160, height: 80 });
  assert.equal(exact.resize, false);
  // cover and fill fill the output.
  const cover = planPasses({ width: 40, height: 20 }, 4, { kind: 'size', width: 100, height: 100 });
  assert.deepEqual(cover.content, { x: 0, y: 0, width: 100, height: 100 });
});

test('wrap padding reads the opposite edge', () => {
  assert.deepEqual(
    [-2, -1, 0, 4, 5, 11].map((i) => wrapIndex(i, 5)),
    [3, 4, 0, 4, 0, 1],
  );
  const img: PlanarImage = { width: 3, height: 1, channels: 1, data: Float32Array.from([1, 2, 3]) };
  assert.deepEqual([...extractRegion(img, -2, 0, 7, 1, 'wrap').data], [2, 3, 1, 2, 3, 1, 2]);
  assert.deepEqual([...extractRegion(img, -2, 0, 7, 1).data], [3, 2, 1, 2, 3, 2, 1]);
});

/** A model with context: 3x3 box blur (clamped at the tile edge), then nearest x2. */
const blur2: TileInference = async (t) => {
  const w = t.width * 2;
  const h = t.height * 2;
  const out = new Float32Array(t.channels * w * h);
  for (let c = 0; c < t.channels; c++)
    for (let y = 0; y < t.height; y++)
      for (let x = 0; x < t.width; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(t.height - 1, Math.max(0, y + dy));
            const xx = Math.min(t.width - 1, Math.max(0, x + dx));
            sum += t.data[(c * t.height + yy) * t.width + xx] as number;
          }
        for (let oy = 0; oy < 2; oy++)
          for (let ox = 0; ox < 2; ox++) out[(c * h + 2 * y + oy) * w + 2 * x + ox] = sum / 9;
      }
  return { width: w, height: h, channels: t.channels, data: out };
};

test('wrap padding through tiles and the edge pad: a periodic image gives exactly the periodic (circular) result', async () => {
  const W = 48;
  const H = 40;
  const img: PlanarImage = { width: W, height: H, channels: 1, data: new Float32Array(W * H) };
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img.data[y * W + x] = ((x * 37 + y * 11) % 17) / 17;
  const expected = new Float32Array(4 * W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) sum += img.data[wrapIndex(y + dy, H) * W + wrapIndex(x + dx, W)] as number;
      for (let oy = 0; oy < 2; oy++)
        for (let ox = 0; ox < 2; ox++) expected[(2 * y + oy) * 2 * W + 2 * x + ox] = sum / 9;
    }
  const run = async (padding: 'wrap' | 'reflect') => {
    const out = new Float32Array(4 * W * H);
    await runTiledPass(
      img,
      blur2,
      {
        scale: 2,
        tileWidth: 24,
        tileHeight: 24,
        overlap: 8,
        edgePad: 4,
        inputMultiple: 1,
        minTile: 8,
        signal: new AbortController().signal,
        padding,
      },
      (y, count, rows) => {
        out.set(rows.subarray(0, count * 2 * W), y * 2 * W);
      },
    );
    return out;
  };
  const wrapped = await run('wrap');
  let worst = 0;
  for (let i = 0; i < expected.length; i++)
    worst = Math.max(worst, Math.abs((wrapped[i] as number) - (expected[i] as number)));
  assert.ok(worst < 1e-5, `wrap: largest difference ${worst}`);
  const reflected = await run('reflect');
  let edge = 0;
  for (let y = 0; y < 2 * H; y++)
    edge = Math.max(edge, Math.abs((reflected[y * 2 * W] as number) - (expected[y * 2 * W] as number)));
  assert.ok(edge > 1e-3, 'reflect differs at the edge (the test can tell them apart)');
});

test('Lanczos with wrap: a periodic signal resized stays periodic at the edges', () => {
  const n = 16;
  const img: PlanarImage = { width: n, height: 1, channels: 1, data: new Float32Array(n) };
  for (let x = 0; x < n; x++) img.data[x] = 0.5 + 0.4 * Math.sin((2 * Math.PI * x) / n);
  const out = resizeLanczos(img, 40, 1, undefined, true);
  for (let x = 0; x < 40; x++) {
    const want = 0.5 + 0.4 * Math.sin((2 * Math.PI * ((x + 0.5) * (n / 40) - 0.5)) / n);
    assert.ok(Math.abs((out.data[x] as number) - want) < 0.01, `x=${x}: ${out.data[x]} vs ${want}`);
  }
});

test('rows are quantised straight into a channel range of the output raster, at an offset', () => {
  const W = 5;
  const H = 4;
  const raster = new Uint8Array(W * H * 4);
  fillChannel(raster, W, 4, 0, 0, W, H, 3, 0);
  // Two rows of a 3-wide RGB chunk at (1, 1).
  const rows = Float32Array.from([
    0, 0.5, 1, 1, 0.5, 0, /* G */ 1, 1, 1, 0, 0, 0, /* B */ 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
  ]);
  quantisePlanes(raster, W, 4, 1, 1, 3, 2, rows, 3, 0);
  fillChannel(raster, W, 4, 1, 1, 3, 2, 3, 255);
  const px = (x: number, y: number) => [...raster.subarray((y * W + x) * 4, (y * W + x) * 4 + 4)];
  assert.deepEqual(px(1, 1), [0, 255, 51, 255]);
  assert.deepEqual(px(2, 1), [128, 255, 51, 255]);
  assert.deepEqual(px(3, 2), [0, 0, 51, 255]);
  assert.deepEqual(px(0, 0), [0, 0, 0, 0]);
  assert.deepEqual(px(4, 2), [0, 0, 0, 0]);
  const deep = new Uint16Array(2 * 1 * 4);
  quantisePlanes(deep, 2, 4, 0, 0, 2, 1, Float32Array.from([1, 0.5]), 1, 3);
  assert.deepEqual([deep[3], deep[7]], [65535, 32768]);
});

test('PNG and TIFF allow 30000 x 30000 and more; WebP and JPEG refuse past their limits, naming them and suggesting PNG or TIFF', () => {
  const plan = planPasses({ width: 7500, height: 7500 }, 4, { kind: 'scale', scale: 4 });
  assert.deepEqual(plan.final, { width: 30000, height: 30000 });
  assert.equal(plan.resize, false);
  for (const f of ['png', 'tif'] as const) {
    checkOutputSize(f, 30000, 30000);
    checkOutputSize(f, 40000, 25000);
  }
  assert.throws(
    () => checkOutputSize('webp', 16384, 100),
    /WebP allows at most 16383 pixels per side\. Choose PNG or TIFF/,
  );
  assert.throws(
    () => checkOutputSize('jpg', 65536, 100),
    /JPEG allows at most 65535 pixels per side\. Choose PNG or TIFF/,
  );
});
