// Reproducibility and estimates through the real daemon: --sidecar records hashes,
// parameters, plan, provider and precision with why, versions and timings beside the
// output; the same command twice gives the same pixels and the same record but for
// timings; a first job's first progress already carries an estimate of the time left, and
// the next daemon reads the rates the first one measured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';
import { builtinModelsDir } from '../../models/paths';
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

test("a new user's first job, one tile, has a time estimate from its first progress; the next daemon starts from what it measured", async () => {
  const other = path.join(dir, 'eta.png');
  await writeTestImage(other, 96, 64);
  // A cache folder of its own: no rates measured on this machine before.
  const cache = tempDir('cache');
  const env = { UPSCALE_CACHE_DIR: cache, UPSCALE_BUILTIN_DIR: builtinModelsDir() };
  const run = async (d: TestDaemon, name: string, tile?: number) => {
    const job = d.connection.start(Requests.upscale, {
      input: other,
      output: path.join(dir, name),
      model: 'realesr-general-x4v3',
      ...(tile !== undefined && { tile, overlap: 8 }),
    });
    await job.result;
    return d.progress.filter((p) => p.requestId === job.id && p.stage !== 'queued');
  };
  const first = startDaemon(env);
  try {
    const one = await run(first, 'eta-1.png');
    assert.equal(one.filter((p) => p.stage === 'infer' && p.tile).length, 1, 'one tile');
    assert.equal(one[0]?.stage, 'decode');
    const eta = one[0]?.etaMs;
    assert.ok(eta !== undefined && eta > 0, `the first progress of the first job carries an estimate: ${eta}`);
    assert.ok(
      one.filter((p) => p.stage !== 'done').every((p) => p.etaMs !== undefined),
      'every stage of the job carries one',
    );
    assert.equal(one.at(-1)?.stage, 'done');
    assert.equal(one.at(-1)?.etaMs, undefined);
    const stderr = first.stderr.join('');
    assert.match(stderr, /\[upscale info\] cpu runs convolutions at [\d.]+ GMAC\/s \(timed once, for time estimates\)/);
  } finally {
    await first.stop();
  }
  const saved = JSON.parse(fs.readFileSync(path.join(cache, 'rates.json'), 'utf8')) as {
    rates: { tiles: Record<string, number>; macs: Record<string, number>; stages: Record<string, number> };
  };
  assert.ok(Object.keys(saved.rates.tiles).some((k) => k.startsWith('realesr-general-x4v3 cpu ')));
  assert.equal(typeof saved.rates.macs.cpu, 'number');
  assert.ok(['decode png', 'load cpu', 'encode png'].every((k) => typeof saved.rates.stages[k] === 'number'));

  // Another daemon on the same cache: no calibration, an estimate from the first progress
  // that comes down as the tiles finish.
  const second = startDaemon(env);
  try {
    const tiles = await run(second, 'eta-2.png', 32);
    const infer = tiles.filter((p) => p.stage === 'infer' && p.tile);
    assert.ok(infer.length >= 4, `${infer.length} tiles`);
    const firstEta = tiles[0]?.etaMs;
    const lastTileEta = infer.at(-1)?.etaMs;
    assert.ok(firstEta !== undefined && firstEta > 0);
    assert.ok(
      lastTileEta !== undefined && lastTileEta < firstEta,
      `${lastTileEta} after the last tile, ${firstEta} at first`,
    );
    assert.doesNotMatch(second.stderr.join(''), /GMAC\/s/, 'the provider was timed once, by the first daemon');
  } finally {
    await second.stop();
  }
});
