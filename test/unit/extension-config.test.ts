import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULTS,
  folderOfSetting,
  isFolderSetting,
  readSettings,
  SETTINGS_SCHEMA,
  templateProblem,
  type SettingKey,
} from '../../extension/config';

const read = (values: Partial<Record<SettingKey, unknown>>) => readSettings((k) => values[k]);

test('no values: every default, no problems', () => {
  const r = read({});
  assert.deepEqual(r.settings, DEFAULTS);
  assert.deepEqual(r.problems, []);
});

test('valid values are taken as given', () => {
  const r = read({
    defaultModel: 'realesrgan-x4plus',
    defaultScale: 2.5,
    outputNameTemplate: '{name}-{model}.{ext}',
    outputFolder: 'upscaled',
    outputFormat: 'webp',
    outputQuality: 75,
    tileSize: 256,
    tileOverlap: 8,
    alphaHandling: 'lanczos',
    executionProvider: 'cpu',
    modelsFolder: '/opt/models',
    maxOutputPixels: 10_000_000,
    livePreview: false,
  });
  assert.deepEqual(r.problems, []);
  assert.equal(r.settings.defaultScale, 2.5);
  assert.equal(r.settings.tileSize, 256);
  assert.equal(r.settings.outputFormat, 'webp');
  assert.equal(r.settings.modelsFolder, '/opt/models');
  assert.equal(r.settings.livePreview, false);
});

test('tileSize: "auto", 0 and a numeric string are accepted', () => {
  assert.equal(read({ tileSize: 'auto' }).settings.tileSize, 'auto');
  assert.equal(read({ tileSize: 0 }).settings.tileSize, 0);
  assert.equal(read({ tileSize: '512' }).settings.tileSize, 512);
});

test('tileSize in the Settings editor: text whose pattern accepts exactly the values the reader takes', () => {
  const schema = SETTINGS_SCHEMA.tileSize;
  assert.equal(schema.type, 'string', 'one type, so that the Settings editor offers a box rather than settings.json');
  assert.ok(schema.pattern !== undefined && schema.patternErrorMessage !== undefined);
  const pattern = new RegExp(schema.pattern);
  for (let n = 0; n <= 9000; n++) {
    const reading = read({ tileSize: n });
    assert.equal(pattern.test(String(n)), reading.problems.length === 0, String(n));
    if (pattern.test(String(n))) assert.equal(read({ tileSize: String(n) }).settings.tileSize, n);
  }
  assert.ok(pattern.test('auto'));
  for (const bad of ['Auto', '', '512px', '-32', '1e3', 'whole']) {
    assert.ok(!pattern.test(bad), bad);
    assert.equal(read({ tileSize: bad }).problems.length, 1, bad);
  }
});

test('each bad value falls back to its default with a message naming setting, value and expectation', () => {
  const cases: [SettingKey, unknown, RegExp][] = [
    ['defaultScale', 0, /^upscale\.defaultScale is 0; expected a number from 1 to 16\. Using 4\.$/],
    ['defaultScale', 'four', /upscale\.defaultScale is "four"; expected a number/],
    ['outputQuality', 101, /upscale\.outputQuality is 101; expected a whole number from 1 to 100/],
    ['outputQuality', 80.5, /upscale\.outputQuality is 80\.5/],
    [
      'outputFormat',
      'gif',
      /upscale\.outputFormat is "gif"; expected one of "same-as-input", "png", "jpg", "webp", "tif", "avif"/,
    ],
    [
      'tileSize',
      16,
      /upscale\.tileSize is 16; expected "auto", 0 \(the whole image\) or a whole number of pixels from 32 to 8192\. Using "auto"\./,
    ],
    ['tileSize', 'big', /upscale\.tileSize is "big"/],
    ['tileOverlap', -1, /upscale\.tileOverlap is -1; expected a whole number from 0 to 256/],
    ['alphaHandling', 'drop', /upscale\.alphaHandling is "drop"; expected one of "model", "lanczos"/],
    [
      'executionProvider',
      'tpu',
      /upscale\.executionProvider is "tpu"; expected one of "auto", "cpu", "cuda", "webgpu", "dml", "coreml"/,
    ],
    ['modelsFolder', 'models', /upscale\.modelsFolder is "models"; expected an absolute folder path/],
    ['maxOutputPixels', 10, /upscale\.maxOutputPixels is 10; expected a whole number from 1000000/],
    ['livePreview', 'yes', /upscale\.livePreview is "yes"; expected true or false/],
    [
      'outputNameTemplate',
      '{name}@{factor}x.{ext}',
      /upscale\.outputNameTemplate is "\{name\}@\{factor\}x\.\{ext\}"; expected a template using only \{name\}.*\(not \{factor\}\)/,
    ],
    ['outputNameTemplate', 'out/{name}.{ext}', /expected a plain file name/],
    ['defaultModel', '../evil', /upscale\.defaultModel is "\.\.\/evil"; expected a model id/],
  ];
  for (const [key, value, message] of cases) {
    const r = read({ [key]: value });
    assert.equal(r.problems.length, 1, `${key}=${String(value)}: ${r.problems.join(' | ')}`);
    assert.match(r.problems[0] as string, message);
    assert.deepEqual(r.settings[key], DEFAULTS[key], key);
  }
});

test("upscale.modelsFolder: an absolute folder or one under ~ in the system's own spelling", () => {
  const accepted: Record<string, [string, string][]> = {
    win32: [
      ['C:\\Models', 'C:\\Models'],
      ['c:/models/', 'c:\\models'],
      ['\\\\nas\\share\\models', '\\\\nas\\share\\models'],
      ['//nas/share/models', '\\\\nas\\share\\models'],
      ['~\\models', 'C:\\Users\\u\\models'],
      ['~/models', 'C:\\Users\\u\\models'],
      ['~', 'C:\\Users\\u'],
    ],
    darwin: [
      ['/Volumes/Data/models', '/Volumes/Data/models'],
      ['~/models', '/Users/u/models'],
      ['~', '/Users/u'],
    ],
  };
  const refused: Record<string, string[]> = {
    // Relative to nothing the user chose: the current drive, or that drive's current folder.
    win32: ['models', '\\models', 'C:models', '~models', '/models'],
    // Another system's paths name nothing here (the setting is machine-scoped, never synced).
    darwin: ['models', 'C:\\models', '~\\models', '\\\\nas\\share', '~models'],
  };
  const home = { win32: 'C:\\Users\\u', darwin: '/Users/u' };
  for (const platform of ['win32', 'darwin'] as const) {
    for (const [value, folder] of accepted[platform] ?? []) {
      const r = readSettings((k) => (k === 'modelsFolder' ? value : undefined), platform);
      assert.deepEqual(r.problems, [], `${platform} ${value}`);
      assert.equal(isFolderSetting(value, platform), true);
      assert.equal(folderOfSetting(value, platform, home[platform]), folder, `${platform} ${value}`);
    }
    for (const value of refused[platform] ?? []) {
      const r = readSettings((k) => (k === 'modelsFolder' ? value : undefined), platform);
      assert.equal(r.settings.modelsFolder, '', `${platform} ${value}`);
      assert.match(r.problems.join(), /upscale\.modelsFolder is .*; expected an absolute folder path or one under ~/);
    }
  }
});

test('several bad values give several problems; good ones still apply', () => {
  const r = read({ defaultScale: 99, outputQuality: 50, alphaHandling: 'nope' });
  assert.equal(r.problems.length, 2);
  assert.equal(r.settings.outputQuality, 50);
});

test('templateProblem mirrors the daemon', () => {
  assert.equal(templateProblem('{name}@{scale}x.{ext}'), null);
  assert.equal(templateProblem('{name}_{width}x{height}_{model}.{ext}'), null);
  assert.match(templateProblem('') ?? '', /non-empty/);
  assert.match(templateProblem('..') ?? '', /plain file name/);
});

test('a template whose own text Windows cannot hold is refused as a setting there, and kept on Linux and macOS', () => {
  const refused: [string, RegExp][] = [
    ['{name}?.{ext}', /the name contains '\?' \(Windows allows/],
    ['{name} <{model}>.{ext}', /contains '<'/],
    ['CON.{ext}', /is the device CON on Windows/],
    ['nul.png', /is the device NUL on Windows/],
  ];
  for (const [template, why] of refused) {
    assert.match(templateProblem(template, 'png', 'win32') ?? '', why, template);
    for (const platform of ['linux', 'darwin'] as const) assert.equal(templateProblem(template, 'png', platform), null);
    const r = readSettings((k) => (k === 'outputNameTemplate' ? template : undefined), 'win32');
    assert.equal(r.settings.outputNameTemplate, DEFAULTS.outputNameTemplate, template);
    assert.match(r.problems.join(), /upscale\.outputNameTemplate is .*; expected a file name this system can hold/);
  }
  // The fields are filled in per job, and the daemon checks the name they make (test/unit/output-path.test.ts).
  assert.equal(templateProblem('{name}_{model}@{scale}x.{ext}', 'png', 'win32'), null);
});

test('a literal extension in the template decides the format: writable, and agreeing with upscale.outputFormat', () => {
  assert.equal(templateProblem('{name}-big.png'), null);
  assert.equal(templateProblem('{name}-big.png', 'png'), null);
  assert.equal(templateProblem('{name}-big.JPEG', 'jpg'), null);
  assert.equal(templateProblem('{name}-big', 'webp'), null, 'no extension: the format setting names it');
  assert.match(
    templateProblem('{name}-big.png', 'webp') ?? '',
    /agrees with upscale\.outputFormat "webp".*not "\.png"/,
  );
  assert.match(
    templateProblem('{name}-big.bmp') ?? '',
    /\.png \.jpg \.jpeg \.webp \.tif \.tiff \.avif \(not "\.bmp"\)/,
  );
  assert.match(templateProblem('{name}-big') ?? '', /a name with an extension/);
  assert.equal(templateProblem('{name}@{scale}x', 'png'), null, 'the daemon reads the extension from the template too');
  const r = read({ outputNameTemplate: '{name}.png', outputFormat: 'jpg' });
  assert.equal(r.problems.length, 1);
  assert.match(
    r.problems[0] as string,
    /upscale\.outputNameTemplate is "\{name\}\.png"; expected an extension that agrees with upscale\.outputFormat "jpg"/,
  );
  assert.equal(r.settings.outputNameTemplate, DEFAULTS.outputNameTemplate);
  assert.equal(r.settings.outputFormat, 'jpg');
});
