// Iterative plans on real output files: scale factors and exact sizes, with the number
// of passes the daemon reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';

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

const cases: Array<{ label: string; params: { scale?: number; width?: number; height?: number; fit?: 'cover' | 'contain' | 'fill' }; size: [number, number]; passes: number }> = [
  { label: '2x with a 4x model: one pass, then Lanczos down', params: { scale: 2 }, size: [24, 18], passes: 1 },
  { label: '3x', params: { scale: 3 }, size: [36, 27], passes: 1 },
  { label: '2.5x', params: { scale: 2.5 }, size: [30, 23], passes: 1 },
  { label: '8x: two passes (16x), then down', params: { scale: 8 }, size: [96, 72], passes: 2 },
  { label: '16x: two passes exactly', params: { scale: 16 }, size: [192, 144], passes: 2 },
  { label: 'exact width keeps the aspect ratio', params: { width: 100 }, size: [100, 75], passes: 2 },
  { label: 'exact width and height (cover)', params: { width: 50, height: 50 }, size: [50, 50], passes: 2 },
  { label: 'exact size needing three passes', params: { width: 700, height: 500 }, size: [700, 500], passes: 3 },
];

for (const c of cases) {
  test(c.label, async () => {
    const r = await daemon.connection.request('upscale', { input, ...c.params, output: path.join(dir, `${c.label.replace(/\W+/g, '-')}.png`) });
    const meta = await sharp(r.outputPath).metadata();
    assert.deepEqual([meta.width, meta.height], c.size);
    assert.deepEqual([r.width, r.height], c.size);
    assert.equal(r.passes, c.passes);
  });
}
