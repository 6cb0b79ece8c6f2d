import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisBlend, axisWeights, ramp, DEAD_ZONE } from '../../daemon/engine/blend';
import { axisSpans } from '../../daemon/engine/tiles';

test('the ramp is 0 in the dead zone, 1 past it, monotone and symmetric in between', () => {
  assert.equal(ramp(0), 0);
  assert.equal(ramp(DEAD_ZONE), 0);
  assert.equal(ramp(1 - DEAD_ZONE), 1);
  assert.equal(ramp(1), 1);
  assert.ok(Math.abs(ramp(0.5) - 0.5) < 1e-12);
  let prev = 0;
  for (let t = 0; t <= 1; t += 0.01) {
    const v = ramp(t);
    assert.ok(v >= prev - 1e-12);
    assert.ok(Math.abs(v + ramp(1 - t) - 1) < 1e-9, `ramp(t) + ramp(1-t) = 1 at ${t}`);
    prev = v;
  }
});

test('weights are 1 on sides that touch the image border and 0 at edges shared with a neighbour', () => {
  const spans = axisSpans(200, 96, 32);
  const first = axisWeights(spans, 0, 4);
  const last = axisWeights(spans, spans.length - 1, 4);
  assert.equal(first.length, 96 * 4);
  assert.equal(first[0], 1);
  assert.equal(first[first.length - 1], 0);
  assert.equal(last[0], 0);
  assert.equal(last[last.length - 1], 1);
});

test('every output pixel gets positive total weight, and overlaps hand over smoothly', () => {
  for (const [length, tile, overlap, scale] of [
    [200, 96, 32, 4],
    [333, 64, 16, 2],
    [90, 48, 40, 1],
  ] as const) {
    const spans = axisSpans(length, tile, overlap);
    const total = new Float64Array(length * scale);
    spans.forEach((s, i) => {
      const w = axisWeights(spans, i, scale);
      for (let q = 0; q < w.length; q++)
        total[s.start * scale + q] = (total[s.start * scale + q] as number) + (w[q] as number);
    });
    for (let q = 0; q < total.length; q++)
      assert.ok((total[q] as number) > 0.4, `${length}/${tile}/${overlap}: weight ${total[q]} at ${q}`);
  }
});

test('axisBlend: runs cut the whole axis in order, each naming exactly the tiles with weight there', () => {
  for (const [length, tile, overlap, scale] of [
    [200, 96, 32, 4],
    [333, 64, 16, 2],
    [90, 48, 40, 1],
    [50, 12, 10, 2],
    [40, 0, 0, 3],
  ] as const) {
    const spans = axisSpans(length, tile, overlap);
    const blend = axisBlend(spans, scale);
    assert.equal(blend.runs[0]?.start, 0);
    assert.equal(blend.runs[blend.runs.length - 1]?.end, length * scale);
    blend.runs.forEach((run, i) => {
      if (i > 0) assert.equal(run.start, blend.runs[i - 1]?.end);
      for (let q = run.start; q < run.end; q++) {
        const weighted = spans.flatMap((_, t) => {
          const w = (blend.weights[t] as Float32Array)[q - (blend.starts[t] as number)];
          return w !== undefined && w > 0 ? [t] : [];
        });
        assert.deepEqual(weighted, run.tiles, `${length}/${tile}/${overlap} at ${q}`);
        const sum = weighted.reduce(
          (s, t) => s + ((blend.weights[t] as Float32Array)[q - (blend.starts[t] as number)] as number),
          0,
        );
        assert.ok(Math.abs((blend.total[q] as number) - sum) < 1e-6);
      }
    });
  }
});

test('axisBlend: with the dead zone most of the axis has a single tile, so it is copied, not mixed', () => {
  const spans = axisSpans(1040, 552, 32);
  assert.deepEqual(spans, [
    { start: 0, end: 552 },
    { start: 488, end: 1040 },
  ]);
  const blend = axisBlend(spans, 4);
  const single = blend.runs.filter((r) => r.tiles.length === 1).reduce((n, r) => n + r.end - r.start, 0);
  assert.equal(blend.runs.length, 3);
  assert.equal(1040 * 4 - single, 32 * 4, 'only the middle half of the 64 px the tiles share mixes');
});

test('axisBlend refuses tiles that leave part of the axis uncovered', () => {
  assert.throws(
    () =>
      axisBlend(
        [
          { start: 0, end: 10 },
          { start: 12, end: 20 },
        ],
        1,
      ),
    /no tile has weight at output 10/,
  );
});
