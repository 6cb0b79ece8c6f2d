import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import {
  adler32,
  adler32Combine,
  bands,
  ihdrChunk,
  pngChunk,
  rowBytes,
  scanlineBytes,
  averageFilter,
  type PngLayout,
} from '../../daemon/image/png-format';

test('adler32 agrees with the checksum zlib ends its own stream with, across calls', () => {
  const bytes = new Uint8Array(20_000).map((_, i) => (i * 7919) % 251);
  const stream = zlib.deflateSync(bytes);
  const expected = stream.readUInt32BE(stream.length - 4);
  assert.equal(adler32(1, bytes), expected);
  // In pieces, as the writer checks band after band.
  assert.equal(
    adler32(adler32(adler32(1, bytes.subarray(0, 3)), bytes.subarray(3, 9000)), bytes.subarray(9000)),
    expected,
  );
  assert.equal(adler32(1, new Uint8Array(0)), 1);
});

test('a chunk carries its length, type, data and the CRC of type and data', () => {
  const chunk = pngChunk('tEXt', Buffer.from('a\0b', 'latin1'));
  assert.equal(chunk.readUInt32BE(0), 3);
  assert.equal(chunk.toString('latin1', 4, 8), 'tEXt');
  assert.equal(chunk.toString('latin1', 8, 11), 'a\0b');
  assert.equal(chunk.readUInt32BE(11), zlib.crc32(chunk.subarray(4, 11)));
});

test('the header states size, depth and colour type', () => {
  const ihdr = ihdrChunk({ width: 300, height: 7, channels: 4, depth: 16 });
  assert.equal(ihdr.readUInt32BE(8), 300);
  assert.equal(ihdr.readUInt32BE(12), 7);
  assert.deepEqual([...ihdr.subarray(16, 21)], [16, 6, 0, 0, 0]);
  assert.equal(ihdrChunk({ width: 1, height: 1, channels: 3, depth: 8 })[17], 2);
});

/** The inverse of the Average filter, as a decoder applies it. */
function unAverage(filtered: Uint8Array, above: Uint8Array, bpp: number): number[] {
  const row: number[] = [];
  for (let i = 0; i < filtered.length - 1; i++) {
    const left = i >= bpp ? (row[i - bpp] as number) : 0;
    row.push(((filtered[i + 1] as number) + ((left + (above[i] as number)) >> 1)) & 0xff);
  }
  return row;
}

test('Average filtering is undone by the decoder’s inverse, on the first row (zeros above) and later ones', () => {
  const row = new Uint8Array(30).map((_, i) => (255 - i * 11) & 0xff);
  for (const bpp of [3, 4, 6, 8]) {
    for (const above of [new Uint8Array(30), new Uint8Array(30).map((_, i) => (i * 37) % 256)]) {
      const out = new Uint8Array(31);
      averageFilter(row, above, bpp, out);
      assert.equal(out[0], 3);
      assert.deepEqual(unAverage(out, above, bpp), [...row], `${bpp} bytes a pixel`);
    }
  }
  // By hand: the left byte 200 and the one above 101 predict 150.
  const out = new Uint8Array(3);
  averageFilter(new Uint8Array([200, 140]), new Uint8Array([0, 101]), 1, out);
  assert.deepEqual([...out], [3, 200, 140 - 150 + 256]);
});

test('two pieces’ Adler-32s combine into the whole’s', () => {
  const bytes = new Uint8Array(100_000).map((_, i) => (i * 31 + (i >> 7)) % 256);
  for (const cut of [0, 1, 5551, 65521, 65522, 99_999, 100_000]) {
    const [a, b] = [bytes.subarray(0, cut), bytes.subarray(cut)];
    assert.equal(adler32Combine(adler32(1, a), adler32(1, b), b.length), adler32(1, bytes), `cut at ${cut}`);
  }
});

test('bands: as many as the threads, each of the least rows or more, covering the range exactly', () => {
  assert.deepEqual(bands(0, 100, 10, 2), [
    [0, 50],
    [50, 100],
  ]);
  assert.deepEqual(bands(90, 100, 10, 4), [[90, 100]]);
  assert.deepEqual(bands(0, 25, 10, 4), [
    [0, 12],
    [12, 25],
  ]);
  assert.deepEqual(bands(5, 5, 1, 2), []);
  assert.deepEqual(bands(0, 3, 1, 4), [
    [0, 1],
    [1, 2],
    [2, 3],
  ]);
});

test('row bytes: 16-bit samples big-endian, an alpha the output does not keep left out', () => {
  const layout16: PngLayout = { width: 2, height: 1, channels: 3, depth: 16 };
  const raster = new Uint16Array([0x0102, 0x0304, 0x0506, 0xffff, 0x0a0b, 0x0c0d, 0x0e0f, 0x0000]);
  const out = new Uint8Array(scanlineBytes(layout16) - 1);
  rowBytes(raster, 4, layout16, 0, out);
  assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
  const layout8: PngLayout = { width: 2, height: 2, channels: 4, depth: 8 };
  const rgba = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  const row = new Uint8Array(8);
  rowBytes(rgba, 4, layout8, 1, row);
  assert.deepEqual([...row], [9, 10, 11, 12, 13, 14, 15, 16]);
});
