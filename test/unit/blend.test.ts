import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisWeights, ramp, DEAD_ZONE } from '../../daemon/engine/blend';
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
  for (const [length, tile, overlap, scale] of [[200, 96, 32, 4], [333, 64, 16, 2], [90, 48, 40, 1]] as const) {
    const spans = axisSpans(length, tile, overlap);
    const total = new Float64Array(length * scale);
    spans.forEach((s, i) => {
      const w = axisWeights(spans, i, scale);
      for (let q = 0; q < w.length; q++) total[s.start * scale + q] = (total[s.start * scale + q] as number) + (w[q] as number);
    });
    for (let q = 0; q < total.length; q++) assert.ok((total[q] as number) > 0.4, `${length}/${tile}/${overlap}: weight ${total[q]} at ${q}`);
  }
});
