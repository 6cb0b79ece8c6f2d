// What the golden test does not show about RCAN, Real-CUGAN, Swift-SRGAN, MM-RealSR and the
// grey and RGBA channel counts: the variants spandrel loads but cannot run are refused with
// the reason, files that mix variants are refused naming the tensor, a fast Real-CUGAN asks
// for a multiple of 4, and a converted grey model is probed with its own channels.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, REPO_ROOT } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPthBytes } from '../../models/readers/pth';
import { probeModel } from '../../models/onnx/validate';
import type { StateDict } from '../../models/weights/state-dict';

const spandrelCase = (name: string): StateDict =>
  readSafetensors(fs.readFileSync(path.join(FIXTURES_DIR, 'spandrel', name, `${name}.safetensors`)), name);

const heldOutPth = (name: string): StateDict => {
  const file = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out', name, `${name}.pth`);
  return readPthBytes(new Uint8Array(fs.readFileSync(file)), file);
};

test('an x2 MMRealSR (its first conv takes the unshuffled image) is refused with the reason, not run', () => {
  const sd = spandrelCase('mmrealsr_x4');
  const first = sd.get('conv_first.weight');
  assert.ok(first);
  const [numFeat = 0, channels = 0] = first.shape;
  const unshuffled = [numFeat, 4 * channels, 3, 3];
  sd.set('conv_first.weight', { shape: unshuffled, data: new Float32Array(unshuffled.reduce((a, b) => a * b)) });
  assert.throws(
    () => detectArchitecture(sd, 'x2.pth'),
    (e: Error) => {
      assert.match(e.message, /^x2\.pth: the weights look like MMRealSR but do not fit it: /);
      assert.match(e.message, /an x2 MMRealSR \(pixel_unshuffle 2\)/);
      assert.match(e.message, /cannot run it either, only x4/);
      return true;
    },
  );
});

test('a fast Real-CUGAN with a pro buffer (a class spandrel has not) is refused naming the tensor', () => {
  const sd = heldOutPth('realcugan_x2_fast');
  sd.set('pro', { shape: [1], data: new Float32Array(1) });
  assert.throws(() => detectArchitecture(sd, 'fast-pro.pth'), /unexpected tensor 'pro'/);
});

test("a fast Real-CUGAN's record asks for sides of a multiple of 4 (its forward takes only 0 or 3 modulo 4)", () => {
  const { info } = detectArchitecture(heldOutPth('realcugan_x2_fast'), 'fast.pth');
  assert.equal(info.scale, 2);
  assert.equal(info.inputMultiple, 4);
  assert.deepEqual(info.traits?.size, { minimum: 40, multiple: 4, square: false });
  assert.match(info.variant, /^Real-CUGAN x2 fast/);
  const { info: x3 } = detectArchitecture(heldOutPth('realcugan_x3_pro_gray'), 'x3.pth');
  assert.equal(x3.inputMultiple, 1);
  assert.equal(x3.variant, 'Real-CUGAN x3 pro, grey');
});

test('a converted grey model is probed with one channel in and out, an RGBA one with four', async () => {
  for (const [name, channels] of [
    ['rrdbnet_gray_x4', 1],
    ['rrdbnet_rgba_x4', 4],
  ] as const) {
    const sd = spandrelCase(name);
    const { module, config, info } = detectArchitecture(sd, name);
    assert.deepEqual(info.traits?.channels, { input: channels, output: channels });
    const onnx = module.build(sd, config);
    assert.deepEqual(await probeModel(onnx, name, { input: channels, output: channels }), {
      scale: 4,
      inputMultiple: 1,
    });
    await assert.rejects(probeModel(onnx, name), /expected it to run on a \[1, 3, height, width\] image/);
  }
});
