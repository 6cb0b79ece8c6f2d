// What a model record says it needs: the words `upscale models list` prints, from the traits
// a module gives (or, for a model without traits, its input multiple); and the built-in
// Real-ESRGAN models carry their architecture's traits.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeRequirements } from '../../models/registry';
import { BUILTIN_MODELS } from '../../models/builtin';
import { PLAIN_TRAITS } from '../../models/architectures/types';

test('requirements read as words, only what differs from "any size" said', () => {
  assert.equal(describeRequirements({ inputMultiple: 1 }), 'any size');
  assert.equal(describeRequirements({ inputMultiple: 8 }), 'sides a multiple of 8');
  assert.equal(describeRequirements({ inputMultiple: 1, traits: PLAIN_TRAITS }), 'any size');
  assert.equal(
    describeRequirements({
      inputMultiple: 8,
      traits: {
        channels: { input: 1, output: 1 },
        size: { minimum: 64, multiple: 64, square: true },
        tiling: 'discouraged',
        context: 'global',
        fp16: false,
        bf16: true,
      },
    }),
    'at least 64 px, sides a multiple of 64, square, 1 → 1 channels, tiling discouraged, whole-image context, no fp16',
  );
});

test('the built-in Real-ESRGAN models carry the traits of the architecture they are', () => {
  const byId = new Map(BUILTIN_MODELS.map((m) => [m.id, m]));
  assert.equal(byId.get('realesr-general-x4v3')?.architecture, 'compact');
  assert.deepEqual(byId.get('realesr-general-x4v3')?.traits, PLAIN_TRAITS);
  assert.equal(byId.get('realesrgan-x4plus')?.architecture, 'esrgan');
  // spandrel's ESRGAN asks for at least 2 px.
  assert.equal(describeRequirements(byId.get('realesrgan-x4plus') ?? { inputMultiple: 1 }), 'at least 2 px');
});
