import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseModel, lineage, type CandidateModel } from '../../daemon/engine/model-choice';

const MODELS: CandidateModel[] = [
  { id: 'realesr-general-x4v3', family: 'real-esrgan', scale: 4, sizeBytes: 4_864_310, source: 'builtin' },
  { id: 'realesrgan-x4plus', family: 'real-esrgan', scale: 4, sizeBytes: 66_930_061, source: 'builtin' },
  { id: 'upscalerjs-esrgan-slim-x2', family: 'esrgan', scale: 2, sizeBytes: 891_692, source: 'builtin' },
  { id: 'upscalerjs-esrgan-medium-x2', family: 'esrgan', scale: 2, sizeBytes: 2_780_579, source: 'builtin' },
  { id: 'upscalerjs-esrgan-thick-x2', family: 'esrgan', scale: 2, sizeBytes: 29_015_248, source: 'builtin' },
  { id: 'upscalerjs-esrgan-medium-x3', family: 'esrgan', scale: 3, sizeBytes: 2_799_541, source: 'builtin' },
  { id: 'swinir-x3', family: 'swinir', scale: 3, sizeBytes: 4_000_000, source: 'user' },
  { id: 'hat-x5', family: 'hat', scale: 5, sizeBytes: 90_000_000, source: 'user' },
];
const DEF = 'realesr-general-x4v3';

test('a named model is always used', () => {
  assert.equal(chooseModel(MODELS, 'realesrgan-x4plus', DEF, 2).id, 'realesrgan-x4plus');
});

test('the default for its own scale, for no scale, and for scales nothing has natively', () => {
  assert.equal(chooseModel(MODELS, undefined, DEF, 4).id, DEF);
  assert.equal(chooseModel(MODELS, undefined, DEF, undefined).id, DEF);
  assert.equal(chooseModel(MODELS, undefined, DEF, 2.5).id, DEF);
  assert.match(chooseModel(MODELS, undefined, DEF, 6).reason, /no installed model is natively x6/);
});

test('a native 2x or 3x of the ESRGAN line, nearest the default in size, before other families', () => {
  const two = chooseModel(MODELS, undefined, DEF, 2);
  assert.equal(two.id, 'upscalerjs-esrgan-medium-x2');
  assert.match(two.reason, /native x2 model of the ESRGAN line/);
  // swinir-x3 is nearer in size, but the ESRGAN line comes first.
  assert.equal(chooseModel(MODELS, undefined, DEF, 3).id, 'upscalerjs-esrgan-medium-x3');
  // Another family only when nothing of the line has that scale.
  assert.equal(chooseModel(MODELS, undefined, DEF, 5).id, 'hat-x5');
  // The default's own family first.
  const own: CandidateModel = {
    id: 'my-realesrgan-x2',
    family: 'real-esrgan',
    scale: 2,
    sizeBytes: 60_000_000,
    source: 'user',
  };
  assert.equal(chooseModel([...MODELS, own], undefined, DEF, 2).id, 'my-realesrgan-x2');
});

test('lineage groups Real-ESRGAN with ESRGAN and nothing else', () => {
  assert.equal(lineage('real-esrgan'), lineage('esrgan'));
  assert.notEqual(lineage('swinir'), lineage('esrgan'));
});
