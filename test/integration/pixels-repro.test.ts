// Reproducibility and estimates through the real daemon: --sidecar records hashes,
// parameters, plan, provider and precision with why, versions and timings beside the output; the same command
// twice gives the same pixels and the same record but for timings; a second job's first
// progress already carries an ETA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';
import { Requests } from '../../contract/methods';

let daemon: TestDaemon;
let dir: string;
let input: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('pixels-repro');
  input = path.join(dir, 'scene.png');
  await writeTestImage(input, 48, 36, { alpha: true });
});

after(async () => {
  await daemon.stop();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('--sidecar: the record beside the output, and the same command twice gives the same pixels and record', async () => {
  const output = path.join(dir, 'scene-out.png');
  const params = { input, output, scale: 2.5, tile: 32, overlap: 8, sidecar: true, overwrite: true };
  const first = await daemon.connection.request(Requests.upscale, params);
  assert.equal(first.sidecarPath, `${output}.json`);
  const pixels1 = await sharp(output).raw().toBuffer();
  const record1 = JSON.parse(fs.readFileSync(`${output}.json`, 'utf8')) as Record<string, Record<string, unknown>>;

  assert.equal(record1.input?.sha256, sha256(fs.readFileSync(input)));
  assert.equal(record1.model?.id, first.model);
  assert.match(String(record1.model?.weightsSha256), /^[0-9a-f]{64}$/);
  assert.deepEqual(record1.parameters?.request, params);
  assert.equal((record1.parameters?.resolved as { alpha: string }).alpha, 'model');
  assert.equal(record1.provider, first.provider);
  assert.equal(record1.precision, 'fp32');
  assert.equal(record1.providerReason, first.providerReason);
  assert.equal(record1.precisionReason, 'auto: the cpu provider runs fp32 only');
  for (const k of ['daemon', 'onnxruntime-node', 'sharp', 'libvips', 'node'])
    assert.match(String(record1.versions?.[k]), /\d/, k);
  assert.equal((record1.plan as { passes: unknown[] }).passes.length, 1);
  assert.equal(record1.output?.path, output);
  for (const k of ['decodeMs', 'inferMs', 'encodeMs', 'totalMs'])
    assert.equal(typeof record1.timings?.[k], 'number', k);

  const second = await daemon.connection.request(Requests.upscale, params);
  assert.equal(second.outputPath, output);
  const pixels2 = await sharp(output).raw().toBuffer();
  assert.ok(pixels1.equals(pixels2), 'identical decoded pixels');
  const record2 = JSON.parse(fs.readFileSync(`${output}.json`, 'utf8')) as Record<string, unknown>;
  const { timings: t1, ...rest1 } = record1;
  const { timings: t2, ...rest2 } = record2;
  assert.ok(t1 && t2);
  assert.deepEqual(rest2, rest1);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.partial')),
    [],
    'no temporary files left',
  );
});

test('no sidecar without its image: a failed job leaves neither', async () => {
  const output = path.join(dir, 'missing-folder', 'x.png');
  await assert.rejects(daemon.connection.request(Requests.upscale, { input, output, sidecar: true }), /does not exist/);
  assert.equal(fs.existsSync(`${output}.json`), false);
  const webp = path.join(dir, 'too-big.webp');
  await assert.rejects(
    daemon.connection.request(Requests.upscale, { input, output: webp, width: 20000, sidecar: true, format: 'webp' }),
    /16383/,
  );
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('too-big')),
    [],
  );
});

test('a second job on the same model, provider and tile size has an ETA in its first progress', async () => {
  const other = path.join(dir, 'eta.png');
  await writeTestImage(other, 96, 64);
  const fresh = startDaemon();
  try {
    const run = async (name: string) => {
      const job = fresh.connection.start(Requests.upscale, {
        input: other,
        output: path.join(dir, name),
        tile: 32,
        overlap: 8,
        model: 'realesr-general-x4v3',
      });
      await job.result;
      return fresh.progress.filter((p) => p.requestId === job.id && p.stage !== 'queued');
    };
    const first = await run('eta-1.png');
    assert.equal(first[0]?.etaMs, undefined, 'nothing measured before the first job');
    const tiles1 = first.filter((p) => p.stage === 'infer' && p.tile);
    assert.ok(tiles1.length >= 4);
    assert.equal(typeof tiles1[0]?.etaMs, 'number', 'from the first finished tile on');
    const second = await run('eta-2.png');
    assert.equal(second[0]?.stage, 'decode');
    const eta = second[0]?.etaMs;
    assert.equal(typeof eta, 'number', 'the first progress of the second job carries an ETA');
    assert.ok((eta as number) > 0);
    const lastTile = second.filter((p) => p.stage === 'infer' && p.tile).at(-1);
    assert.equal(lastTile?.etaMs, 0, 'nothing left after the last tile');
  } finally {
    await fresh.stop();
  }
});
