// A SRVGGNetCompact trained with LeakyReLU has no activation weights, so its file looks like
// a ReLU one. Through the importer, the CLI and the daemon: by default ReLU is assumed, said
// in a warning and recorded; `--activation leakyrelu` (protocol `activation`) gives upstream's
// output; a choice that the weights or the architecture contradict is refused, writing nothing.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES_DIR, relativeL2 } from '../fixtures';
import { convertToFile, importModel } from '../../models/import';
import type { ModelRecord } from '../../models/registry';
import type { ModelInfo } from '../../contract/protocol';
import { DaemonError } from '../../contract/errors';
import { DAEMON_ENTRY, startDaemon, tempDir } from './daemon-harness';
import { LEAKY_SLOPE, TINY, referenceOutput, tinyInput, tinyWeights, writeTinySafetensors } from '../srvgg-leaky';
import { Requests } from '../../contract/methods';

const TMP = tempDir('activation');
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

const SOURCE = path.join(TMP, '2x-leaky-compact.safetensors');
writeTinySafetensors(SOURCE);
const PRELU_FIXTURE = path.join(FIXTURES_DIR, 'arch', 'srvgg_x4', 'srvgg_x4.safetensors');
const RRDB_FIXTURE = path.join(FIXTURES_DIR, 'arch', 'rrdbnet_x2', 'rrdbnet_x2.pth');

const WARNING =
  '2x-leaky-compact.safetensors: SRVGGNetCompact weights do not say which activation was trained; assuming ReLU. ' +
  'If the model was trained with LeakyReLU or the output looks wrong, import it again choosing LeakyReLU (upscale models import FILE --activation leakyrelu; in VS Code, Import Model… asks).';

const freshDir = (hint: string): string => fs.mkdtempSync(path.join(TMP, `${hint}-`));
const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const readRecord = (dir: string, id: string): ModelRecord =>
  JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), 'utf8')) as ModelRecord;

async function outputOf(onnxFile: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnxFile, { logSeverityLevel: 3 });
  try {
    const result = await session.run({
      input: new ort.Tensor('float32', tinyInput(), [1, 3, TINY.height, TINY.width]),
    });
    const output = result['output'];
    assert.ok(output);
    assert.deepEqual(output.dims, [1, 3, TINY.height * TINY.scale, TINY.width * TINY.scale]);
    return output.data as Float32Array;
  } finally {
    await session.release();
  }
}

const LEAKY_REFERENCE = referenceOutput(tinyWeights(), tinyInput(), LEAKY_SLOPE);
const RELU_REFERENCE = referenceOutput(tinyWeights(), tinyInput(), 0);

// ---------------------------------------------------------------------------------------------
// The importer

test('imported without a choice: ReLU assumed and recorded; the output misses the LeakyReLU reference', async (t) => {
  const modelsDir = freshDir('assumed');
  const model = await importModel(SOURCE, modelsDir);
  assert.deepEqual([model.activation, model.activationSource], ['relu', 'assumed']);
  const record = readRecord(modelsDir, model.id);
  assert.deepEqual([record.activation, record.activationSource], ['relu', 'assumed']);
  assert.match(record.variant, /relu, assumed/);

  const output = await outputOf(model.onnxPath);
  const missed = relativeL2(output, LEAKY_REFERENCE);
  t.diagnostic(`default import vs LeakyReLU reference: rel L2 ${missed.toExponential(3)}`);
  assert.ok(missed > 1e-2 && missed < 1e-1, `rel L2 ${missed}`);
  // The whole difference is the activation: as ReLU, the graph is exact.
  assert.ok(relativeL2(output, RELU_REFERENCE) < 1e-5);
});

test("imported with activation leakyrelu: recorded as the user's, the output matches upstream; the choice stands on re-import", async (t) => {
  const modelsDir = freshDir('leaky');
  const assumed = await importModel(SOURCE, modelsDir);
  const model = await importModel(SOURCE, modelsDir, { activation: 'leakyrelu' });
  assert.equal(model.id, assumed.id, 'the same file replaces its entry');
  assert.deepEqual(listing(modelsDir), [`${model.id}.json`, `${model.id}.onnx`]);
  assert.deepEqual([model.activation, model.activationSource], ['leakyrelu', 'user']);
  assert.deepEqual(
    [readRecord(modelsDir, model.id).activation, readRecord(modelsDir, model.id).activationSource],
    ['leakyrelu', 'user'],
  );

  const relL2 = relativeL2(await outputOf(model.onnxPath), LEAKY_REFERENCE);
  t.diagnostic(`--activation leakyrelu vs LeakyReLU reference: rel L2 ${relL2.toExponential(3)}`);
  assert.ok(relL2 < 1e-5, `rel L2 ${relL2}`);

  const again = await importModel(SOURCE, modelsDir);
  assert.deepEqual([again.activation, again.activationSource], ['leakyrelu', 'user']);
});

test('refused, writing nothing: prelu without slopes, relu against PReLU slopes, any choice for another architecture or an ONNX file', async () => {
  const onnxFile = path.join(freshDir('onnx'), 'compact.onnx');
  await convertToFile(SOURCE, onnxFile);
  const modelsDir = path.join(freshDir('refused'), 'models');
  const cases: readonly [string, 'relu' | 'leakyrelu' | 'prelu', RegExp][] = [
    [
      SOURCE,
      'prelu',
      /2x-leaky-compact\.safetensors: SRVGGNetCompact: activation 'prelu' was asked for, but the weights hold no PReLU slopes/,
    ],
    [
      PRELU_FIXTURE,
      'relu',
      /srvgg_x4\.safetensors: SRVGGNetCompact: activation 'relu' was asked for, but the weights hold PReLU slopes/,
    ],
    [
      RRDB_FIXTURE,
      'leakyrelu',
      /rrdbnet_x2\.pth: activation 'leakyrelu' applies only to Real-ESRGAN SRVGGNetCompact .*; this is ESRGAN x2 — RRDBNet/,
    ],
    [onnxFile, 'relu', /compact\.onnx: activation 'relu' applies only to .*; this is an ONNX model/],
  ];
  for (const [file, activation, message] of cases) {
    await assert.rejects(importModel(file, modelsDir, { activation }), message);
    assert.deepEqual(listing(modelsDir), [], `${path.basename(file)} with ${activation}: nothing written`);
  }
});

// ---------------------------------------------------------------------------------------------
// The CLI

function cli(args: readonly string[], modelsDir: string) {
  return spawnSync(process.execPath, [DAEMON_ENTRY, ...args], {
    encoding: 'utf8',
    env: { ...process.env, UPSCALE_MODELS_DIR: modelsDir },
    cwd: TMP,
  });
}

test('upscale models import: the warning on stderr (exit 0), the assumption in models list --json; --activation leakyrelu is silent', () => {
  const modelsDir = freshDir('cli-models');
  const imported = cli(['models', 'import', SOURCE], modelsDir);
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /^imported .*2x-leaky-compact\.safetensors as '2x-leaky-compact'/);
  assert.equal(imported.stderr, `upscale: warning: ${WARNING}\n`);

  const list = cli(['models', 'list', '--json'], modelsDir);
  assert.equal(list.status, 0, list.stderr);
  const listed = (JSON.parse(list.stdout) as ModelInfo[]).find((m) => m.id === '2x-leaky-compact');
  assert.deepEqual([listed?.activation, listed?.activationSource], ['relu', 'assumed']);

  const chosen = cli(['models', 'import', SOURCE, '--activation', 'leakyrelu', '--json'], modelsDir);
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.equal(chosen.stderr, '');
  const model = JSON.parse(chosen.stdout) as ModelInfo;
  assert.deepEqual([model.id, model.activation, model.activationSource], ['2x-leaky-compact', 'leakyrelu', 'user']);
});

test('upscale models convert: warns on an assumption, silent with --activation; refusals exit non-zero and write nothing', async () => {
  const dir = freshDir('cli-convert');
  const none = freshDir('cli-unused');
  const assumed = cli(['models', 'convert', SOURCE, path.join(dir, 'assumed.onnx')], none);
  assert.equal(assumed.status, 0, assumed.stderr);
  assert.match(
    assumed.stderr,
    /^upscale: warning: 2x-leaky-compact\.safetensors: SRVGGNetCompact weights do not say .*, convert it again with --activation leakyrelu\.\n$/,
  );

  const out = path.join(dir, 'leaky.onnx');
  const leaky = cli(['models', 'convert', SOURCE, out, '--activation', 'leakyrelu'], none);
  assert.equal(leaky.status, 0, leaky.stderr);
  assert.equal(leaky.stderr, '');
  assert.match(leaky.stdout, /SRVGGNetCompact \(2 convs, leakyrelu, chosen\)/);
  assert.ok(relativeL2(await outputOf(out), LEAKY_REFERENCE) < 1e-5);

  const badValue = cli(['models', 'import', SOURCE, '--activation', 'leaky'], none);
  assert.equal(badValue.status, 2);
  assert.equal(badValue.stderr, "upscale: --activation is 'leaky'; expected one of relu, leakyrelu, prelu\n");
  const missing = cli(['models', 'convert', SOURCE, path.join(dir, 'x.onnx'), '--activation'], none);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--activation is missing its value; expected one of relu, leakyrelu, prelu/);

  const refusals: readonly [string, string, RegExp][] = [
    [SOURCE, 'prelu', /hold no PReLU slopes/],
    [PRELU_FIXTURE, 'leakyrelu', /hold PReLU slopes/],
    [RRDB_FIXTURE, 'relu', /applies only to Real-ESRGAN SRVGGNetCompact .*; this is ESRGAN x2 — RRDBNet/],
  ];
  for (const [file, activation, message] of refusals) {
    const target = path.join(dir, 'refused.onnx');
    const r = cli(['models', 'convert', file, target, '--activation', activation], none);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^upscale: error: /);
    assert.match(r.stderr, message);
    assert.ok(!fs.existsSync(target), 'nothing written');
  }
  assert.deepEqual(listing(dir), ['assumed.onnx', 'leaky.onnx']);
  assert.deepEqual(listing(none), []);
});

// ---------------------------------------------------------------------------------------------
// The daemon

test('models/import over the protocol: the warning in the result; activation validated and checked', async () => {
  const daemon = startDaemon({ UPSCALE_MODELS_DIR: freshDir('daemon-models') });
  try {
    await daemon.connection.request(Requests.initialize, { clientName: 'activation-test' });
    const assumed = await daemon.connection.request(Requests.modelsImport, { path: SOURCE });
    assert.deepEqual(assumed.warnings, [WARNING]);
    assert.deepEqual([assumed.model.activation, assumed.model.activationSource], ['relu', 'assumed']);

    const chosen = await daemon.connection.request(Requests.modelsImport, { path: SOURCE, activation: 'leakyrelu' });
    assert.deepEqual(chosen.warnings, []);
    assert.deepEqual(
      [chosen.model.id, chosen.model.activation, chosen.model.activationSource],
      [assumed.model.id, 'leakyrelu', 'user'],
    );

    const prelu = await daemon.connection.request(Requests.modelsImport, { path: PRELU_FIXTURE });
    assert.deepEqual(prelu.warnings, []);
    assert.deepEqual([prelu.model.activation, prelu.model.activationSource], ['prelu', 'weights']);

    const expectError = async (params: unknown, name: string, message: RegExp): Promise<void> => {
      await assert.rejects(
        daemon.connection.request(Requests.modelsImport, params as { path: string }),
        (e: unknown) => {
          assert.ok(e instanceof DaemonError, String(e));
          assert.equal(e.errorName, name, e.message);
          assert.match(e.message, message);
          return true;
        },
      );
    };
    await expectError(
      { path: SOURCE, activation: 'leaky' },
      'InvalidParams',
      /^models\/import: 'activation' is "leaky"; expected one of relu, leakyrelu, prelu$/,
    );
    await expectError(
      { path: SOURCE, activation: 'prelu' },
      'ModelInvalid',
      /2x-leaky-compact\.safetensors: SRVGGNetCompact: activation 'prelu' was asked for/,
    );
    await expectError({ path: RRDB_FIXTURE, activation: 'relu' }, 'ModelInvalid', /this is ESRGAN x2 — RRDBNet/);
    const { models } = await daemon.connection.request(Requests.modelsList, {});
    assert.deepEqual(
      models
        .filter((m) => m.source === 'user')
        .map((m) => m.id)
        .sort(),
      ['2x-leaky-compact', 'srvgg_x4'],
    );
  } finally {
    await daemon.stop();
  }
});
