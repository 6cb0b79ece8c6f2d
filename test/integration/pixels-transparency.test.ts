// Transparency through the real daemon: soft edges keep their colour (no dark fringe) in
// both alpha modes; palette PNGs with tRNS and grey+alpha images keep their transparency.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import sharp from 'sharp';
import { startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { Requests } from '../../contract/methods';

let daemon: TestDaemon;
let dir: string;

before(() => {
  daemon = startDaemon();
  dir = tempDir('pixels-alpha');
});

after(async () => {
  await daemon.stop();
});

/** A red disc with a soft edge (alpha ramps over 6 px) on a transparent background whose hidden colour is black. */
async function redDisc(file: string, size: number): Promise<void> {
  const data = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const radius = size * 0.32;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      const a = Math.max(0, Math.min(1, (radius - d) / 6 + 0.5));
      const o = (y * size + x) * 4;
      if (a > 0) data[o] = 255;
      data[o + 3] = Math.round(a * 255);
    }
  await sharp(data, { raw: { width: size, height: size, channels: 4 } })
    .png()
    .toFile(file);
}

async function rgba(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 4);
  return { data, width: info.width, height: info.height };
}

for (const alpha of ['model', 'lanczos'] as const) {
  test(`a soft-edged red disc keeps red edges, not dark ones (alpha ${alpha})`, async () => {
    const input = path.join(dir, `disc-${alpha}.png`);
    await redDisc(input, 48);
    const r = await daemon.connection.request(Requests.upscale, {
      input,
      scale: 4,
      alpha,
      model: 'realesr-general-x4v3',
    });
    const { data, width, height } = await rgba(r.outputPath);
    assert.deepEqual([width, height], [192, 192]);
    let n = 0;
    const sum = [0, 0, 0];
    let opaque = 0;
    let clear = 0;
    for (let p = 0; p < width * height; p++) {
      const a = data[p * 4 + 3] as number;
      if (a === 255) opaque++;
      if (a === 0) clear++;
      if (a === 0 || a === 255) continue;
      n++;
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (data[p * 4 + c] as number);
    }
    const mean = sum.map((s) => s / n);
    assert.ok(n > 200, `${n} partly transparent edge pixels`);
    assert.ok(opaque > 5000 && clear > 5000, `opaque ${opaque}, clear ${clear}`);
    // Within 10 % of the disc's colour (255, 0, 0), channel by channel.
    assert.ok((mean[0] as number) >= 255 * 0.9, `mean edge colour ${mean.map((v) => v.toFixed(1)).join(', ')}`);
    assert.ok(
      (mean[1] as number) <= 25.5 && (mean[2] as number) <= 25.5,
      `mean edge colour ${mean.map((v) => v.toFixed(1)).join(', ')}`,
    );
  });
}

test('a palette PNG with tRNS transparency keeps its transparency through the daemon', async () => {
  const input = path.join(dir, 'palette.png');
  const size = 24;
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 4;
      const visible = x < size / 2;
      data[o] = visible ? 30 : 0;
      data[o + 1] = visible ? 160 : 0;
      data[o + 2] = visible ? 90 : 0;
      data[o + 3] = visible ? 255 : 0;
    }
  await sharp(data, { raw: { width: size, height: size, channels: 4 } })
    .png({ palette: true, dither: 0 })
    .toFile(input);
  assert.equal((await sharp(input).metadata()).isPalette, true);
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 4, model: 'realesr-general-x4v3' });
  const meta = await sharp(r.outputPath).metadata();
  assert.equal(meta.hasAlpha, true);
  const out = await rgba(r.outputPath);
  const at = (x: number, y: number) => [...out.data.subarray((y * out.width + x) * 4, (y * out.width + x) * 4 + 4)];
  assert.equal(at(90, 48)[3], 0, 'the transparent half stays transparent');
  assert.equal(at(8, 48)[3], 255, 'the opaque half stays opaque');
  const [red, green, blue] = at(20, 48) as [number, number, number];
  assert.ok(
    Math.abs(red - 30) < 12 && Math.abs(green - 160) < 12 && Math.abs(blue - 90) < 12,
    `colour ${red},${green},${blue}`,
  );
});

test('a grey+alpha PNG comes back grey+alpha with its transparency', async () => {
  const input = path.join(dir, 'grey-alpha.png');
  const size = 20;
  const data = Buffer.alloc(size * size * 2);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 2;
      data[o] = 40 + x * 8;
      data[o + 1] = y < size / 2 ? 255 : 0;
    }
  await sharp(data, { raw: { width: size, height: size, channels: 2 } })
    .toColourspace('b-w')
    .png()
    .toFile(input);
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  const meta = await sharp(r.outputPath).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels, meta.hasAlpha], [40, 40, 2, true]);
  const out = await rgba(r.outputPath);
  const alphaAt = (x: number, y: number) => out.data[(y * out.width + x) * 4 + 3];
  assert.equal(alphaAt(20, 4), 255);
  assert.equal(alphaAt(20, 35), 0);
});
