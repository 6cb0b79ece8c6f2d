// The derived fp16 file: made once beside its source, reused while the source is unchanged,
// made again when the source changes, and never visible half-written.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import { convertBytesToFloat16 } from '../../models/convert/fp16';
import { ensureFp16Model, fp16ModelPath } from '../../models/convert/fp16-cache';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-fp16-cache-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function conv(weight: number): Uint8Array {
  const g = new GraphBuilder('conv');
  const x = g.input('input', [1, 1, 'height', 'width']);
  const w = g.f32('w', new Float32Array(9).fill(weight), [1, 1, 3, 3]);
  g.output(g.op('Conv', [x, w], { pads: attr.ints([1, 1, 1, 1]) }), 'output', [1, 1, 'height', 'width']);
  return g.toBytes();
}

test('the fp16 model is derived once into .fp16/ beside its source and derived again when the source changes', async () => {
  const source = path.join(TMP, 'm.onnx');
  fs.writeFileSync(source, conv(0.5));
  const first = await ensureFp16Model(source);
  assert.equal(first.path, path.join(TMP, '.fp16', 'm.onnx'));
  assert.equal(fp16ModelPath(source), first.path);
  assert.ok(first.derivedMs !== null, 'derived the first time');
  assert.ok(Buffer.from(convertBytesToFloat16(conv(0.5), source)).equals(fs.readFileSync(first.path)));
  const again = await ensureFp16Model(source);
  assert.equal(again.derivedMs, null, 'reused while the source is unchanged');

  fs.writeFileSync(source, conv(0.25));
  fs.utimesSync(source, new Date(), new Date(Date.now() + 5000));
  const changed = await ensureFp16Model(source);
  assert.ok(changed.derivedMs !== null, 'derived again after the source changed');
  assert.ok(Buffer.from(convertBytesToFloat16(conv(0.25), source)).equals(fs.readFileSync(changed.path)));
  assert.deepEqual(
    fs.readdirSync(path.join(TMP, '.fp16')).sort(),
    ['m.json', 'm.onnx'],
    'no temporary files are left behind',
  );
});

test('a source that cannot be converted fails with its path, and leaves no fp16 file', async () => {
  const source = path.join(TMP, 'broken.onnx');
  fs.writeFileSync(source, 'not onnx');
  await assert.rejects(ensureFp16Model(source), /broken\.onnx: not a valid ONNX file/);
  assert.equal(fs.existsSync(fp16ModelPath(source)), false);
});
