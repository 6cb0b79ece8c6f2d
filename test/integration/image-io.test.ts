import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage, exifWithOrientationReset, readImageHeader } from '../../daemon/image/decode';
import { encodeImage } from '../../daemon/image/encode';
import type { DecodedImage, DecodeLimits, ImageHeader, Raster } from '../../daemon/image/types';

function pickSize({ width, height, format }: ImageHeader): Pick<ImageHeader, 'width' | 'height' | 'format'> {
  return { width, height, format };
}

/** The daemon's order: the header once, then the pixels. */
async function decodeFile(file: string, limits: DecodeLimits): Promise<DecodedImage> {
  return decodeImage(await readImageHeader(file), limits);
}

const LIMITS = { maxInputPixels: 50_000_000 };
let dir = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-image-io-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string): string {
  return path.join(dir, name);
}

/** What the engine would hand back for an unchanged image: the decoded planes, quantised and interleaved. */
function rasterOf(image: DecodedImage, depth: 8 | 16): Raster {
  const n = image.width * image.height;
  const channels = image.alpha === null ? 3 : 4;
  const max = depth === 16 ? 65535 : 255;
  const data = depth === 16 ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) data[p * channels + c] = Math.round((image.rgb[c * n + p] as number) * max);
    if (image.alpha !== null) data[p * channels + 3] = Math.round((image.alpha[p] as number) * max);
  }
  return { width: image.width, height: image.height, channels, depth, data };
}

async function rawPixels(
  input: string,
  options: { ignoreIcc?: boolean } = {},
): Promise<{ data: Buffer; channels: number }> {
  const { data, info } = await sharp(input, { ignoreIcc: options.ignoreIcc ?? false })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels };
}

async function greyPixels(input: string): Promise<Buffer> {
  return sharp(input).toColourspace('b-w').raw().toBuffer();
}

async function raw16(input: string): Promise<Uint16Array> {
  const data = await sharp(input, { ignoreIcc: true }).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}

function rgbAt(image: DecodedImage, x: number, y: number): [number, number, number] {
  const n = image.width * image.height;
  const p = y * image.width + x;
  return [image.rgb[p] as number, image.rgb[n + p] as number, image.rgb[2 * n + p] as number].map((v) =>
    Math.round(v * 255),
  ) as [number, number, number];
}

test('an orientation-6 JPEG decodes upright and is written back with orientation 1', async () => {
  // Stored 32x16 with a red block in the stored top-left: shown rotated 90° clockwise, it is top-right.
  const width = 32;
  const height = 16;
  const stored = Buffer.alloc(width * height * 3, 20);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) stored.set([230, 20, 20], (y * width + x) * 3);
  const input = file('rotated.jpg');
  await sharp(stored, { raw: { width, height, channels: 3 } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 100 })
    .toFile(input);
  assert.equal((await sharp(input).metadata()).orientation, 6);

  assert.deepEqual(pickSize(await readImageHeader(input)), { width: 16, height: 32, format: 'jpeg' });
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.width, 16);
  assert.equal(image.height, 32);
  const [r, g] = rgbAt(image, 12, 4);
  assert.ok(r > 200 && g < 60, `top-right should be red, got ${r},${g}`);
  assert.ok(rgbAt(image, 4, 4)[0] < 60, 'top-left should be dark');
  assert.ok(rgbAt(image, 12, 28)[0] < 60, 'bottom-right should be dark');
  assert.ok(image.source.exif !== null);

  for (const format of ['jpg', 'png', 'webp', 'tif'] as const) {
    const output = file(`rotated-out.${format}`);
    await encodeImage(rasterOf(image, 8), image.source, { path: output, format });
    const metadata = await sharp(output).metadata();
    assert.equal(metadata.width, 16, format);
    assert.equal(metadata.height, 32, format);
    assert.ok(
      metadata.orientation === undefined || metadata.orientation === 1,
      `${format} orientation ${metadata.orientation}`,
    );
    if (format !== 'tif') assert.ok(metadata.exif !== undefined, `${format} keeps EXIF`);
    // The container we spliced EXIF into must still decode.
    const [red] = [...(await rawPixels(output)).data.subarray((4 * 16 + 12) * 3, (4 * 16 + 12) * 3 + 1)];
    assert.ok((red as number) > 180, `${format} pixels decode after the EXIF splice, got red ${red}`);
  }
});

test('exifWithOrientationReset sets orientation 1 and leaves the rest alone', async () => {
  const input = file('exif.jpg');
  await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
    .withMetadata({ orientation: 8 })
    .jpeg()
    .toFile(input);
  const exif = (await sharp(input).metadata()).exif;
  assert.ok(exif !== undefined);
  const reset = exifWithOrientationReset(exif);
  assert.ok(reset !== null);
  assert.equal(reset.length, exif.length);
  assert.notDeepEqual(reset, exif);
  assert.equal(exifWithOrientationReset(Buffer.from('not exif at all')), null);
});

test('a Display P3 PNG decodes to sRGB and is written back in P3 with identical ICC bytes', async () => {
  const input = file('p3.png');
  const srgb = Buffer.from([20, 200, 40, 220, 40, 30, 128, 128, 128]);
  await sharp(srgb, { raw: { width: 3, height: 1, channels: 3 } })
    .withIccProfile('p3')
    .png()
    .toFile(input);
  const sourceIcc = (await sharp(input).metadata()).icc;
  assert.ok(sourceIcc !== undefined);
  const stored = (await rawPixels(input, { ignoreIcc: true })).data;
  assert.ok((stored[0] as number) - 20 > 30, `the stored P3 values differ from sRGB, got red ${stored[0]} for sRGB 20`);

  const image = await decodeFile(input, LIMITS);
  assert.ok(image.source.icc !== null && image.source.icc.equals(sourceIcc));
  const decoded = [...rgbAt(image, 0, 0), ...rgbAt(image, 1, 0)];
  decoded.forEach((v, i) =>
    assert.ok(Math.abs(v - (srgb[i] as number)) <= 3, `channel ${i}: decoded ${v}, sRGB ${srgb[i]}`),
  );

  const output = file('p3-out.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  const outputIcc = (await sharp(output).metadata()).icc;
  assert.ok(outputIcc !== undefined && outputIcc.equals(sourceIcc), 'ICC bytes identical');
  const written = (await rawPixels(output, { ignoreIcc: true })).data;
  stored.forEach((v, i) => assert.ok(Math.abs(v - (written[i] as number)) <= 3, `stored ${i}: ${v} vs ${written[i]}`));
});

test('an untagged source gives an untagged output', async () => {
  const input = file('untagged.png');
  await sharp({ create: { width: 2, height: 2, channels: 3, background: '#336699' } })
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.icc, null);
  const output = file('untagged-out.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  assert.equal((await sharp(output).metadata()).icc, undefined);
  assert.deepEqual([...(await rawPixels(output)).data.subarray(0, 3)], [0x33, 0x66, 0x99]);
});

test('a 16-bit PNG ramp round-trips with exact 16-bit values', async () => {
  const width = 4096;
  const samples = new Uint16Array(width * 3);
  for (let i = 0; i < width; i++) samples.set([i * 16, 65535 - i * 16, 1000 + i], i * 3);
  const input = file('ramp16.png');
  await sharp(samples, { raw: { width, height: 1, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(input);

  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.depth, 16);
  assert.equal(image.rgb[100], Math.fround(1600 / 65535));
  assert.equal(image.rgb[width + 100], Math.fround((65535 - 1600) / 65535));

  const output = file('ramp16-out.png');
  await encodeImage(rasterOf(image, 16), image.source, { path: output, format: 'png' });
  assert.equal((await sharp(output).metadata()).depth, 'ushort');
  const written = await raw16(output);
  assert.deepEqual(written, samples);
  const distinctReds = new Set<number>();
  for (let i = 0; i < width; i++) distinctReds.add(written[i * 3] as number);
  assert.ok(distinctReds.size > 256, `${distinctReds.size} distinct values`);

  const tiff = file('ramp16-out.tif');
  await encodeImage(rasterOf(image, 16), image.source, { path: tiff, format: 'tif' });
  assert.deepEqual(await raw16(tiff), samples);
});

test('a 16-bit P3 PNG decodes to sRGB (not P3) and round-trips into P3 at 16 bits', async () => {
  const input = file('p3-16.png');
  const srgb = new Uint16Array([20 * 257, 200 * 257, 40 * 257, 220 * 257, 40 * 257, 30 * 257]);
  await sharp(srgb, { raw: { width: 2, height: 1, channels: 3 } })
    .pipelineColourspace('scrgb')
    .toColourspace('rgb16')
    .withIccProfile('p3')
    .png()
    .toFile(input);
  const stored = await raw16(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.depth, 16);
  const decoded = [...rgbAt(image, 0, 0), ...rgbAt(image, 1, 0)];
  decoded.forEach((v, i) =>
    assert.ok(
      Math.abs(v - (srgb[i] as number) / 257) <= 3,
      `channel ${i}: decoded ${v}, sRGB ${(srgb[i] as number) / 257}`,
    ),
  );

  const output = file('p3-16-out.png');
  await encodeImage(rasterOf(image, 16), image.source, { path: output, format: 'png' });
  const metadata = await sharp(output).metadata();
  assert.equal(metadata.depth, 'ushort');
  assert.ok(metadata.icc !== undefined && image.source.icc !== null && metadata.icc.equals(image.source.icc));
  const written = await raw16(output);
  stored.forEach((v, i) =>
    assert.ok(Math.abs(v - (written[i] as number)) <= 3 * 257, `stored ${i}: ${v} vs ${written[i]}`),
  );
});

test('a grey PNG is written back grey', async () => {
  const input = file('grey.png');
  await sharp(Buffer.from([0, 64, 128, 255]), { raw: { width: 2, height: 2, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.grey, true);
  assert.equal(image.alpha, null);
  assert.deepEqual(rgbAt(image, 1, 0), [64, 64, 64]);
  const output = file('grey-out.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  const metadata = await sharp(output).metadata();
  assert.equal(metadata.channels, 1);
  assert.equal(metadata.space, 'b-w');
  assert.deepEqual([...(await greyPixels(output))], [0, 64, 128, 255]);
});

test('a 16-bit grey PNG is written back as 16-bit grey', async () => {
  const input = file('grey16.png');
  const samples = new Uint16Array([0, 1000, 40000, 65535]);
  await sharp(samples, { raw: { width: 2, height: 2, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.depth, 16);
  assert.equal(image.source.grey, true);
  const output = file('grey16-out.png');
  await encodeImage(rasterOf(image, 16), image.source, { path: output, format: 'png' });
  const metadata = await sharp(output).metadata();
  assert.equal(metadata.space, 'grey16');
  assert.equal(metadata.channels, 1);
  const data = await sharp(output).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  assert.deepEqual(new Uint16Array(data.buffer, data.byteOffset, 4), samples);
});

test('grey+alpha round-trips with its transparency', async () => {
  const input = file('grey-alpha.png');
  const pixels = Buffer.from([10, 0, 200, 255, 100, 128, 50, 60]);
  await sharp(pixels, { raw: { width: 4, height: 1, channels: 2 } })
    .toColourspace('b-w')
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.grey, true);
  assert.equal(image.source.hasAlpha, true);
  assert.ok(image.alpha !== null);
  assert.deepEqual(
    [...image.alpha].map((a) => Math.round(a * 255)),
    [0, 255, 128, 60],
  );
  // The transparent pixel's hidden colour is replaced by its visible neighbour's.
  assert.deepEqual(rgbAt(image, 0, 0), [200, 200, 200]);

  const output = file('grey-alpha-out.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  const metadata = await sharp(output).metadata();
  assert.equal(metadata.channels, 2);
  assert.equal(metadata.hasAlpha, true);
  const { data: written, channels } = await rawPixels(output);
  assert.equal(channels, 4);
  assert.deepEqual(
    [...written].filter((_, i) => i % 4 === 3),
    [0, 255, 128, 60],
  );
  assert.deepEqual([...written].filter((_, i) => i % 4 === 0).slice(1), [200, 100, 50]);
});

test('a palette PNG with tRNS transparency keeps its transparency', async () => {
  const input = file('palette.png');
  const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255]);
  await sharp(rgba, { raw: { width: 4, height: 1, channels: 4 } })
    .png({ palette: true, dither: 0 })
    .toFile(input);
  const inputMetadata = await sharp(input).metadata();
  assert.equal(inputMetadata.isPalette, true);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.source.palette, true);
  assert.equal(image.source.hasAlpha, true);
  assert.ok(image.alpha !== null);
  assert.equal(image.alpha[1], 0);

  const output = file('palette-out.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  const { data, channels } = await rawPixels(output);
  assert.equal(channels, 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => data[p * 4 + 3]),
    [255, 0, 255, 255],
  );
  assert.deepEqual([...data.subarray(8, 11)], [0, 0, 255]);
});

test('a CMYK JPEG decodes to sensible sRGB', async () => {
  const input = file('cmyk.jpg');
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .toColourspace('cmyk')
    .jpeg({ quality: 100 })
    .toFile(input);
  assert.equal((await sharp(input).metadata()).space, 'cmyk');
  const image = await decodeFile(input, LIMITS);
  const [r, g, b] = rgbAt(image, 4, 4);
  assert.ok(r > 160 && g < 80 && b < 80, `expected a red, got ${r},${g},${b}`);
  const output = file('cmyk-out.jpg');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'jpg' });
  assert.equal((await sharp(output).metadata()).space, 'srgb');
});

/** A bottom-up BMP with BITMAPINFOHEADER: 24-bit from RGB rows, or 8-bit from palette indices. */
function writeBmp(
  target: string,
  width: number,
  height: number,
  bitsPerPixel: 8 | 24,
  rows: number[][],
  palette: number[][] = [],
): void {
  const stride = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  const dataOffset = 54 + palette.length * 4;
  const bytes = Buffer.alloc(dataOffset + stride * height);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(dataOffset, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(width, 18);
  bytes.writeInt32LE(height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(bitsPerPixel, 28);
  bytes.writeUInt32LE(palette.length, 46);
  palette.forEach(([r, g, b], i) => bytes.set([b as number, g as number, r as number, 0], 54 + 4 * i));
  rows.forEach((row, y) => {
    const at = dataOffset + (height - 1 - y) * stride;
    if (bitsPerPixel === 8) bytes.set(row, at);
    else
      for (let x = 0; x < width; x++)
        bytes.set([row[3 * x + 2] as number, row[3 * x + 1] as number, row[3 * x] as number], at + 3 * x);
  });
  fs.writeFileSync(target, bytes);
}

test('24-bit and 8-bit BMPs decode right and are written as PNG', async () => {
  const bmp24 = file('true-colour.bmp');
  writeBmp(bmp24, 3, 2, 24, [
    [255, 0, 0, 0, 255, 0, 0, 0, 255],
    [10, 20, 30, 40, 50, 60, 70, 80, 90],
  ]);
  assert.deepEqual(pickSize(await readImageHeader(bmp24)), { width: 3, height: 2, format: 'bmp' });
  const image = await decodeFile(bmp24, LIMITS);
  assert.equal(image.source.format, 'bmp');
  assert.deepEqual(rgbAt(image, 0, 0), [255, 0, 0]);
  assert.deepEqual(rgbAt(image, 2, 0), [0, 0, 255]);
  assert.deepEqual(rgbAt(image, 1, 1), [40, 50, 60]);

  const bmp8 = file('palette.bmp');
  writeBmp(
    bmp8,
    2,
    2,
    8,
    [
      [0, 1],
      [1, 2],
    ],
    [
      [250, 10, 10],
      [10, 250, 10],
      [10, 10, 250],
    ],
  );
  const paletted = await decodeFile(bmp8, LIMITS);
  assert.equal(paletted.source.palette, true);
  assert.deepEqual(rgbAt(paletted, 0, 0), [250, 10, 10]);
  assert.deepEqual(rgbAt(paletted, 1, 0), [10, 250, 10]);
  assert.deepEqual(rgbAt(paletted, 1, 1), [10, 10, 250]);

  const output = file('from-bmp.png');
  await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'png' });
  assert.deepEqual([...(await rawPixels(output)).data.subarray(0, 6)], [255, 0, 0, 0, 255, 0]);
});

test('an animated GIF decodes its first frame, with a warning', async () => {
  const input = file('animated.gif');
  const frames = Buffer.alloc(4 * 12 * 4);
  for (let p = 0; p < 48; p++)
    frames.set(p < 16 ? [255, 0, 0, 255] : p < 32 ? [0, 255, 0, 255] : [0, 0, 255, 255], p * 4);
  await sharp(frames, { raw: { width: 4, height: 12, channels: 4, pageHeight: 4 } })
    .gif()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.equal(image.width, 4);
  assert.equal(image.height, 4);
  assert.deepEqual(rgbAt(image, 2, 2), [255, 0, 0]);
  assert.deepEqual(image.source.warnings, ['animated GIF: only the first frame of 3 is upscaled']);
  assert.equal(image.alpha, null, 'an all-opaque alpha channel is dropped');
  assert.equal(image.source.hasAlpha, false);

  const webp = file('animated.webp');
  await sharp(frames, { raw: { width: 4, height: 12, channels: 4, pageHeight: 4 } })
    .webp({ lossless: true })
    .toFile(webp);
  const webpImage = await decodeFile(webp, LIMITS);
  assert.equal(webpImage.height, 4);
  assert.deepEqual(rgbAt(webpImage, 2, 2), [255, 0, 0]);
  assert.deepEqual(webpImage.source.warnings, ['animated WebP: only the first frame of 3 is upscaled']);
});

test('AVIF output at the 16384-pixel limit is written; one pixel more is refused before encoding', async () => {
  const source = (await decodeFile(await makeSmallPng(), LIMITS)).source;
  const atLimit: Raster = {
    width: 16384,
    height: 2,
    channels: 3,
    depth: 8,
    data: new Uint8Array(16384 * 2 * 3).fill(128),
  };
  const output = file('wide.avif');
  await encodeImage(atLimit, source, { path: output, format: 'avif' });
  assert.equal((await sharp(output).metadata()).width, 16384);
  const overLimit: Raster = { width: 16385, height: 2, channels: 3, depth: 8, data: new Uint8Array(16385 * 2 * 3) };
  await assert.rejects(
    encodeImage(overLimit, source, { path: file('wider.avif'), format: 'avif' }),
    /AVIF allows at most 16384 pixels per side/,
  );
});

test('transparency and EXIF survive together in WebP and PNG', async () => {
  const input = file('alpha-exif.png');
  const rgba = Buffer.alloc(16 * 16 * 4);
  for (let p = 0; p < 256; p++) rgba.set(p < 128 ? [200, 30, 30, 255] : [30, 30, 200, 0], p * 4);
  await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } })
    .withMetadata({ orientation: 3 })
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.ok(image.alpha !== null && image.source.exif !== null);
  // Rotated 180°: the opaque red half is now at the bottom.
  assert.equal(image.alpha[0], 0);
  assert.equal(image.alpha[255], 1);
  for (const format of ['webp', 'png'] as const) {
    const output = file(`alpha-exif-out.${format}`);
    await encodeImage(rasterOf(image, 8), image.source, { path: output, format });
    const metadata = await sharp(output).metadata();
    assert.equal(metadata.hasAlpha, true, format);
    assert.equal(metadata.orientation, 1, format);
    const { data, channels } = await rawPixels(output);
    assert.equal(channels, 4);
    assert.ok(
      (data[3] as number) < 10 && (data[255 * 4 + 3] as number) > 245,
      `${format} alpha ${data[3]}, ${data[255 * 4 + 3]}`,
    );
  }
});

test('unreadable inputs fail with errors that name the file and the problem', async () => {
  const empty = file('empty.png');
  fs.writeFileSync(empty, '');
  await assert.rejects(
    decodeFile(empty, LIMITS),
    (e: Error) => e.message.includes(empty) && /empty \(0 bytes\)/.test(e.message),
  );

  const text = file('notes.png');
  fs.writeFileSync(text, 'these are not pixels');
  await assert.rejects(
    decodeFile(text, LIMITS),
    (e: Error) => e.message.includes(text) && /not an image in a supported format/.test(e.message),
  );

  // Noise does not compress, so half the file really cuts into the pixel data.
  const noise = Buffer.alloc(64 * 64 * 3);
  for (let i = 0, seed = 1; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    noise[i] = seed >>> 24;
  }
  const full = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  const truncated = file('truncated.png');
  fs.writeFileSync(truncated, full.subarray(0, Math.floor(full.length / 2)));
  await assert.rejects(
    decodeFile(truncated, LIMITS),
    (e: Error) => e.message.includes(truncated) && /damaged or truncated/.test(e.message),
  );

  // sharp says "Input file has corrupt header: " and libvips adds nothing for this one: the
  // message must not end in a dangling colon.
  const header = file('corrupt-header.png');
  fs.writeFileSync(
    header,
    Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('this is not really an image '.repeat(40))]),
  );
  await assert.rejects(decodeFile(header, LIMITS), {
    message: `Cannot decode '${header}': the file is damaged or truncated (decoder said: Input file has corrupt header).`,
  });

  await assert.rejects(
    decodeFile(dir, LIMITS),
    (e: Error) => e.message.includes(dir) && /is a folder, not an image file/.test(e.message),
  );
  await assert.rejects(readImageHeader(dir), /is a folder/);

  const missing = file('missing.png');
  await assert.rejects(
    decodeFile(missing, LIMITS),
    (e: Error) => e.message.includes(missing) && /does not exist/.test(e.message),
  );
});

test('an image over the pixel limit is refused with its size and the limit', async () => {
  const input = file('big.png');
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000' } })
    .png()
    .toFile(input);
  await assert.rejects(
    decodeFile(input, { maxInputPixels: 50_000 }),
    (e: Error) =>
      e.message.includes(input) && e.message.includes('300x200') && e.message.includes('limit of 50000 pixels'),
  );
});

test('encode refuses sizes a format cannot hold and rasters of the wrong length', async () => {
  const source = (await decodeFile(await makeSmallPng(), LIMITS)).source;
  const wide: Raster = { width: 16384, height: 1, channels: 3, depth: 8, data: new Uint8Array(16384 * 3) };
  const webp = file('too-wide.webp');
  await assert.rejects(
    encodeImage(wide, source, { path: webp, format: 'webp' }),
    /WebP allows at most 16383 pixels per side\. Choose PNG or TIFF/,
  );
  assert.equal(fs.existsSync(webp), false);
  const short: Raster = { width: 4, height: 4, channels: 3, depth: 8, data: new Uint8Array(47) };
  await assert.rejects(
    encodeImage(short, source, { path: file('short.png'), format: 'png' }),
    /needs 48 samples, got 47/,
  );
  const mistyped: Raster = { width: 1, height: 1, channels: 3, depth: 16, data: new Uint8Array(3) };
  await assert.rejects(
    encodeImage(mistyped, source, { path: file('typed.png'), format: 'png' }),
    /16-bit pixels must be a Uint16Array/,
  );
});

async function makeSmallPng(): Promise<string> {
  const input = file('small.png');
  await sharp({ create: { width: 2, height: 2, channels: 3, background: '#102030' } })
    .png()
    .toFile(input);
  return input;
}

test('encode writes exactly the target path, whatever its extension, in the requested format', async () => {
  const image = await decodeFile(await makeSmallPng(), LIMITS);
  const target = file('partial-output.tmp');
  await encodeImage(rasterOf(image, 8), image.source, { path: target, format: 'jpg', quality: 80 });
  assert.equal((await sharp(target).metadata()).format, 'jpeg');
  await assert.rejects(
    encodeImage(rasterOf(image, 8), image.source, { path: target, format: 'jpg', quality: 0 }),
    /whole number from 1 to 100/,
  );
});

test('transparency written to JPEG is flattened onto white, with a warning', async () => {
  const input = file('alpha.png');
  await sharp(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), { raw: { width: 2, height: 1, channels: 4 } })
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  const output = file('alpha.jpg');
  const result = await encodeImage(rasterOf(image, 8), image.source, { path: output, format: 'jpg' });
  assert.match(result.warnings.join('\n'), /JPEG cannot store transparency/);
  const { data } = await rawPixels(output);
  assert.ok((data[0] as number) > 245, `flattened to white, got ${data[0]}`);
});

test('XMP metadata is kept', async () => {
  const input = file('xmp.png');
  const xmp =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Upscale test</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>';
  await sharp({ create: { width: 2, height: 2, channels: 3, background: '#102030' } })
    .withXmp(xmp)
    .png()
    .toFile(input);
  const image = await decodeFile(input, LIMITS);
  assert.ok(image.source.xmp !== null);
  for (const format of ['png', 'jpg', 'webp'] as const) {
    const output = file(`xmp-out.${format}`);
    await encodeImage(rasterOf(image, 8), image.source, { path: output, format });
    assert.match((await sharp(output).metadata()).xmpAsString ?? '', /Upscale test/, format);
  }
});

/** A minimal ICC v2 grey display profile with a pure gamma curve, as scanners and Photoshop write. */
function greyGammaProfile(gamma: number): Buffer {
  const fixed = (v: number): number => Math.round(v * 65536);
  const desc = Buffer.alloc(96);
  desc.write('desc', 0, 'latin1');
  desc.writeUInt32BE(5, 8);
  desc.write('Grey', 12, 'latin1');
  const whitePoint = Buffer.alloc(20);
  whitePoint.write('XYZ ', 0, 'latin1');
  [0.9642, 1, 0.8249].forEach((v, i) => whitePoint.writeInt32BE(fixed(v), 8 + 4 * i));
  const curve = Buffer.alloc(16);
  curve.write('curv', 0, 'latin1');
  curve.writeUInt32BE(1, 8);
  curve.writeUInt16BE(Math.round(gamma * 256), 12);
  const copyright = Buffer.alloc(16);
  copyright.write('text', 0, 'latin1');
  copyright.write('none', 8, 'latin1');
  const tags: Array<[string, Buffer]> = [
    ['desc', desc],
    ['wtpt', whitePoint],
    ['kTRC', curve],
    ['cprt', copyright],
  ];
  const header = Buffer.alloc(128 + 4 + 12 * tags.length);
  let offset = header.length;
  tags.forEach(([signature, body], i) => {
    header.write(signature, 132 + 12 * i, 'latin1');
    header.writeUInt32BE(offset, 136 + 12 * i);
    header.writeUInt32BE(body.length, 140 + 12 * i);
    offset += body.length;
  });
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntr', 12, 'latin1');
  header.write('GRAY', 16, 'latin1');
  header.write('XYZ ', 20, 'latin1');
  header.write('acsp', 36, 'latin1');
  [0.9642, 1, 0.8249].forEach((v, i) => header.writeInt32BE(fixed(v), 68 + 4 * i));
  header.writeUInt32BE(tags.length, 128);
  return Buffer.concat([header, ...tags.map(([, body]) => body)]);
}

test('a grey PNG with a grey ICC profile decodes to sRGB and keeps its profile, at 8 and 16 bits', async () => {
  const profile = file('grey-gamma-1.8.icc');
  fs.writeFileSync(profile, greyGammaProfile(1.8));
  const srgbGrey = [0, 64, 128, 255];

  const input8 = file('grey-tagged.png');
  await sharp(Buffer.from(srgbGrey), { raw: { width: 4, height: 1, channels: 1 } })
    .withIccProfile(profile)
    .png()
    .toFile(input8);
  const stored8 = [...(await sharp(input8, { ignoreIcc: true }).toColourspace('b-w').raw().toBuffer())];
  assert.ok(Math.abs((stored8[1] as number) - 64) > 8, `gamma 1.8 stores a different grey, got ${stored8[1]}`);
  const image8 = await decodeFile(input8, LIMITS);
  assert.equal(image8.source.grey, true);
  srgbGrey.forEach((v, x) =>
    assert.ok(Math.abs(rgbAt(image8, x, 0)[0] - v) <= 2, `pixel ${x}: ${rgbAt(image8, x, 0).join(',')} vs ${v}`),
  );
  const output8 = file('grey-tagged-out.png');
  const result = await encodeImage(rasterOf(image8, 8), image8.source, { path: output8, format: 'png' });
  assert.deepEqual(result.warnings, []);
  const metadata8 = await sharp(output8).metadata();
  assert.equal(metadata8.channels, 1);
  assert.ok(metadata8.icc !== undefined && metadata8.icc.equals(fs.readFileSync(profile)), 'grey ICC bytes identical');
  const written8 = [...(await sharp(output8, { ignoreIcc: true }).toColourspace('b-w').raw().toBuffer())];
  stored8.forEach((v, i) =>
    assert.ok(Math.abs(v - (written8[i] as number)) <= 2, `stored ${i}: ${v} vs ${written8[i]}`),
  );

  const input16 = file('grey16-tagged.png');
  await sharp(new Uint16Array(srgbGrey.map((v) => v * 257)), { raw: { width: 4, height: 1, channels: 1 } })
    .toColourspace('grey16')
    .withIccProfile(profile)
    .png()
    .toFile(input16);
  const image16 = await decodeFile(input16, LIMITS);
  assert.equal(image16.source.depth, 16);
  srgbGrey.forEach((v, x) =>
    assert.ok(
      Math.abs(rgbAt(image16, x, 0)[0] - v) <= 2,
      `16-bit pixel ${x}: ${rgbAt(image16, x, 0).join(',')} vs ${v}`,
    ),
  );
  const output16 = file('grey16-tagged-out.png');
  await encodeImage(rasterOf(image16, 16), image16.source, { path: output16, format: 'png' });
  const metadata16 = await sharp(output16).metadata();
  assert.equal(metadata16.space, 'grey16');
  assert.ok(metadata16.icc !== undefined && metadata16.icc.equals(fs.readFileSync(profile)));
  const stored16 = await sharp(input16, { ignoreIcc: true })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer();
  const written16 = await sharp(output16, { ignoreIcc: true })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer();
  for (let i = 0; i < 4; i++) {
    const a = stored16.readUInt16LE(2 * i);
    const b = written16.readUInt16LE(2 * i);
    assert.ok(Math.abs(a - b) <= 2 * 257, `16-bit stored ${i}: ${a} vs ${b}`);
  }
});

test('AVIF and 16-bit TIFF inputs decode, and keep their format by default', async () => {
  const avif = file('photo.avif');
  await sharp({ create: { width: 8, height: 6, channels: 3, background: '#4080c0' } })
    .avif({ quality: 90 })
    .toFile(avif);
  assert.deepEqual(pickSize(await readImageHeader(avif)), { width: 8, height: 6, format: 'avif' });
  const avifImage = await decodeFile(avif, LIMITS);
  assert.equal(avifImage.source.format, 'avif');
  const [r, g, b] = rgbAt(avifImage, 4, 3);
  assert.ok(
    Math.abs(r - 0x40) <= 6 && Math.abs(g - 0x80) <= 6 && Math.abs(b - 0xc0) <= 6,
    `AVIF colour ${r},${g},${b}`,
  );

  const tiff = file('scan.tif');
  const samples = new Uint16Array([0, 300, 65535, 1234, 40000, 7]);
  // sharp's default TIFF compression is JPEG, which is 8-bit only.
  await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } })
    .toColourspace('rgb16')
    .tiff({ compression: 'lzw' })
    .toFile(tiff);
  const tiffImage = await decodeFile(tiff, LIMITS);
  assert.equal(tiffImage.source.format, 'tiff');
  assert.equal(tiffImage.source.depth, 16);
  assert.equal(tiffImage.rgb[0 * 2 + 0], 0);
  assert.equal(tiffImage.rgb[1 * 2 + 0], Math.fround(300 / 65535));
  assert.equal(tiffImage.rgb[0 * 2 + 1], Math.fround(1234 / 65535));
});
