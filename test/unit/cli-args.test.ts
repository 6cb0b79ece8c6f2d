import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs, UsageError } from '../../daemon/cli-args';

test('upscale arguments', () => {
  const cmd = parseCliArgs(
    [
      'a.png',
      'b.jpg',
      '-o',
      'out',
      '-m',
      'm1',
      '-s',
      '2.5',
      '--tile',
      '64',
      '--overlap',
      '16',
      '--format',
      'webp',
      '--json',
    ],
    '/w',
  );
  assert.deepEqual(cmd, {
    kind: 'upscale',
    inputs: ['/w/a.png', '/w/b.jpg'],
    output: '/w/out',
    model: 'm1',
    scale: 2.5,
    tile: 64,
    overlap: 16,
    format: 'webp',
    overwrite: false,
    json: true,
  });
  assert.deepEqual(parseCliArgs(['x.png', '--width', '100'], '/w'), {
    kind: 'upscale',
    inputs: ['/w/x.png'],
    width: 100,
    overwrite: false,
    json: false,
  });
});

test('subcommands', () => {
  assert.deepEqual(parseCliArgs(['models', 'list', '--json'], '/'), { kind: 'models-list', json: true });
  assert.deepEqual(parseCliArgs(['daemon'], '/'), { kind: 'daemon' });
  assert.deepEqual(parseCliArgs([], '/'), { kind: 'help' });
});

test('mistakes name the option and what was expected', () => {
  assert.throws(
    () => parseCliArgs(['a.png', '-s', 'x'], '/'),
    (e: unknown) => e instanceof UsageError && /-s is 'x'; expected a number greater than 0/.test(e.message),
  );
  assert.throws(
    () => parseCliArgs(['a.png', '--format', 'gif'], '/'),
    /--format is 'gif'; expected one of png, jpg, webp, tif, avif/,
  );
  assert.throws(() => parseCliArgs(['a.png', '--tile'], '/'), /--tile is missing its value/);
  assert.throws(() => parseCliArgs(['a.png', '--bogus'], '/'), /unknown option '--bogus'/);
  assert.throws(() => parseCliArgs(['-s', '2'], '/'), /no input images given/);
  assert.throws(
    () => parseCliArgs(['a.png', '-s', '2', '--width', '5'], '/'),
    /either -s\/--scale or --width\/--height/,
  );
});

test('--threads takes 0 (every core) or a count, and refuses the rest naming itself', () => {
  assert.equal((parseCliArgs(['a.png', '--threads', '2'], '/') as { threads?: number }).threads, 2);
  assert.equal((parseCliArgs(['a.png', '--threads', '0'], '/') as { threads?: number }).threads, 0);
  assert.throws(() => parseCliArgs(['a.png', '--threads', '-1'], '/'), /--threads is '-1'/);
  assert.throws(() => parseCliArgs(['a.png', '--threads', 'all'], '/'), /--threads is 'all'/);
});

test('-o keeps a trailing separator: it says the output is a folder', () => {
  assert.equal((parseCliArgs(['a.png', '-o', 'out/'], '/w') as { output?: string }).output, '/w/out/');
  assert.equal((parseCliArgs(['a.png', '-o', 'out'], '/w') as { output?: string }).output, '/w/out');
  assert.equal((parseCliArgs(['a.png', '-o', '/'], '/w') as { output?: string }).output, '/');
});

test('geometry, padding, dry run and sidecar options', () => {
  const cmd = parseCliArgs(
    [
      'a.png',
      '--width',
      '300',
      '--height',
      '200',
      '--fit',
      'contain',
      '--background',
      '#ff8800',
      '--padding',
      'wrap',
      '--alpha',
      'lanczos',
      '--dry-run',
      '--sidecar',
      '--json',
    ],
    '/w',
  );
  assert.deepEqual(cmd, {
    kind: 'upscale',
    inputs: ['/w/a.png'],
    width: 300,
    height: 200,
    fit: 'contain',
    background: '#ff8800',
    padding: 'wrap',
    alpha: 'lanczos',
    dryRun: true,
    sidecar: true,
    overwrite: false,
    json: true,
  });
  assert.equal(
    (
      parseCliArgs(
        ['a.png', '--width', '3', '--height', '2', '--fit', 'contain', '--background', 'transparent'],
        '/',
      ) as { background?: string }
    ).background,
    'transparent',
  );
  assert.throws(
    () => parseCliArgs(['a.png', '--background', 'red'], '/'),
    /--background is 'red'; expected #rrggbb, #rgb or transparent/,
  );
  assert.throws(
    () => parseCliArgs(['a.png', '--padding', 'zero'], '/'),
    /--padding is 'zero'; expected one of none, reflect, wrap/,
  );
  assert.throws(
    () => parseCliArgs(['a.png', '--width', '5', '--fit', 'contain'], '/'),
    /--fit applies only when both --width and --height/,
  );
});

test('models import and convert take --activation; a bad value names the option, the value and the choices', () => {
  assert.deepEqual(parseCliArgs(['models', 'import', 'm.pth'], '/w'), {
    kind: 'models-import',
    path: '/w/m.pth',
    json: false,
  });
  assert.deepEqual(parseCliArgs(['models', 'import', '--activation', 'leakyrelu', 'm.pth', '--json'], '/w'), {
    kind: 'models-import',
    path: '/w/m.pth',
    json: true,
    activation: 'leakyrelu',
  });
  assert.deepEqual(parseCliArgs(['models', 'convert', 'm.pth', 'o.onnx', '--activation', 'relu'], '/w'), {
    kind: 'models-convert',
    input: '/w/m.pth',
    output: '/w/o.onnx',
    activation: 'relu',
  });
  assert.throws(
    () => parseCliArgs(['models', 'import', 'm.pth', '--activation', 'gelu'], '/'),
    (e: unknown) =>
      e instanceof UsageError && e.message === "--activation is 'gelu'; expected one of relu, leakyrelu, prelu",
  );
  assert.throws(
    () => parseCliArgs(['models', 'convert', 'm.pth', 'o.onnx', '--activation'], '/'),
    /--activation is missing its value; expected one of relu, leakyrelu, prelu/,
  );
  assert.throws(
    () => parseCliArgs(['models', 'convert', 'm.pth', 'o.onnx', '--json'], '/'),
    /unknown option '--json' for 'models convert'/,
  );
  assert.throws(() => parseCliArgs(['models', 'import', 'a.pth', 'b.pth'], '/'), /takes one model file, got 2/);
});

test('--tta alone is 8; a number after it is its level, checked; a file after it stays an input', () => {
  const alone = parseCliArgs(['a.png', '--tta'], '/');
  assert.ok(alone.kind === 'upscale');
  assert.equal(alone.tta, 8);
  const beforeInput = parseCliArgs(['--tta', 'a.png'], '/');
  assert.ok(beforeInput.kind === 'upscale');
  assert.deepEqual([beforeInput.tta, beforeInput.inputs], [8, ['/a.png']]);
  const two = parseCliArgs(['a.png', '--tta', '2', '-s', '4'], '/');
  assert.ok(two.kind === 'upscale');
  assert.deepEqual([two.tta, two.scale], [2, 4]);
  const four = parseCliArgs(['--tta', '4', 'a.png'], '/');
  assert.ok(four.kind === 'upscale');
  assert.equal(four.tta, 4);
  assert.throws(() => parseCliArgs(['a.png', '--tta', '3'], '/'), /--tta is '3'; expected 2, 4 or 8/);
  assert.throws(() => parseCliArgs(['a.png', '--tta', '16'], '/'), /--tta is '16'; expected/);
});

test('-m given more than once is a chain, as --chain is; --blend is MODEL:WEIGHT', () => {
  const twice = parseCliArgs(['a.png', '-m', 'x1-jpeg', '--model', 'realesrgan-x4plus', '-m', 'x1-sharpen'], '/');
  assert.ok(twice.kind === 'upscale');
  assert.deepEqual([twice.model, twice.chain], [undefined, 'x1-jpeg,realesrgan-x4plus,x1-sharpen']);
  const chain = parseCliArgs(['a.png', '--chain', 'x1-jpeg,realesrgan-x4plus'], '/');
  assert.ok(chain.kind === 'upscale');
  assert.equal(chain.chain, 'x1-jpeg,realesrgan-x4plus');
  const blend = parseCliArgs(['a.png', '--blend', 'realesrgan-x4plus:0.3'], '/');
  assert.ok(blend.kind === 'upscale');
  assert.equal(blend.blend, 'realesrgan-x4plus:0.3');
  for (const bad of ['realesrgan-x4plus', 'realesrgan-x4plus:0', 'realesrgan-x4plus:1.5', ':0.5', 'a:b'])
    assert.throws(
      () => parseCliArgs(['a.png', '--blend', bad], '/'),
      new RegExp(`--blend is '${bad}'; expected MODEL:WEIGHT, a model id and a weight above 0 up to 1`),
    );
  assert.throws(
    () => parseCliArgs(['a.png', '--chain', 'onlyone'], '/'),
    /--chain is 'onlyone'; expected 2 to 8 model ids/,
  );
});
