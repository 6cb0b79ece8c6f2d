// planStages without I/O: a chain's models run once each but the main one, whose passes
// reach the target; a blend runs its own passes to the same target from the main model's
// input, before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planStages, type Combination } from '../../daemon/engine/chain-plan';

interface M {
  readonly id: string;
  readonly scale: number;
}
const x1: M = { id: 'x1', scale: 1 };
const x2: M = { id: 'x2', scale: 2 };
const x3: M = { id: 'x3', scale: 3 };
const x4: M = { id: 'x4', scale: 4 };

function models(main: M, extra: Partial<Combination<M>> = {}): Combination<M> {
  return { before: [], after: [], blend: null, main, ...extra };
}

function describe(stages: ReturnType<typeof planStages<M>>['stages']): string[] {
  return stages.map(
    (s) => `${s.branch} ${s.model.id} ${s.input.width}x${s.input.height}>${s.output.width}x${s.output.height}`,
  );
}

test('one model: its passes, as plan.ts plans them', () => {
  const { stages, geometry } = planStages({ width: 10, height: 6 }, { kind: 'scale', scale: 8 }, models(x4));
  assert.deepEqual(describe(stages), ['main x4 10x6>40x24', 'main x4 40x24>160x96']);
  assert.deepEqual(geometry.final, { width: 80, height: 48 });
  assert.equal(geometry.resize, true);
});

test('a 1x model before the upscaler runs once at the input size; the upscaler runs the passes', () => {
  const { stages, geometry } = planStages(
    { width: 10, height: 6 },
    { kind: 'scale', scale: 16 },
    models(x4, { before: [x1] }),
  );
  assert.deepEqual(describe(stages), ['main x1 10x6>10x6', 'main x4 10x6>40x24', 'main x4 40x24>160x96']);
  assert.deepEqual(geometry.passSizes, [
    { width: 10, height: 6 },
    { width: 40, height: 24 },
    { width: 160, height: 96 },
  ]);
  assert.equal(geometry.resize, false);
});

test('an upscaler before the main one runs once; the target is still measured from the input', () => {
  const { stages, geometry } = planStages(
    { width: 10, height: 6 },
    { kind: 'scale', scale: 8 },
    models(x4, { before: [x2] }),
  );
  assert.deepEqual(describe(stages), ['main x2 10x6>20x12', 'main x4 20x12>80x48']);
  assert.deepEqual(geometry.final, { width: 80, height: 48 });
  assert.equal(geometry.resize, false);
  const sized = planStages(
    { width: 10, height: 6 },
    { kind: 'size', width: 50, height: 50, fit: 'contain' },
    models(x4, { before: [x2] }),
  );
  assert.deepEqual(sized.geometry.content, { x: 0, y: 10, width: 50, height: 30 });
  assert.deepEqual(describe(sized.stages), ['main x2 10x6>20x12', 'main x4 20x12>80x48']);
  assert.equal(sized.geometry.resize, true);
});

test('a model after the upscaler runs once on its output', () => {
  const { stages, geometry } = planStages(
    { width: 10, height: 6 },
    { kind: 'scale', scale: 4 },
    models(x4, { after: [x1] }),
  );
  assert.deepEqual(describe(stages), ['main x4 10x6>40x24', 'main x1 40x24>40x24']);
  assert.equal(geometry.resize, false);
});

test("a blend runs its own passes to the target from the main model's input, first", () => {
  const { stages, geometry } = planStages(
    { width: 10, height: 6 },
    { kind: 'scale', scale: 4 },
    models(x4, { before: [x1], blend: x3 }),
  );
  assert.deepEqual(describe(stages), [
    'main x1 10x6>10x6',
    'blend x3 10x6>30x18',
    'blend x3 30x18>90x54',
    'main x4 10x6>40x24',
  ]);
  assert.deepEqual(geometry.passSizes, [
    { width: 10, height: 6 },
    { width: 40, height: 24 },
  ]);
  assert.equal(geometry.resize, false);
});
