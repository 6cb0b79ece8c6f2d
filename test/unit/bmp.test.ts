import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { decodeBmp, readBmpHeader } from '../../daemon/image/bmp';

interface BmpSpec {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: 8 | 24 | 32;
  /** Top row first; [r, g, b] or [r, g, b, a] for 32-bit, [index] for 8-bit. */
  readonly rows: ReadonlyArray<ReadonlyArray<readonly number[]>>;
  readonly palette?: ReadonlyArray<readonly [number, number, number]>;
  readonly topDown?: boolean;
  readonly compression?: number;
  readonly alphaMask?: boolean;
}

/** Writes a BMP the way common tools do: BITMAPINFOHEADER, or V4 header when alpha masks are wanted. */
function bmpBytes(spec: BmpSpec): Buffer {
  const headerSize = spec.alphaMask === true ? 108 : 40;
  const paletteBytes = (spec.palette?.length ?? 0) * 4;
  const stride = Math.floor((spec.bitsPerPixel * spec.width + 31) / 32) * 4;
  const dataOffset = 14 + headerSize + paletteBytes;
  const bytes = Buffer.alloc(dataOffset + stride * spec.height);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(dataOffset, 10);
  bytes.writeUInt32LE(headerSize, 14);
  bytes.writeInt32LE(spec.width, 18);
  bytes.writeInt32LE(spec.topDown === true ? -spec.height : spec.height, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(spec.bitsPerPixel, 28);
  bytes.writeUInt32LE(spec.compression ?? (spec.alphaMask === true ? 3 : 0), 30);
  bytes.writeUInt32LE(spec.palette?.length ?? 0, 46);
  if (spec.alphaMask === true) {
    bytes.writeUInt32LE(0x00ff0000, 54);
    bytes.writeUInt32LE(0x0000ff00, 58);
    bytes.writeUInt32LE(0x000000ff, 62);
    bytes.writeUInt32LE(0xff000000, 66);
  }
  spec.palette?.forEach(([r, g, b], i) => {
    const at = 14 + headerSize + 4 * i;
    bytes[at] = b;
    bytes[at + 1] = g;
    bytes[at + 2] = r;
  });
  spec.rows.forEach((row, y) => {
    const fileRow = spec.topDown === true ? y : spec.height - 1 - y;
    let at = dataOffset + fileRow * stride;
    for (const px of row) {
      if (spec.bitsPerPixel === 8) {
        bytes[at++] = px[0] as number;
      } else {
        bytes[at++] = px[2] as number;
        bytes[at++] = px[1] as number;
        bytes[at++] = px[0] as number;
        if (spec.bitsPerPixel === 32) bytes[at++] = px[3] ?? 0;
      }
    }
  });
  return bytes;
}

const RED = [255, 0, 0] as const;
const GREEN = [0, 255, 0] as const;
const BLUE = [0, 0, 255] as const;
const WHITE = [255, 255, 255] as const;

test('24-bit bottom-up BMP decodes upright, with row padding skipped', () => {
  // Width 3 makes each 9-byte row padded to 12, so padding bugs shift colours.
  const image = decodeBmp(
    bmpBytes({
      width: 3,
      height: 2,
      bitsPerPixel: 24,
      rows: [
        [RED, GREEN, BLUE],
        [WHITE, RED, GREEN],
      ],
    }),
  );
  assert.equal(image.width, 3);
  assert.equal(image.height, 2);
  assert.equal(image.channels, 3);
  assert.equal(image.hasAlpha, false);
  assert.deepEqual([...image.data], [...RED, ...GREEN, ...BLUE, ...WHITE, ...RED, ...GREEN]);
});

test('24-bit top-down BMP (negative height) decodes upright', () => {
  const image = decodeBmp(
    bmpBytes({
      width: 2,
      height: 2,
      bitsPerPixel: 24,
      topDown: true,
      rows: [
        [RED, GREEN],
        [BLUE, WHITE],
      ],
    }),
  );
  assert.deepEqual([...image.data], [...RED, ...GREEN, ...BLUE, ...WHITE]);
});

test('8-bit palette BMP maps indices through its palette', () => {
  const palette: Array<[number, number, number]> = [
    [10, 20, 30],
    [200, 100, 50],
    [0, 0, 0],
  ];
  const image = decodeBmp(
    bmpBytes({
      width: 3,
      height: 2,
      bitsPerPixel: 8,
      palette,
      rows: [
        [[0], [1], [2]],
        [[1], [1], [0]],
      ],
    }),
  );
  assert.equal(image.palette, true);
  assert.equal(image.channels, 3);
  assert.deepEqual([...image.data], [10, 20, 30, 200, 100, 50, 0, 0, 0, 200, 100, 50, 200, 100, 50, 10, 20, 30]);
});

test('32-bit BMP with unused fourth byte decodes as opaque RGB', () => {
  const image = decodeBmp(
    bmpBytes({
      width: 2,
      height: 1,
      bitsPerPixel: 32,
      rows: [
        [
          [1, 2, 3, 0],
          [4, 5, 6, 0],
        ],
      ],
    }),
  );
  assert.equal(image.channels, 3);
  assert.equal(image.hasAlpha, false);
  assert.deepEqual([...image.data], [1, 2, 3, 4, 5, 6]);
});

test('32-bit BMP with an alpha mask keeps transparency', () => {
  const image = decodeBmp(
    bmpBytes({
      width: 2,
      height: 1,
      bitsPerPixel: 32,
      alphaMask: true,
      rows: [
        [
          [1, 2, 3, 0],
          [4, 5, 6, 255],
        ],
      ],
    }),
  );
  assert.equal(image.channels, 4);
  assert.equal(image.hasAlpha, true);
  assert.deepEqual([...image.data], [1, 2, 3, 0, 4, 5, 6, 255]);
});

test('readBmpHeader reports size without decoding pixels', () => {
  const header = readBmpHeader(bmpBytes({ width: 7, height: 5, bitsPerPixel: 24, rows: [] }));
  assert.equal(header.width, 7);
  assert.equal(header.height, 5);
  assert.equal(header.bitsPerPixel, 24);
});

test('RLE-compressed BMP is refused by name, with advice', () => {
  const bytes = bmpBytes({ width: 2, height: 2, bitsPerPixel: 8, palette: [[0, 0, 0]], compression: 1, rows: [] });
  assert.throws(
    () => decodeBmp(bytes),
    /RLE8 compression, which is not supported.*Re-save it as an uncompressed 24-bit BMP or as PNG/,
  );
});

test('a truncated BMP is refused, saying how many bytes were needed', () => {
  const bytes = bmpBytes({ width: 4, height: 4, bitsPerPixel: 24, rows: [] });
  assert.throws(
    () => decodeBmp(bytes.subarray(0, bytes.length - 10)),
    /pixel data is cut short.*needs \d+ bytes, the file has \d+/,
  );
  assert.throws(() => decodeBmp(bytes.subarray(0, 20)), /too short for a BMP header/);
});

test('unsupported bit depths and header variants are refused clearly', () => {
  const bytes = bmpBytes({ width: 2, height: 2, bitsPerPixel: 24, rows: [] });
  const twoBit = Buffer.from(bytes);
  twoBit.writeUInt16LE(2, 28);
  assert.throws(() => decodeBmp(twoBit), /2 bits per pixel; expected 1, 4, 8, 16, 24 or 32/);
  const os2v2 = Buffer.from(bytes);
  os2v2.writeUInt32LE(64, 14);
  assert.throws(() => decodeBmp(os2v2), /header variant \(64 bytes\) is not supported/);
});
