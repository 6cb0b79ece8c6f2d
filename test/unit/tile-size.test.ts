import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTile, evenTile } from '../../daemon/engine/tile-size';
import { axisSpans } from '../../daemon/engine/tiles';
import { passGrid } from '../../daemon/engine/tiled-pass';
import { EDGE_PAD, edgePadFor } from '../../daemon/engine/job-plan';
import { DEFAULT_PADDING } from '../../contract/vocabulary';

test('an explicit tile adds the context on both sides', () => {
  assert.deepEqual(chooseTile(64, 1000, 1000, 16), { width: 96, height: 96 });
  assert.deepEqual(chooseTile(0, 1000, 1000, 16), { width: 0, height: 0 });
});

test('automatic tiles: whole axis when it fits, else the fewest even tiles under the limit', () => {
  assert.deepEqual(chooseTile(undefined, 400, 300, 16, 480), { width: 0, height: 0 });
  const t = chooseTile(undefined, 528, 1040, 16, 480);
  assert.ok(t.width <= 512 && t.height <= 512, 'a core of 480 with 16 px of context each side');
  // 528 px needs two tiles; each is just over half, not a full 512.
  assert.equal(axisSpans(528, t.width, 32).length, 2);
  assert.equal(t.width, evenTile(528, 2, 32));
  assert.equal(axisSpans(1040, t.height, 32).length, 3);
});

test('by default a 512² image runs whole (with a mirrored border too), 1024² as 2 x 2 tiles and 1040² as 3 x 3', () => {
  assert.deepEqual(chooseTile(undefined, 512, 512, 16), { width: 0, height: 0 });
  assert.deepEqual(chooseTile(undefined, 528, 528, 16), { width: 0, height: 0 });
  const t = chooseTile(undefined, 1024, 1024, 16);
  assert.equal(t.width, 512 + 32);
  assert.equal(axisSpans(1024, t.width, 32).length, 2);
  const u = chooseTile(undefined, 1040, 1040, 16);
  assert.equal(u.width, evenTile(1040, 3, 32));
  assert.equal(axisSpans(1040, u.width, 32).length, 3);
});

test('an automatic tile never decides more than the limit, and takes the fewest tiles that allow it', () => {
  for (let length = 1; length <= 3000; length += 7) {
    for (const [context, maxCore] of [
      [16, 512],
      [16, 309],
      [0, 64],
      [8, 100],
    ] as const) {
      const shared = 2 * context;
      const tile = chooseTile(undefined, length, length, context, maxCore).width;
      if (tile === 0) {
        assert.ok(length <= maxCore + shared, `${length} px runs whole only if it fits one tile`);
        continue;
      }
      const spans = axisSpans(length, tile, shared);
      assert.ok(
        tile - shared <= maxCore,
        `${length}/${context}/${maxCore}: a ${tile} px tile decides more than ${maxCore}`,
      );
      assert.equal(spans.length, Math.ceil(length / maxCore), `${length}/${context}/${maxCore}: ${spans.length} tiles`);
    }
  }
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
  const t = chooseTile(512, 512 + 2 * pad, 512 + 2 * pad, 0);
  assert.equal(
    passGrid({ width: 512, height: 512 }, { tileWidth: t.width, tileHeight: t.height, overlap: 0, edgePad: pad }).cols
      .length,
    1,
  );
  const half = chooseTile(256, 512 + 2 * pad, 512 + 2 * pad, 0);
  assert.equal(
    passGrid({ width: 512, height: 512 }, { tileWidth: half.width, tileHeight: half.height, overlap: 0, edgePad: pad })
      .cols.length,
    2,
  );
});
