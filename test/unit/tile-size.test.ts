import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUTO_MAX_CORE,
  COST_BY_SIDE,
  DEFAULT_BUDGET_SHARE,
  MIN_AUTO_CORE,
  chooseTile,
  costPerPixel,
  evenTile,
  memoryBudgetBytes,
  tileWorkingBytes,
  type TileBudget,
} from '../../daemon/engine/tile-size';
import { axisSpans } from '../../daemon/engine/tiles';
import { passGrid } from '../../daemon/engine/tiled-pass';
import { EDGE_PAD, edgePadFor } from '../../daemon/engine/job-plan';
import { DEFAULT_PADDING } from '../../contract/vocabulary';

const GiB = 2 ** 30;
/** The compact model's activations per input pixel, as its conversion reads them. */
const COMPACT = 780;
/** A model whose working memory is unknown: tiles keep to AUTO_MAX_CORE. */
const UNKNOWN: TileBudget = { bytesPerPixel: null, budgetBytes: 8 * GiB };
const budget = (bytesPerPixel: number, bytes: number): TileBudget => ({ bytesPerPixel, budgetBytes: bytes });

/** Pixels the model sees for a tile choice on an image, and the count of tiles. */
function work(t: { width: number; height: number }, width: number, height: number, shared: number) {
  const cols = axisSpans(width, t.width, shared);
  const rows = axisSpans(height, t.height, shared);
  const side = (spans: readonly { start: number; end: number }[]) => (spans[0]?.end ?? 0) - (spans[0]?.start ?? 0);
  return { tiles: cols.length * rows.length, tensor: [side(cols), side(rows)] as const };
}

test('an explicit tile adds the context on both sides, whatever the budget', () => {
  assert.deepEqual(chooseTile(64, 1000, 1000, 16, budget(COMPACT, 64 * 2 ** 20)), { width: 96, height: 96 });
  assert.deepEqual(chooseTile(0, 1000, 1000, 16, budget(COMPACT, 64 * 2 ** 20)), { width: 0, height: 0 });
});

test('the whole image when its working memory fits the budget', () => {
  const whole = tileWorkingBytes(1024, 1024, COMPACT);
  assert.deepEqual(chooseTile(undefined, 1024, 1024, 16, budget(COMPACT, whole)), { width: 0, height: 0 });
  assert.notDeepEqual(chooseTile(undefined, 1024, 1024, 16, budget(COMPACT, whole - 1)), { width: 0, height: 0 });
});

/** Every even tiling of a `width`×`height` image that fits `bytes`, with its estimated time, counted by brute force. */
function fittingTilings(width: number, height: number, bytes: number) {
  const cuts = (length: number) => {
    const out = [{ tile: 0, side: length, count: 1 }];
    for (let n = 2; n <= Math.ceil(length / MIN_AUTO_CORE); n++) {
      const tile = evenTile(length, n, 32);
      if (tile < length) out.push({ tile, side: tile, count: axisSpans(length, tile, 32).length });
    }
    return out;
  };
  return cuts(width).flatMap((x) =>
    cuts(height)
      .filter((y) => tileWorkingBytes(x.side, y.side, COMPACT) <= bytes)
      .map((y) => ({
        tile: { width: x.tile, height: y.tile },
        area: x.side * y.side,
        time: x.count * y.count * x.side * y.side * costPerPixel(Math.sqrt(x.side * y.side)),
      })),
  );
}

test('under a budget the tiles fit it, and no fitting tiling is faster by the estimate', () => {
  for (const [width, height, mib] of [
    [2048, 2048, 700],
    [2048, 2048, 2600],
    [8000, 2000, 1024],
    [1000, 3000, 300],
    [3000, 1000, 5000],
    [2000, 2000, 8 * 1024],
  ] as const) {
    const bytes = mib * 2 ** 20;
    const all = fittingTilings(width, height, bytes);
    const fastest = Math.min(...all.map((c) => c.time));
    const t = chooseTile(undefined, width, height, 16, budget(COMPACT, bytes));
    const chosen = all.find((c) => c.tile.width === t.width && c.tile.height === t.height);
    assert.ok(chosen, `${width}x${height} in ${mib} MiB: the tiling chosen does not fit`);
    assert.ok(chosen.time <= fastest * (1 + 1e-9), `${width}x${height} in ${mib} MiB: a faster tiling fits`);
  }
});

test('the 2048² compact job: 4 x 4 tiles of 544 in 700 MiB, 4 bands of 2048 x 544 in 2600 MiB, 2 halves of 2048 x 1056 by default', () => {
  const in700 = work(chooseTile(undefined, 2048, 2048, 16, budget(COMPACT, 700 * 2 ** 20)), 2048, 2048, 32);
  assert.deepEqual(in700, { tiles: 16, tensor: [544, 544] });
  const in2600 = work(chooseTile(undefined, 2048, 2048, 16, budget(COMPACT, 2600 * 2 ** 20)), 2048, 2048, 32);
  assert.deepEqual(in2600, { tiles: 4, tensor: [2048, 544] });
  const byDefault = budget(COMPACT, memoryBudgetBytes(0, 24 * GiB));
  const halves = work(chooseTile(undefined, 2048, 2048, 16, byDefault), 2048, 2048, 32);
  assert.equal(halves.tiles, 2);
  assert.deepEqual(
    [...halves.tensor].sort((a, b) => a - b),
    [1056, 2048],
  );
  assert.deepEqual(chooseTile(undefined, 1024, 1024, 16, byDefault), { width: 0, height: 0 });
});

test('a budget too small for any tile gives the smallest automatic tile; the out-of-memory split goes on from there', () => {
  const t = chooseTile(undefined, 1000, 1000, 16, budget(COMPACT, 1));
  assert.ok(t.width > 0 && t.width - 32 <= MIN_AUTO_CORE + 1, `${t.width}`);
  assert.equal(t.width, t.height);
});

test('a model of unknown memory keeps the plain limit: 512² runs whole, 1024² as 2 x 2 tiles and 1040² as 3 x 3', () => {
  assert.deepEqual(chooseTile(undefined, 512, 512, 16, UNKNOWN), { width: 0, height: 0 });
  assert.deepEqual(chooseTile(undefined, 528, 528, 16, UNKNOWN), { width: 0, height: 0 });
  const t = chooseTile(undefined, 1024, 1024, 16, UNKNOWN);
  assert.equal(t.width, AUTO_MAX_CORE + 32);
  assert.equal(axisSpans(1024, t.width, 32).length, 2);
  const u = chooseTile(undefined, 1040, 1040, 16, UNKNOWN);
  assert.equal(u.width, evenTile(1040, 3, 32));
  assert.equal(axisSpans(1040, u.width, 32).length, 3);
  for (let length = 1; length <= 3000; length += 7) {
    const tile = chooseTile(undefined, length, length, 16, UNKNOWN).width;
    if (tile === 0) assert.ok(length <= AUTO_MAX_CORE + 32, `${length} px runs whole only if it fits one tile`);
    else assert.equal(axisSpans(length, tile, 32).length, Math.ceil(length / AUTO_MAX_CORE), `${length} px`);
  }
});

test('time per pixel: the smaller the tile, the more; interpolated between the measured sides, flat beyond them', () => {
  const [first] = COST_BY_SIDE;
  const last = COST_BY_SIDE[COST_BY_SIDE.length - 1];
  assert.ok(first && last);
  assert.equal(costPerPixel(8), first[1]);
  assert.equal(costPerPixel(100_000), last[1]);
  for (const [side, cost] of COST_BY_SIDE) assert.equal(costPerPixel(side), cost);
  for (let side = 16; side < 4096; side += 13) assert.ok(costPerPixel(side) >= costPerPixel(side + 13) - 1e-12);
});

test('the budget: the request in MiB, or a third of the machine when 0 or absent', () => {
  assert.equal(memoryBudgetBytes(512, 24 * GiB), 512 * 2 ** 20);
  assert.equal(memoryBudgetBytes(0, 24 * GiB), 8 * GiB);
  assert.equal(memoryBudgetBytes(undefined, 24 * GiB), 24 * GiB * DEFAULT_BUDGET_SHARE);
});

test('no border by default; a mirrored one is context, never wider than the overlap: --overlap 0 adds none', () => {
  assert.equal(DEFAULT_PADDING, 'none', "a whole-image run is the model's own output");
  assert.equal(edgePadFor('none', 16), 0);
  assert.equal(edgePadFor('reflect', 16), EDGE_PAD);
  assert.equal(edgePadFor('reflect', 2), 2);
  assert.equal(edgePadFor('reflect', 0), 0);
  assert.equal(edgePadFor('wrap', 16), 32, 'a wrapped edge is a seam: it gets what a seam between tiles gets');
  // --tile 512 --overlap 0 on a 512 px image: one tile, not two that overlap by 504 px.
  const pad = edgePadFor('reflect', 0);
  const t = chooseTile(512, 512 + 2 * pad, 512 + 2 * pad, 0, UNKNOWN);
  assert.equal(
    passGrid({ width: 512, height: 512 }, { tileWidth: t.width, tileHeight: t.height, overlap: 0, edgePad: pad }).cols
      .length,
    1,
  );
  const half = chooseTile(256, 512 + 2 * pad, 512 + 2 * pad, 0, UNKNOWN);
  assert.equal(
    passGrid({ width: 512, height: 512 }, { tileWidth: half.width, tileHeight: half.height, overlap: 0, edgePad: pad })
      .cols.length,
    2,
  );
});
