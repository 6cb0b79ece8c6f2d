// The PNG written as the job runs (daemon/image/png-stream.ts), in its worker thread, read
// back by libvips: the same pixels and metadata encodeImage writes, whatever bands the rows
// arrive in; nothing left behind when it is stopped or cannot write.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { encodeImage } from '../../daemon/image/encode';
import { PngStream } from '../../daemon/image/png-stream';
import type { Raster, SourceInfo } from '../../daemon/image/types';
import { plainSource } from '../plain-source';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-png-stream-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const SOURCE = plainSource('png');

/** A shared raster of a smooth gradient with noise, as a filled-in output would be. */
function raster(width: number, height: number, channels: 3 | 4, depth: 8 | 16): Raster {
  const size = width * height * channels;
  const memory = new SharedArrayBuffer(size * (depth / 8));
  const data = depth === 16 ? new Uint16Array(memory) : new Uint8Array(memory);
  const max = depth === 16 ? 65535 : 255;
  let seed = 12345;
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const p = Math.floor(i / channels);
    const ramp = ((p % width) / width + Math.floor(p / width) / height) / 2;
    data[i] = Math.min(max, Math.round(ramp * max * 0.9 + (seed % 32) * (max / 255)));
  }
  return { width, height, channels, depth, data };
}

/** Writes `r` through a stream, the rows made final in `bands` steps, as the passes would. */
async function streamed(r: Raster, source: SourceInfo, file: string, bands: number[]): Promise<void> {
  const stream = PngStream.start(file, r, source);
  for (const rows of bands) stream.rowsFinal(rows);
  const result = await stream.finish();
  assert.deepEqual(result.warnings, []);
}

/** The file's chunk types in order, each once where it repeats (IDAT). */
function chunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
    const type = png.toString('latin1', at + 4, at + 8);
    if (types[types.length - 1] !== type) types.push(type);
  }
  return types;
}

async function pixels(file: string): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  return sharp(file).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
}

test('an 8-bit RGB PNG written in uneven bands decodes to the raster, as encodeImage’s does', async () => {
  const r = raster(333, 257, 3, 8);
  const file = path.join(dir, 'rgb.png');
  await streamed(r, SOURCE, file, [0, 1, 64, 65, 200]);
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [333, 257, 3]);
  assert.ok(Buffer.from(r.data.buffer).equals(data), 'the pixels read back are the raster');
  const viaSharp = path.join(dir, 'rgb-sharp.png');
  await encodeImage(r, SOURCE, { path: viaSharp, format: 'png' });
  assert.ok((await sharp(viaSharp).raw().toBuffer()).equals(data));
  // The same chunks, in the same order.
  assert.deepEqual(chunkTypes(fs.readFileSync(file)), chunkTypes(fs.readFileSync(viaSharp)));
});

test('16-bit RGBA keeps its depth and alpha; an alpha the source did not have is left out', async () => {
  const r = raster(97, 41, 4, 16);
  const file = path.join(dir, 'rgba16.png');
  await streamed(r, { ...SOURCE, depth: 16, hasAlpha: true }, file, [10, 20]);
  const meta = await sharp(file).metadata();
  assert.deepEqual([meta.depth, meta.channels, meta.hasAlpha], ['ushort', 4, true]);
  const { data } = await pixels(file);
  assert.deepEqual([...new Uint16Array(data.buffer, data.byteOffset, data.length / 2)], [...r.data]);

  const opaque = path.join(dir, 'rgb16.png');
  await streamed(r, { ...SOURCE, depth: 16 }, opaque, []);
  const back = await pixels(opaque);
  assert.equal(back.info.channels, 3);
  const samples = new Uint16Array(back.data.buffer, back.data.byteOffset, back.data.length / 2);
  assert.deepEqual([samples[0], samples[1], samples[2], samples[3]], [r.data[0], r.data[1], r.data[2], r.data[4]]);

  // An 8-bit source gets an 8-bit file from a 16-bit raster, as encodeImage writes it.
  const eight = path.join(dir, 'rgb8-of-16.png');
  await streamed(r, SOURCE, eight, []);
  assert.equal((await sharp(eight).metadata()).depth, 'uchar');
  const eightViaSharp = path.join(dir, 'rgb8-of-16-sharp.png');
  await encodeImage(r, SOURCE, { path: eightViaSharp, format: 'png' });
  assert.ok((await sharp(eight).raw().toBuffer()).equals(await sharp(eightViaSharp).raw().toBuffer()));
});

test('EXIF (without its JPEG prefix) and XMP are kept where libvips reads them', async () => {
  const exif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } })
    .withExif({ IFD0: { Copyright: 'upscale test' } })
    .jpeg()
    .toBuffer()
    .then(async (jpeg) => (await sharp(jpeg).metadata()).exif);
  assert.ok(exif, 'the fixture has EXIF');
  const xmp = Buffer.from('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>');
  const file = path.join(dir, 'meta.png');
  await streamed(raster(16, 16, 3, 8), { ...SOURCE, exif, xmp }, file, [8]);
  const meta = await sharp(file).metadata();
  assert.ok(meta.exif?.includes(Buffer.from('upscale test')), 'the EXIF is there');
  assert.equal(meta.xmp?.toString(), xmp.toString());
});

test('a stopped stream leaves no file; one that cannot write says why', async () => {
  const file = path.join(dir, 'stopped.png');
  const stream = PngStream.start(file, raster(64, 64, 3, 8), SOURCE);
  stream.rowsFinal(32);
  await stream.abort();
  assert.equal(fs.existsSync(file), false);

  const nowhere = path.join(dir, 'no-such-folder', 'out.png');
  await assert.rejects(PngStream.start(nowhere, raster(8, 8, 3, 8), SOURCE).finish(), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ENOENT');
    assert.match(e.message, /no-such-folder/);
    return true;
  });
});
