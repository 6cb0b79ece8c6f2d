import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTarget, parseTarget } from '../../extension/target';
import { type Target } from '../../contract/vocabulary';

function ok(input: string): Target {
  const r = parseTarget(input);
  assert.ok(r.ok, `${input}: ${r.ok ? '' : r.problem}`);
  return r.target;
}
function problem(input: string): string {
  const r = parseTarget(input);
  assert.ok(!r.ok, `${input} should be refused`);
  return r.problem;
}

test('scales in the spellings people type', () => {
  for (const [text, scale] of [
    ['4', 4],
    ['4x', 4],
    ['4X', 4],
    [' 2.5 x ', 2.5],
    ['x3', 3],
    ['×2', 2],
    ['.5', 0.5],
    ['16', 16],
    ['8x', 8],
  ] as const) {
    assert.deepEqual(ok(text), { kind: 'scale', scale }, text);
  }
});

test('sizes: both sides, width alone, height alone', () => {
  assert.deepEqual(ok('1920x1080'), { kind: 'size', width: 1920, height: 1080 });
  assert.deepEqual(ok('1920 × 1080'), { kind: 'size', width: 1920, height: 1080 });
  assert.deepEqual(ok('1920*1080'), { kind: 'size', width: 1920, height: 1080 });
  assert.deepEqual(ok('1920x'), { kind: 'size', width: 1920 });
  assert.deepEqual(ok('x1080'), { kind: 'size', height: 1080 });
  // Numbers on both sides of the x are always a size.
  assert.deepEqual(ok('4x4'), { kind: 'size', width: 4, height: 4 });
});

test('refusals say what was wrong', () => {
  assert.match(problem(''), /Type a scale/);
  assert.match(problem('0'), /more than 0 and at most 16; 0 is not/);
  assert.match(problem('17'), /at most 16; 17 is not/);
  assert.match(problem('2.5.1'), /neither a scale/);
  assert.match(problem('abc'), /"abc" is neither a scale \(4, 2\.5x\) nor a size/);
  assert.match(problem('0x100'), /width must be a whole number of pixels from 1 to 1000000; 0 is not/);
  assert.match(problem('100x2000000'), /height must be .*; 2000000 is not/);
  assert.match(problem('x'), /neither/);
});

test('describeTarget', () => {
  assert.equal(describeTarget({ kind: 'scale', scale: 2.5 }), '2.5x');
  assert.equal(describeTarget({ kind: 'size', width: 1920, height: 1080 }), '1920×1080');
  assert.equal(describeTarget({ kind: 'size', width: 1920 }), '1920 px wide');
  assert.equal(describeTarget({ kind: 'size', height: 1080 }), '1080 px high');
});
