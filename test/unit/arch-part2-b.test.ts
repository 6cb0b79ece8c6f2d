// Weights that look like MoSR, SAFMN, DITN, MoESR, FDAT or SeemoRe but do not fit them are
// refused while reading, with the file and the tensor named: each case is a held-out
// fixture (test/fixtures/held-out) altered one way.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import { readSafetensors } from '../../models/readers/safetensors';
import type { StateDict } from '../../models/weights/state-dict';

function heldOut(name: string): StateDict {
  const file = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out', name, `${name}.safetensors`);
  return readSafetensors(fs.readFileSync(file), name);
}

function refused(sd: StateDict, file: string, ...words: string[]): void {
  assert.throws(
    () => detectArchitecture(sd, file),
    (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: the weights look like `), e.message);
      for (const w of words) assert.ok(e.message.includes(w), `'${w}' missing from: ${e.message}`);
      return true;
    },
  );
}

test('a tensor the graph would not use is refused by name (SAFMN)', () => {
  const sd = heldOut('safmn_x1');
  sd.set('feats.0.safm.extra.weight', { shape: [4], data: new Float32Array(4) });
  refused(sd, 'extra.safetensors', 'SAFMN', "unexpected tensor 'feats.0.safm.extra.weight'");
});

test('a missing tensor is named with what it should be (MoSR)', () => {
  const sd = heldOut('mosr_dys_x3');
  sd.delete('shortcut.conv11.bias');
  refused(sd, 'missing.safetensors', 'MoSR', "no tensor 'shortcut.conv11.bias'", 'shape [12]');
});

test("a MetaUpsample buffer of another head version is refused (MoESR reads version 1's kinds)", () => {
  const sd = heldOut('moesr_conv');
  const meta = sd.get('upscale.MetaUpsample');
  assert.ok(meta && meta.data instanceof BigInt64Array);
  meta.data[0] = 3n;
  refused(sd, 'meta.safetensors', 'MoESR', "'upscale.MetaUpsample' says version 3", 'expected version 1');
});

test('an FDAT group with an odd number of blocks is refused (blocks come in spatial and channel pairs)', () => {
  const sd = heldOut('fdat_transpose_conv_x2');
  for (const key of [...sd.keys()]) if (key.startsWith('groups.0.blocks.3.')) sd.delete(key);
  refused(sd, 'odd.safetensors', 'FDAT', 'found 1 groups of 3 blocks');
});

test('a SeemoRe without three input channels is refused (it subtracts an RGB mean)', () => {
  const sd = heldOut('seemore_one_expert_x4');
  const conv = sd.get('conv_1.weight');
  assert.ok(conv);
  const [out, , kh, kw] = conv.shape;
  sd.set('conv_1.weight', { shape: [out ?? 0, 1, kh ?? 0, kw ?? 0], data: conv.data.slice(0, conv.data.length / 3) });
  refused(sd, 'grey.safetensors', 'SeemoRe', "'conv_1.weight' takes 1 channels");
});

test('a DITN feed-forward without its bias where the attention has one is refused', () => {
  const sd = heldOut('ditn_x2_bias_two_ufone');
  sd.delete('UFONE.1.SALs.0.ffn.dwconv.bias');
  refused(sd, 'bias.safetensors', 'DITN', "no tensor 'UFONE.1.SALs.0.ffn.dwconv.bias'");
});
