import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { outputFolderOf, outputFormatOf, previewOutputName } from '../../extension/naming';

const base = { template: '{name}@{scale}x.{ext}', model: 'realesr-general-x4v3', format: 'same-as-input' as const };

test('default template, same format', () => {
  assert.equal(
    previewOutputName({ ...base, input: '/img/photo.png', target: { kind: 'scale', scale: 4 } }),
    'photo@4x.png',
  );
  assert.equal(
    previewOutputName({ ...base, input: '/img/photo.JPEG', target: { kind: 'scale', scale: 2.5 } }),
    'photo@2.5x.jpg',
  );
  assert.equal(
    previewOutputName({ ...base, input: '/img/scan.tiff', target: { kind: 'scale', scale: 4 / 3 } }),
    'scan@1.33x.tif',
  );
});

test('formats the daemon cannot write become png; an explicit format wins', () => {
  assert.equal(
    previewOutputName({ ...base, input: '/a/anim.gif', target: { kind: 'scale', scale: 2 } }),
    'anim@2x.png',
  );
  assert.equal(previewOutputName({ ...base, input: '/a/old.bmp', target: { kind: 'scale', scale: 2 } }), 'old@2x.png');
  assert.equal(
    previewOutputName({ ...base, format: 'webp', input: '/a/p.png', target: { kind: 'scale', scale: 2 } }),
    'p@2x.webp',
  );
  assert.equal(outputFormatOf('/a/b.jpeg', 'same-as-input'), 'jpg');
});

test('width, height and model fields; unknown sizes show as W/H', () => {
  const t = { ...base, template: '{name}_{width}x{height}_{model}.{ext}', input: '/a/p.png' };
  assert.equal(
    previewOutputName({ ...t, target: { kind: 'scale', scale: 4 }, inputSize: { width: 100, height: 50 } }),
    'p_400x200_realesr-general-x4v3.png',
  );
  assert.equal(previewOutputName({ ...t, target: { kind: 'scale', scale: 4 } }), 'p_WxH_realesr-general-x4v3.png');
  assert.equal(
    previewOutputName({ ...t, target: { kind: 'size', width: 1920, height: 1080 } }),
    'p_1920x1080_realesr-general-x4v3.png',
  );
  assert.equal(
    previewOutputName({ ...t, target: { kind: 'size', width: 300 }, inputSize: { width: 100, height: 50 } }),
    'p_300x150_realesr-general-x4v3.png',
  );
  assert.equal(
    previewOutputName({
      ...base,
      input: '/a/p.png',
      target: { kind: 'size', height: 100 },
      inputSize: { width: 100, height: 50 },
    }),
    'p@2x.png',
  );
  assert.equal(previewOutputName({ ...base, input: '/a/p.png', target: { kind: 'size', height: 100 } }), 'p@Sx.png');
});

test('output folder: beside, relative to the source, absolute', () => {
  assert.equal(outputFolderOf('/img/a/p.png', ''), '/img/a');
  assert.equal(outputFolderOf('/img/a/p.png', 'upscaled'), path.resolve('/img/a/upscaled'));
  assert.equal(outputFolderOf('/img/a/p.png', '../out'), path.resolve('/img/out'));
  assert.equal(outputFolderOf('/img/a/p.png', '/tmp/out'), '/tmp/out');
});
