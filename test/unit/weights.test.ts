// Weight inspection: key conditions, the one error style of shape checks, numbered
// children, stored buffers, and the scale a pixel-shuffle head implies.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { StateDict } from '../../models/weights/state-dict';
import { WeightError, floatTensor, tensorAt } from '../../models/weights/tensors';
import { describeKeys, hasAll, hasAny, satisfies } from '../../models/weights/keys';
import {
  checkStoredBuffer,
  dimOf,
  rejectOtherTensors,
  requireConv,
  requireLinear,
  requireShape,
} from '../../models/weights/shapes';
import { countNumbered, numberedIndices } from '../../models/weights/sequences';
import { scaleAndOutputChannels, shuffleHeadOf } from '../../models/weights/pixel-shuffle';

function dict(entries: Record<string, readonly number[]>): StateDict {
  const sd: StateDict = new Map();
  for (const [key, shape] of Object.entries(entries)) {
    sd.set(key, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  }
  return sd;
}

test('key conditions: all, any and nested, as spandrel writes them', () => {
  const sd = dict({ 'conv_first.weight': [4, 3, 3, 3], 'body.0.rdb1.conv1.weight': [2, 4, 3, 3] });
  assert.equal(satisfies(sd, hasAll('conv_first.weight', 'body.0.rdb1.conv1.weight')), true);
  assert.equal(satisfies(sd, hasAll('conv_first.weight', 'conv_body.weight')), false);
  assert.equal(satisfies(sd, hasAny('model.0.weight', 'conv_first.weight')), true);
  const nested = hasAny(hasAll('model.0.weight', 'model.1.sub.0.RDB1.conv1.0.weight'), hasAll('conv_first.weight'));
  assert.equal(satisfies(sd, nested), true);
  assert.equal(satisfies(new Map(), nested), false);
  assert.equal(describeKeys(hasAny(hasAll('a', 'b', 'c'), hasAll('d'), 'e')), 'a + b + … or d or e');
});

test('one error style: a missing tensor names the key and what was expected; a mis-shaped one both shapes', () => {
  const sd = dict({ 'conv.weight': [8, 4, 3, 3], 'conv.bias': [8], 'fc.weight': [5, 6] });
  assert.throws(() => requireShape(sd, 'norm.weight', [8]), {
    message: "the weights have no tensor 'norm.weight' (expected shape [8])",
  });
  assert.throws(() => requireShape(sd, 'conv.weight', [8, 4, 1, 1]), {
    message: "tensor 'conv.weight' has shape [8, 4, 3, 3], expected [8, 4, 1, 1]",
  });
  assert.throws(() => dimOf(sd, 'fc.weight', 4, 0, 'a conv weight'), {
    message: "tensor 'fc.weight' has shape [5, 6], expected a 4-d tensor (a conv weight)",
  });
  assert.throws(() => tensorAt(sd, 'x', 'the input conv'), {
    message: "the weights have no tensor 'x' (expected the input conv)",
  });
  assert.throws(
    () => requireConv(sd, 'conv', { out: 8, in: 4, kernel: 3, bias: 'none' }),
    (e: Error) => e instanceof WeightError && e.key === 'conv.bias' && /expected no bias/.test(e.message),
  );
  assert.throws(() => requireLinear(sd, 'fc', 5, 6), {
    message: "the weights have no tensor 'fc.bias' (expected shape [5])",
  });
  requireLinear(sd, 'fc', 5, 6, 'none');
  requireConv(sd, 'conv', { out: 8, in: 4, kernel: [3, 3], bias: 'optional' });
  const ints: StateDict = new Map([['index', { shape: [2], data: BigInt64Array.from([1n, 2n]) }]]);
  assert.throws(() => floatTensor(ints, 'index'), {
    message: "tensor 'index' holds integers, expected floating-point values",
  });
});

test('numbered children are counted from 0 and a gap is an error naming the missing child', () => {
  const sd = dict({ 'layers.0.a': [1], 'layers.1.b': [1], 'layers.1.c': [1], 'layers.10.a': [1], 'other.3.a': [1] });
  assert.deepEqual(numberedIndices(sd, 'layers'), [0, 1, 10]);
  assert.throws(() => countNumbered(sd, 'layers'), {
    message: "the weights have 'layers.10.*' but no 'layers.2.*' (children must be numbered from 0 without gaps)",
  });
  assert.equal(countNumbered(dict({ 'upsample.0.weight': [1], 'upsample.1.weight': [1] }), 'upsample'), 2);
  assert.equal(countNumbered(sd, 'missing'), 0);
});

test('a stored buffer must equal the computed one; an absent one is fine', () => {
  const sd: StateDict = new Map([['idx', { shape: [2, 2], data: BigInt64Array.from([0n, 1n, 2n, 4n]) }]]);
  checkStoredBuffer(sd, 'absent', [1, 2], [2], 'anything');
  assert.throws(() => checkStoredBuffer(sd, 'idx', [0, 1, 2, 3], [2, 2], 'a 2x2 window'), {
    message: "tensor 'idx' holds 4 at flat index 3, expected 3 for a 2x2 window",
  });
  assert.throws(() => checkStoredBuffer(sd, 'idx', [0, 1, 2, 4], [4], 'x'), /has shape \[2, 2\], expected \[4\]/);
});

test('tensors the graph does not use are refused, named', () => {
  const sd = dict({ a: [1], b: [1], c: [1] });
  rejectOtherTensors(sd, new Set(['a', 'b', 'c']), 'three');
  assert.throws(() => rejectOtherTensors(sd, new Set(['a']), 'only a'), {
    message: "unexpected tensors 'b', 'c' (expected only only a)",
  });
});

test("the scale and output channels of a pixel shuffle, tried in spandrel's order", () => {
  assert.deepEqual(scaleAndOutputChannels(48, 3), { scale: 4, outputChannels: 3 });
  assert.deepEqual(scaleAndOutputChannels(27, 3), { scale: 3, outputChannels: 3 });
  assert.deepEqual(scaleAndOutputChannels(3, 3), { scale: 1, outputChannels: 3 });
  // 16 is not 3 · s², so RGBA x2 comes before grey x4, as in spandrel.
  assert.deepEqual(scaleAndOutputChannels(16, 3), { scale: 2, outputChannels: 4 });
  assert.deepEqual(scaleAndOutputChannels(16, 1), { scale: 4, outputChannels: 1 });
  assert.deepEqual(scaleAndOutputChannels(64, 4), { scale: 4, outputChannels: 4 });
  assert.equal(scaleAndOutputChannels(5, 3), null);
  assert.throws(() => shuffleHeadOf(dict({ 'up.weight': [10, 4, 3, 3] }), 'up.weight', 3), {
    message: "tensor 'up.weight' has 10 output channels, expected scale² × channels (channels 3, 3, 4 or 1)",
  });
});
