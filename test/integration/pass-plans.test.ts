// Iterative plans on real output files: scale factors and exact sizes, with the number
// of passes the daemon reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';
import { Requests } from '../../contract/methods';

let daemon: TestDaemon;
let input: string;
let dir: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('plans');
  input = path.join(dir, 'tiny.png');
  await writeTestImage(input, 12, 9);
});

after(async () => {
  await daemon.stop();
});

// The 4x default model is named where a native model of the target's scale would otherwise be chosen.
const X4 = 'realesr-general-x4v3';
const cases: Array<{
  label: string;
  params: { scale?: number; width?: number; height?: number; fit?: 'cover' | 'contain' | 'fill'; model?: string };
  size: [number, number];
  passes: number;
  model?: string;
}> = [
  {
    label: '2x with a 4x model: one pass, then Lanczos down',
    params: { scale: 2, model: X4 },
    size: [24, 18],
    passes: 1,
  },
  { label: '3x', params: { scale: 3, model: X4 }, size: [36, 27], passes: 1 },
  { label: '2.5x', params: { scale: 2.5 }, size: [30, 23], passes: 1, model: X4 },
  { label: '8x: two passes (16x), then down', params: { scale: 8, model: X4 }, size: [96, 72], passes: 2 },
  {
    label: '2x with no model named: a native 2x model of the ESRGAN line, one pass, no resize',
    params: { scale: 2 },
    size: [24, 18],
    passes: 1,
    model: 'upscalerjs-esrgan-medium-x2',
  },
  {
    label: '3x with no model named: a native 3x model',
    params: { scale: 3 },
    size: [36, 27],
    passes: 1,
    model: 'upscalerjs-esrgan-medium-x3',
  },
  {
    label: 'exact size with fit contain: exactly W x H',
    params: { width: 60, height: 60, fit: 'contain' },
    size: [60, 60],
    passes: 2,
  },
  { label: 'exact size with fit fill', params: { width: 60, height: 20, fit: 'fill' }, size: [60, 20], passes: 2 },
  { label: '16x: two passes exactly', params: { scale: 16 }, size: [192, 144], passes: 2 },
  { label: 'exact width keeps the aspect ratio', params: { width: 100 }, size: [100, 75], passes: 2 },
  { label: 'exact width and height (cover)', params: { width: 50, height: 50 }, size: [50, 50], passes: 2 },
  { label: 'exact size needing three passes', params: { width: 700, height: 500 }, size: [700, 500], passes: 3 },
];

for (const c of cases) {
  test(c.label, async () => {
    const r = await daemon.connection.request(Requests.upscale, {
      input,
      ...c.params,
      output: path.join(dir, `${c.label.replace(/\W+/g, '-')}.png`),
    });
    const meta = await sharp(r.outputPath).metadata();
    assert.deepEqual([meta.width, meta.height], c.size);
    assert.deepEqual([r.width, r.height], c.size);
    assert.equal(r.passes, c.passes);
    if (c.model) assert.equal(r.model, c.model);
    assert.equal(r.plan?.passes.length, c.passes);
    assert.deepEqual([r.plan?.width, r.plan?.height], c.size);
  });
}
