import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTile, evenTile } from '../../daemon/engine/tile-size';
import { axisSpans } from '../../daemon/engine/tiles';

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

test('by default a 512² image with its 8 px border runs whole, and 1024² as 2 x 2 tiles', () => {
  assert.deepEqual(chooseTile(undefined, 528, 528, 16), { width: 0, height: 0 });
  const t = chooseTile(undefined, 1040, 1040, 16);
  assert.equal(t.width, evenTile(1040, 2, 32));
  assert.ok(t.width <= 512 + 32);
  assert.equal(axisSpans(1040, t.width, 32).length, 2);
});
