import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInitialize, parseModelId, parseCancel, parseImport } from '../../contract/params';
import { parseBackground, parseUpscale } from '../../contract/request';
import { DaemonError } from '../../contract/errors';

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof DaemonError && e.code === -32602 && pattern.test(e.message));
}

test('upscale params: valid ones pass through typed', () => {
  assert.deepEqual(parseUpscale({ input: '/a/b.png', scale: 2.5, tile: 64, overlap: 16, format: 'webp' }), {
    input: '/a/b.png',
    scale: 2.5,
    tile: 64,
    overlap: 16,
    format: 'webp',
  });
});

test('upscale params: each rejection names the field, the value and what was expected', () => {
  invalid(() => parseUpscale({}), /'input' is undefined; expected a non-empty string/);
  invalid(() => parseUpscale({ input: 'rel.png' }), /'input' is "rel.png"; expected an absolute path/);
  invalid(
    () => parseUpscale({ input: '/a.png', scale: -1 }),
    /'scale' is -1; expected a number greater than 0 up to 64/,
  );
  invalid(() => parseUpscale({ input: '/a.png', scale: 'big' }), /'scale' is "big"/);
  invalid(() => parseUpscale({ input: '/a.png', tile: 8 }), /'tile' is 8; expected 0 \(whole image\) or at least 32/);
  invalid(() => parseUpscale({ input: '/a.png', width: 1.5 }), /'width' is 1.5; expected an integer/);
  invalid(
    () => parseUpscale({ input: '/a.png', format: 'gif' }),
    /'format' is "gif"; expected one of png, jpg, webp, tif, avif/,
  );
  invalid(() => parseUpscale({ input: '/a.png', scale: 2, width: 10 }), /either 'scale' or 'width'\/'height'/);
  invalid(() => parseUpscale({ input: '/a.png', bogus: 1 }), /unknown field 'bogus'/);
  invalid(() => parseUpscale([1, 2]), /params must be an object/);
});

test('other methods validate too', () => {
  invalid(
    () => parseInitialize({ provider: 'tpu' }),
    /'provider' is "tpu"; expected one of auto, cpu, cuda, webgpu, dml, coreml/,
  );
  invalid(() => parseModelId('models/load', {}), /'id' is undefined/);
  invalid(() => parseCancel({ id: 1.5 }), /'id' is 1.5; expected a request id/);
  assert.deepEqual(parseCancel({ id: 'x' }), { id: 'x' });
});

test('upscale params: background, padding, dryRun and sidecar', () => {
  assert.deepEqual(
    parseUpscale({
      input: '/a.png',
      width: 10,
      height: 20,
      fit: 'contain',
      background: '#123456',
      padding: 'wrap',
      dryRun: true,
      sidecar: true,
    }),
    {
      input: '/a.png',
      width: 10,
      height: 20,
      fit: 'contain',
      background: '#123456',
      padding: 'wrap',
      dryRun: true,
      sidecar: true,
    },
  );
  invalid(
    () => parseUpscale({ input: '/a.png', background: 'blue' }),
    /'background' is "blue"; expected #rrggbb, #rgb or transparent/,
  );
  invalid(() => parseUpscale({ input: '/a.png', padding: 'zeros' }), /'padding'/);
  invalid(() => parseUpscale({ input: '/a.png', dryRun: 'yes' }), /'dryRun'/);
});

test('parseBackground reads #rrggbb, #rgb and transparent', () => {
  assert.deepEqual(parseBackground('#ff0000'), { r: 1, g: 0, b: 0, a: 1 });
  assert.deepEqual(parseBackground('#FFF'), { r: 1, g: 1, b: 1, a: 1 });
  assert.deepEqual(parseBackground('Transparent'), { r: 0, g: 0, b: 0, a: 0 });
  assert.equal(parseBackground('#12345'), null);
  assert.equal(parseBackground('red'), null);
});

test('models/import params: an optional activation, one of relu, leakyrelu, prelu', () => {
  assert.deepEqual(parseImport({ path: '/m/a.pth' }), { path: '/m/a.pth' });
  assert.deepEqual(parseImport({ path: '/m/a.pth', activation: 'leakyrelu' }), {
    path: '/m/a.pth',
    activation: 'leakyrelu',
  });
  invalid(
    () => parseImport({ path: '/m/a.pth', activation: 'LeakyReLU' }),
    /^models\/import: 'activation' is "LeakyReLU"; expected one of relu, leakyrelu, prelu$/,
  );
  invalid(
    () => parseImport({ path: '/m/a.pth', activation: 1 }),
    /'activation' is 1; expected one of relu, leakyrelu, prelu/,
  );
  invalid(
    () => parseImport({ path: '/m/a.pth', act: 'relu' }),
    /unknown field 'act'; expected one of path, activation/,
  );
});
