import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisSpans } from '../../daemon/engine/tiles';

test('one span when the tile is 0 or covers the axis', () => {
  assert.deepEqual(axisSpans(100, 0, 16), [{ start: 0, end: 100 }]);
  assert.deepEqual(axisSpans(100, 100, 16), [{ start: 0, end: 100 }]);
  assert.deepEqual(axisSpans(100, 500, 16), [{ start: 0, end: 100 }]);
});

test('spans cover the axis, all the same size, with at least the overlap between neighbours', () => {
  for (const [length, tile, overlap] of [[100, 32, 8], [1000, 96, 32], [97, 40, 0], [513, 512, 32], [2000, 300, 60]] as const) {
    const spans = axisSpans(length, tile, overlap);
    assert.equal(spans[0]?.start, 0);
    assert.equal(spans[spans.length - 1]?.end, length);
    for (const s of spans) assert.equal(s.end - s.start, tile);
    for (let i = 1; i < spans.length; i++) {
      const shared = (spans[i - 1]?.end as number) - (spans[i]?.start as number);
      assert.ok(shared >= overlap, `${length}/${tile}/${overlap}: tiles ${i - 1} and ${i} share ${shared} < ${overlap}`);
    }
    // The fewest tiles that can do it: one fewer could not cover the axis.
    assert.ok((spans.length - 1) * (tile - overlap) + overlap < length);
  }
});

test('a bad overlap is refused with the numbers', () => {
  assert.throws(() => axisSpans(100, 32, 32), /overlap must be from 0 to tile - 1 \(31\), got 32/);
  assert.throws(() => axisSpans(0, 32, 8), /length must be a positive integer/);
});
