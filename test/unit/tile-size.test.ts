import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTile, evenTile } from '../../daemon/engine/tile-size';
import { axisSpans } from '../../daemon/engine/tiles';

test('an explicit tile adds the context on both sides', () => {
  assert.deepEqual(chooseTile(64, 1000, 1000, 16), { width: 96, height: 96 });
  assert.deepEqual(chooseTile(0, 1000, 1000, 16), { width: 0, height: 0 });
});

test('automatic tiles: whole axis when it fits, else the fewest even tiles under the limit', () => {
  assert.deepEqual(chooseTile(undefined, 400, 300, 16, 512), { width: 0, height: 0 });
  const t = chooseTile(undefined, 528, 1040, 16, 512);
  assert.ok(t.width <= 512 && t.height <= 512);
  // 528 px needs two tiles; each is just over half, not a full 512.
  assert.equal(axisSpans(528, t.width, 32).length, 2);
  assert.equal(t.width, evenTile(528, 2, 32));
  assert.equal(axisSpans(1040, t.height, 32).length, 3);
});
