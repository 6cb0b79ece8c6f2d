import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisSpans } from '../../daemon/engine/tiles';

test('one span when the tile is 0 or covers the axis', () => {
  assert.deepEqual(axisSpans(100, 0, 16), [{ start: 0, end: 100 }]);
  assert.deepEqual(axisSpans(100, 100, 16), [{ start: 0, end: 100 }]);
  assert.deepEqual(axisSpans(100, 500, 16), [{ start: 0, end: 100 }]);
});

test('spans cover the axis, all the same size, with at least the overlap between neighbours', () => {
  for (const [length, tile, overlap] of [
    [100, 32, 8],
    [1000, 96, 32],
    [97, 40, 0],
    [513, 512, 32],
    [2000, 300, 60],
  ] as const) {
    const spans = axisSpans(length, tile, overlap);
    assert.equal(spans[0]?.start, 0);
    assert.equal(spans[spans.length - 1]?.end, length);
    for (const s of spans) assert.equal(s.end - s.start, tile);
    for (let i = 1; i < spans.length; i++) {
      const shared = (spans[i - 1]?.end as number) - (spans[i]?.start as number);
      assert.ok(
        shared >= overlap,
        `${length}/${tile}/${overlap}: tiles ${i - 1} and ${i} share ${shared} < ${overlap}`,
      );
    }
    // Real-ESRGAN's count: each tile decides at most tile - overlap pixels, and one fewer tile could not.
    assert.ok(spans.length * (tile - overlap) >= length);
    assert.ok((spans.length - 1) * (tile - overlap) < length);
  }
});

test('two tiles that would meet with only the overlap between them are three', () => {
  // 160 px in 96 px tiles with 32 shared: as two tiles, the pixels either side of the
  // seam would keep 8 px of context; the 160x160 baboon crop lost 5 dB to it.
  assert.deepEqual(axisSpans(160, 96, 32), [
    { start: 0, end: 96 },
    { start: 32, end: 128 },
    { start: 64, end: 160 },
  ]);
});

test('a bad overlap is refused with the numbers', () => {
  assert.throws(() => axisSpans(100, 32, 32), /overlap must be from 0 to tile - 1 \(31\), got 32/);
  assert.throws(() => axisSpans(0, 32, 8), /length must be a positive integer/);
});
