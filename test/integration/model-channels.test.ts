// A grey (1-channel) model on a colour photo, through the real daemon: the converted
// graph takes one channel, and the engine runs it on each colour channel alone and stacks
// the results (daemon/engine/channels.ts). Each output channel must be what the same ONNX
// file gives for that channel of the input alone, run here with onnxruntime.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT, runOnnx } from '../fixtures';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { photo } from '../photos';
import { Requests } from '../../contract/methods';

const WEIGHTS = path.join(
  REPO_ROOT,
  'test',
  'fixtures',
  'held-out',
  'span_nonorm_grey_x4',
  'span_nonorm_grey_x4.safetensors',
);
const W = 40;
const H = 32;

let daemon: TestDaemon;
let dir: string;

before(() => {
  dir = tempDir('channels');
  daemon = startDaemon({ UPSCALE_MODELS_DIR: path.join(dir, 'models') });
});

after(async () => {
  await daemon.stop();
});

test('a grey model on a colour photo: each output channel is the model run on that channel alone', async () => {
  const imported = await daemon.connection.request(Requests.modelsImport, { path: WEIGHTS });
  const { id: model, scale, traits } = imported.model;
  assert.deepEqual(traits?.channels, { input: 1, output: 1 });
  const input = path.join(dir, 'fruits.png');
  await sharp(photo('fruits.jpg')).extract({ left: 180, top: 120, width: W, height: H }).png().toFile(input);
  const result = await daemon.connection.request(Requests.upscale, {
    input,
    model,
    scale,
    output: path.join(dir, 'out.png'),
  });
  assert.deepEqual([result.width, result.height], [W * scale, H * scale]);
  const out = await sharp(result.outputPath).raw().toBuffer({ resolveWithObject: true });
  assert.equal(out.info.channels, 3);

  const source = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  assert.equal(source.info.channels, 3);
  const onnx = new Uint8Array(fs.readFileSync(path.join(dir, 'models', `${model}.onnx`)));
  const ow = W * scale;
  const oh = H * scale;
  let differing = 0;
  let worst = 0;
  const means: number[] = [];
  for (let c = 0; c < 3; c++) {
    const plane = Float32Array.from({ length: W * H }, (_, i) => (source.data[i * 3 + c] ?? NaN) / 255);
    const alone = await runOnnx(onnx, plane, [1, 1, H, W]);
    assert.deepEqual(alone.dims, [1, 1, oh, ow]);
    const values = alone.data as Float32Array;
    let sum = 0;
    for (let i = 0; i < ow * oh; i++) {
      const expected = Math.round(Math.min(1, Math.max(0, values[i] ?? NaN)) * 255);
      const actual = out.data[i * 3 + c] ?? NaN;
      const d = Math.abs(actual - expected);
      if (d > 0) differing++;
      worst = Math.max(worst, d);
      sum += actual;
    }
    means.push(sum / (ow * oh));
  }
  process.stdout.write(`# grey model per channel: ${differing} of ${3 * ow * oh} samples off, by at most ${worst}\n`);
  // Float rounding in the same graph can move a sample across a rounding boundary, no more.
  assert.ok(worst <= 1, `a sample is ${worst} levels from the model run on its channel alone`);
  assert.ok(differing <= 0.001 * 3 * ow * oh, `${differing} samples differ`);
  // The photo's channels differ, so a model run on one of them for all three would show.
  assert.ok(Math.max(...means) - Math.min(...means) > 5, `channel means ${means.map((m) => m.toFixed(1)).join(', ')}`);
});
