import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPasses, targetSize, MAX_PASSES } from '../../daemon/engine/plan';

const input = { width: 100, height: 60 };

test('scales with a 4x model: passes until the target is reached, then Lanczos', () => {
  const cases: Array<[number, number, { width: number; height: number }, boolean]> = [
    [2, 1, { width: 200, height: 120 }, true], // one pass, then down
    [3, 1, { width: 300, height: 180 }, true],
    [4, 1, { width: 400, height: 240 }, false],
    [2.5, 1, { width: 250, height: 150 }, true],
    [8, 2, { width: 800, height: 480 }, true], // 16x, then down
    [16, 2, { width: 1600, height: 960 }, false],
    [64, 3, { width: 6400, height: 3840 }, false],
    [100, MAX_PASSES, { width: 10000, height: 6000 }, true], // at most 3 passes, then up
    [0.5, 1, { width: 50, height: 30 }, true],
  ];
  for (const [scale, passes, final, resize] of cases) {
    const plan = planPasses(input, 4, { kind: 'scale', scale });
    assert.equal(plan.passSizes.length, passes, `${scale}x passes`);
    assert.deepEqual(plan.final, final, `${scale}x final`);
    assert.equal(plan.resize, resize, `${scale}x resize`);
  }
});

test('pass sizes multiply by the model scale', () => {
  assert.deepEqual(planPasses(input, 2, { kind: 'scale', scale: 8 }).passSizes, [
    { width: 200, height: 120 },
    { width: 400, height: 240 },
    { width: 800, height: 480 },
  ]);
});

test('a model that does not grow the image stops after one pass', () => {
  const plan = planPasses(input, 1, { kind: 'scale', scale: 4 });
  assert.equal(plan.passSizes.length, 1);
  assert.deepEqual(plan.final, { width: 400, height: 240 });
});

test('exact sizes: both sides exact, one side keeps the aspect ratio', () => {
  assert.deepEqual(targetSize(input, { kind: 'size', width: 333, height: 777 }), { width: 333, height: 777 });
  assert.deepEqual(targetSize(input, { kind: 'size', width: 250 }), { width: 250, height: 150 });
  assert.deepEqual(targetSize(input, { kind: 'size', height: 90 }), { width: 150, height: 90 });
  const cover = planPasses(input, 4, { kind: 'size', width: 1000, height: 1000 });
  assert.equal(cover.passSizes.length, 3, 'cover needs 1000/60 = 16.7x: 4x and 16x fall short, three passes');
  const contain = planPasses(input, 4, { kind: 'size', width: 1000, height: 1000, fit: 'contain' });
  assert.equal(contain.passSizes.length, 2, 'contain needs 10x: two passes');
  const three = planPasses(input, 4, { kind: 'size', width: 5000 });
  assert.equal(three.passSizes.length, 3);
  assert.deepEqual(three.final, { width: 5000, height: 3000 });
  assert.throws(() => targetSize(input, { kind: 'size' }), /needs a width, a height or both/);
});
