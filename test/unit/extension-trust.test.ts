import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restrictedKeysIn } from '../../extension/trust';

test('restricted settings named in a workspace settings.json are found, comments and all', () => {
  const text = `{
    // where my models live
    "upscale.modelsFolder": "/evil/models",
    "upscale.defaultScale": 2,
    "upscale.outputNameTemplate" : "{name}.{ext}",
  }`;
  assert.deepEqual(restrictedKeysIn(text), ['upscale.modelsFolder', 'upscale.outputNameTemplate']);
  assert.deepEqual(restrictedKeysIn('{ "upscale.tileSize": 128 }'), []);
  assert.deepEqual(restrictedKeysIn(''), []);
});
