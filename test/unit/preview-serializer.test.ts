import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isImagePath, restoreTarget } from '../../extension/preview/serializer';

const folder = mkdtempSync(join(tmpdir(), 'upscale-preview-'));
const input = join(folder, 'cat.png');
const output = join(folder, 'cat@4x.png');
writeFileSync(input, 'png');
writeFileSync(output, 'png');
mkdirSync(join(folder, 'dir.png'));
writeFileSync(join(folder, 'notes.txt'), 'text');

const result = {
  outputPath: output,
  width: 400,
  height: 300,
  inputWidth: 100,
  inputHeight: 75,
  model: 'm',
  provider: 'cpu',
  passes: 1,
  totalMs: 9,
  warnings: [],
};
const saved = (job: object, extra: object = {}) => ({
  version: 1,
  job,
  view: { fitted: true, zoom: 1, panX: 0, panY: 0 },
  mode: 'side',
  split: 0.5,
  ...extra,
});

test('a saved finished job whose files exist is restored with its result', async () => {
  const target = await restoreTarget(saved({ input, model: 'm', outputPath: output }, { result }));
  assert.equal(target.kind, 'job');
  assert.ok(target.kind === 'job' && target.result?.outputPath === output && target.notice === undefined);
});

test('an unfinished job restores the original with a notice', async () => {
  const target = await restoreTarget(saved({ input, model: 'm' }));
  assert.ok(target.kind === 'job' && target.result === undefined && /did not finish/.test(target.notice ?? ''));
});

test('missing files, non-files, non-images and malformed state give an empty state that says why', async () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /could not be restored/],
    [{ version: 1, job: { input: 42, model: 'm' } }, /could not be restored/],
    [saved({ input: join(folder, 'gone.png'), model: 'm' }), /original image is no longer there: .*gone\.png/],
    [saved({ input: join(folder, 'dir.png'), model: 'm' }), /original image is no longer there/],
    [saved({ input: join(folder, 'notes.txt'), model: 'm' }), /original image is no longer there/],
    [saved({ input: 'cat.png', model: 'm' }), /original image is no longer there/], // relative
    [
      saved({ input, model: 'm' }, { result: { ...result, outputPath: join(folder, 'gone@4x.png') } }),
      /upscaled image is no longer there/,
    ],
    [
      saved({ input, model: 'm' }, { result: { ...result, outputPath: '/etc/passwd' } }),
      /upscaled image is no longer there/,
    ],
  ];
  for (const [state, reason] of cases) {
    const target = await restoreTarget(state);
    assert.equal(target.kind, 'empty', JSON.stringify(state));
    assert.match(target.kind === 'empty' ? target.reason : '', reason);
  }
});

test('image paths: absolute, with an image extension, no NUL', () => {
  assert.equal(isImagePath('/a/b.PNG'), true);
  assert.equal(isImagePath('/a/b.tiff'), true);
  assert.equal(isImagePath('/a/b.txt'), false);
  assert.equal(isImagePath('b.png'), false);
  assert.equal(isImagePath('/a/b\0.png'), false);
});
