// Alpha, grey, 16-bit, EXIF-rotated and ICC-tagged inputs through the whole daemon: the
// output keeps what the input had (checked on pixels and metadata of the written files).
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
  dir = tempDir('pixels');
});

after(async () => {
  await daemon.stop();
});

function ramp(width: number, height: number, channels: number, depth: 8 | 16): Buffer | Uint16Array {
  const max = depth === 16 ? 65535 : 255;
  const data = depth === 16 ? new Uint16Array(width * height * channels) : Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        data[(y * width + x) * channels + c] = Math.round((((x + c * 5) % width) / (width - 1)) * max);
      }
  return data;
}

test('RGBA: transparency round-trips (opaque stays opaque, transparent stays transparent)', async () => {
  const input = path.join(dir, 'rgba.png');
  const data = Buffer.alloc(16 * 16 * 4);
  for (let i = 0; i < 256; i++) {
    const x = i % 16;
    data.set([200, 30, 30, x < 8 ? 255 : 0], i * 4);
  }
  await sharp(data, { raw: { width: 16, height: 16, channels: 4 } })
    .png()
    .toFile(input);
  const r = await daemon.connection.request(Requests.upscale, { input });
  const out = await sharp(r.outputPath).raw().toBuffer({ resolveWithObject: true });
  assert.equal(out.info.channels, 4);
  assert.equal(out.info.width, 64);
  const alphaAt = (x: number, y: number) => out.data[(y * 64 + x) * 4 + 3] as number;
  assert.ok(alphaAt(5, 30) > 250, 'left half opaque');
  assert.ok(alphaAt(60, 30) < 5, 'right half transparent');
  const red = out.data[(30 * 64 + 20) * 4] as number;
  assert.ok(red > 170, `opaque colour kept (red ${red})`);
});

test('greyscale in, greyscale out', async () => {
  const input = path.join(dir, 'grey.png');
  await sharp(ramp(20, 10, 1, 8) as Buffer, { raw: { width: 20, height: 10, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(input);
  assert.equal((await sharp(input).metadata()).channels, 1);
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  const meta = await sharp(r.outputPath).metadata();
  assert.equal(meta.channels, 1);
  assert.deepEqual([meta.width, meta.height], [40, 20]);
});

test('16-bit PNG in, 16-bit PNG out with real 16-bit values (not 8-bit values scaled up)', async () => {
  const input = path.join(dir, 'deep.png');
  await sharp(ramp(300, 4, 3, 16) as Uint16Array, { raw: { width: 300, height: 4, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(input);
  assert.equal((await sharp(input).metadata()).depth, 'ushort');
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  const meta = await sharp(r.outputPath).metadata();
  assert.equal(meta.depth, 'ushort');
  const { data } = await sharp(r.outputPath).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  // An 8-bit pipeline widened to 16 bits gives only multiples of 257.
  let off8bitGrid = 0;
  for (const v of values) if (v % 257 !== 0) off8bitGrid++;
  assert.ok(off8bitGrid > values.length * 0.9, `${off8bitGrid} of ${values.length} samples are off the 8-bit grid`);
  assert.deepEqual(r.warnings, []);

  // Written as JPEG the depth cannot be kept: the result says so instead of dropping it quietly.
  const jpeg = await daemon.connection.request(Requests.upscale, { input, scale: 2, format: 'jpg' });
  assert.equal((await sharp(jpeg.outputPath).metadata()).depth, 'uchar');
  assert.ok(
    jpeg.warnings.some((w) => /JPEG output is 8 bits per sample; the source had 16/.test(w)),
    jpeg.warnings.join('; '),
  );
});

test('an EXIF-rotated JPEG comes out upright with orientation reset', async () => {
  const input = path.join(dir, 'rotated.jpg');
  // Stored 24x12 landscape, tagged orientation 6 (rotate 90° clockwise to display).
  await sharp(ramp(24, 12, 3, 8) as Buffer, { raw: { width: 24, height: 12, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(input);
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  const meta = await sharp(r.outputPath).metadata();
  assert.deepEqual([meta.width, meta.height], [24, 48], 'displayed upright: portrait');
  assert.ok(meta.orientation === undefined || meta.orientation === 1);
  assert.deepEqual([r.inputWidth, r.inputHeight], [12, 24]);
});

test('an ICC-tagged (Display P3) image keeps its profile, byte for byte', async () => {
  const input = path.join(dir, 'p3.png');
  await sharp(ramp(16, 16, 3, 8) as Buffer, { raw: { width: 16, height: 16, channels: 3 } })
    .withIccProfile('p3')
    .png()
    .toFile(input);
  const source = await sharp(input).metadata();
  assert.ok(source.icc);
  const r = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  const meta = await sharp(r.outputPath).metadata();
  assert.ok(meta.icc && Buffer.compare(meta.icc, source.icc) === 0, 'same ICC bytes');
});
