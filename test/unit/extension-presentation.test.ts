// The words and numbers the extension shows: progress, quick pick rows, status bar,
// and the requests it builds from settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ModelInfo, ProgressParams } from '../../contract/protocol';
import { DEFAULTS } from '../../extension/config';
import { describeModels, describeResult, describeRunsOn, specModels, upscaleParams } from '../../extension/job-params';
import { parseUpscale } from '../../contract/request';
import {
  blendWeight,
  extraRows,
  formatBytes,
  modelRows,
  passesFor,
  scaleRows,
  ttaRows,
} from '../../extension/model-picks';
import { batchFraction, progressMessage, ProgressMeter } from '../../extension/progress-text';
import { statusText } from '../../extension/status-text';

const p = (over: Partial<ProgressParams>): ProgressParams => ({
  jobId: 'j',
  requestId: 1,
  stage: 'infer',
  pass: 1,
  passes: 1,
  done: 0,
  total: 0,
  ...over,
});

test("progress messages: the panel's words, with the file in a batch and the time left while working", () => {
  assert.equal(progressMessage(p({ done: 3, total: 12 }), '/x/photo.png'), 'photo.png: 3 of 12 tiles');
  assert.equal(
    progressMessage(p({ pass: 2, passes: 2, done: 1, total: 4 }), '/x/photo.png'),
    'photo.png: pass 2 of 2 · 1 of 4 tiles',
  );
  assert.equal(
    progressMessage(p({ stage: 'queued', queuePosition: 2, passes: 0, pass: 0 }), '/x/a.png'),
    'a.png: waiting (2 jobs ahead)',
  );
  assert.equal(progressMessage(p({ stage: 'queued', queuePosition: 0 }), '/x/a.png'), 'a.png: waiting');
  assert.equal(progressMessage(p({ stage: 'encode' }), '/x/a.png'), 'a.png: writing the file');
  assert.equal(progressMessage(p({ stage: 'load' }), '/x/a.png'), 'a.png: loading the model');
  // One tile: no "0 of 1"; the time left once there is an estimate.
  assert.equal(progressMessage(p({ done: 0, total: 1 })), 'upscaling');
  assert.equal(
    progressMessage(p({ done: 0, total: 1 }), undefined, { fraction: 0.2, leftMs: 146_700 }),
    'upscaling · about 2 min 30 s left',
  );
  // The estimate covers the whole job: writing the file too.
  assert.equal(
    progressMessage(p({ stage: 'encode' }), undefined, { fraction: 0.9, leftMs: 12_000 }),
    'writing the file · about 10 s left',
  );
});

test("the meter never goes back and stops at 100; a batch adds the running job's share", () => {
  assert.equal(batchFraction(1, 4, 0.5), 0.375);
  assert.equal(batchFraction(0, 0, 0.5), 1);
  const m = new ProgressMeter();
  assert.equal(m.advanceTo(0.25), 25);
  assert.equal(m.advanceTo(0.2), 0);
  assert.equal(m.advanceTo(0.5), 25);
  assert.equal(m.advanceTo(2), 50);
  assert.equal(m.percent, 100);
});

const model = (over: Partial<ModelInfo>): ModelInfo => ({
  id: 'm',
  name: 'M',
  family: 'real-esrgan',
  variant: 'v',
  scale: 4,
  inputMultiple: 1,
  sizeBytes: 4_800_000,
  source: 'builtin',
  license: 'BSD-3-Clause',
  credit: '',
  loaded: false,
  ...over,
});

test('model rows: default first with a star; family, scale and size in the description', () => {
  const rows = modelRows(
    [
      model({ id: 'user1', name: 'Anime', source: 'user', family: 'esrgan', scale: 2, sizeBytes: 67_000_000 }),
      model({ id: 'x4plus', name: 'Real-ESRGAN x4plus', sizeBytes: 67_000_000, loaded: true }),
      model({ id: 'general', name: 'Real-ESRGAN general' }),
    ],
    'general',
  );
  assert.deepEqual(
    rows.map((r) => r.id),
    ['general', 'x4plus', 'user1'],
  );
  assert.equal(rows[0]?.label, '$(star-full) Real-ESRGAN general');
  assert.equal(rows[0]?.description, 'real-esrgan · x4 · 4.8 MB');
  assert.equal(rows[1]?.description, 'real-esrgan · x4 · 67.0 MB · loaded');
  assert.match(rows[2]?.detail ?? '', /user1 — your model/);
  assert.equal(formatBytes(1500), '2 kB');
});

test('scale rows say how each factor is reached and where the result goes', () => {
  const rows = scaleRows(4, (s) => `p@${s}x.png`);
  assert.deepEqual(
    rows.map((r) => r.label),
    ['2x', '3x', '4x', '8x', 'Custom…'],
  );
  assert.equal(rows[0]?.description, 'one pass, then Lanczos down → p@2x.png');
  assert.equal(rows[2]?.description, 'one pass → p@4x.png');
  assert.equal(rows[3]?.description, '2 passes + Lanczos → p@8x.png');
  assert.equal(scaleRows(2, () => '')[3]?.description.startsWith('3 passes →'), true);
  assert.equal(passesFor(16, 2), 3);
});

test('status bar text per state', () => {
  assert.match(statusText({ kind: 'stopped' }).text, /circle-outline/);
  const idle = statusText({ kind: 'running', provider: 'cpu', why: 'requested; fp16 unavailable (the CPU)', jobs: 0 });
  assert.equal(idle.text, '$(check) Upscale · cpu');
  assert.match(idle.tooltip, /running models on cpu \(requested; fp16 unavailable \(the CPU\)\)/);
  const busy = statusText({ kind: 'running', provider: 'cuda', why: 'requested; fp16 available', jobs: 3 });
  assert.equal(busy.text, '$(sync~spin) Upscale 3 · cuda');
  assert.match(busy.tooltip, /busy on cuda \(requested; fp16 available\), 1 job running, 2 queued/);
  const failed = statusText({ kind: 'failed', reason: 'it crashed 5 times' });
  assert.equal(failed.error, true);
  assert.match(failed.tooltip, /Restart Daemon/);
});

test('upscale params from settings: beside the source, into a folder, sizes, preview', () => {
  const a = upscaleParams('/img/p.png', '/img', { target: { kind: 'scale', scale: 4 } }, DEFAULTS);
  assert.deepEqual(a, {
    input: '/img/p.png',
    template: '{name}@{scale}x.{ext}',
    scale: 4,
    overlap: 16,
    quality: 90,
    alpha: 'model',
    precision: 'auto',
    overwrite: false,
    // Every core, and a third of the machine's memory: the daemon's own defaults, copied as set.
    threads: 0,
    memoryBudget: 0,
  });
  const b = upscaleParams(
    '/img/p.png',
    '/img/out',
    { model: 'x', target: { kind: 'size', width: 100 } },
    { ...DEFAULTS, tileSize: 256, outputFormat: 'webp', defaultModel: 'ignored', precision: 'fp16' },
    { previewWidth: 1600 },
  );
  assert.equal(b.output, `/img/out${path.sep}`);
  assert.equal(b.model, 'x');
  assert.equal(b.width, 100);
  assert.equal(b.height, undefined);
  assert.equal(b.scale, undefined);
  assert.equal(b.tile, 256);
  assert.equal(b.format, 'webp');
  assert.equal(b.precision, 'fp16', 'upscale.precision goes into every request');
  assert.equal(b.previewWidth, 1600);
  assert.equal(
    upscaleParams('/i/p.png', '/i', { target: { kind: 'scale', scale: 2 } }, { ...DEFAULTS, defaultModel: 'dm' }).model,
    'dm',
  );
  assert.equal(
    describeResult({
      input: '/a/p.png',
      outputPath: '/a/p@4x.png',
      inputWidth: 10,
      inputHeight: 5,
      width: 40,
      height: 20,
      passes: 1,
      provider: 'cpu',
      precision: 'fp32',
      timings: { totalMs: 1234 },
    }),
    'p.png → p@4x.png (10×5 → 40×20, 1 pass, 1.2 s on cpu in fp32)',
  );
  assert.equal(
    describeRunsOn({
      provider: 'webgpu',
      providerReason: 'webgpu was requested',
      precision: 'fp16',
      precisionReason: 'auto: compact is safe in fp16 and the adapter has shader-f16',
    }),
    'provider webgpu: webgpu was requested; precision fp16: auto: compact is safe in fp16 and the adapter has shader-f16',
  );
  // The panel's format: the 146.7 s job reads "2 min 27 s" in both.
  assert.match(
    describeResult({
      input: '/a/p.png',
      outputPath: '/a/p@4x.png',
      inputWidth: 512,
      inputHeight: 480,
      width: 2048,
      height: 1920,
      passes: 1,
      provider: 'cpu',
      precision: 'fp32',
      timings: { totalMs: 146_700 },
    }),
    /, 2 min 27 s on cpu in fp32\)$/,
  );
});

test('Upscale Image With… extras: a restoration model first makes a chain, a blend its MODEL:WEIGHT, TTA its level; the daemon takes the request', () => {
  const spec = {
    model: 'realesrgan-x4plus',
    target: { kind: 'scale', scale: 4 },
    before: ['x1-jpeg'],
    blend: { model: 'realesr-general-x4v3', weight: 0.3 },
    tta: 8,
  } as const;
  const params = upscaleParams('/img/p.png', '/img', spec, DEFAULTS);
  assert.equal(params.model, undefined);
  assert.deepEqual(
    [params.chain, params.blend, params.tta],
    ['x1-jpeg,realesrgan-x4plus', 'realesr-general-x4v3:0.3', 8],
  );
  assert.deepEqual(parseUpscale(params), params);
  const plain = upscaleParams('/img/p.png', '/img', { model: 'm', target: { kind: 'scale', scale: 4 } }, DEFAULTS);
  assert.deepEqual([plain.model, plain.chain, plain.blend, plain.tta], ['m', undefined, undefined, undefined]);
  assert.equal(
    describeModels(specModels(spec, spec.model)),
    'x1-jpeg → realesrgan-x4plus + 30% realesr-general-x4v3 · TTA ×8',
  );
  assert.equal(describeModels({ chain: ['m'], blend: null, tta: 1 }), 'm');
});

test('the extras offered, the TTA levels and the blend weight, checked by the request rule', () => {
  assert.deepEqual(
    extraRows().map((r) => r.extra),
    ['restore', 'blend', 'tta'],
  );
  assert.deepEqual(
    ttaRows().map((r) => r.level),
    [2, 4, 8],
  );
  assert.deepEqual(blendWeight('m', ' 0.25 '), { ok: true, weight: 0.25 });
  for (const bad of ['0', '1.5', '', 'half', '-0.2']) assert.equal(blendWeight('m', bad).ok, false, bad);
});
