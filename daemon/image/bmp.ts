// libvips as shipped with sharp cannot read BMP, and BMP is still common from screenshots and
// old tools. This covers the uncompressed variants; compressed ones are refused by name.

export class BmpFormatError extends Error {
  override name = 'BmpFormatError';
}

export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
  readonly topDown: boolean;
  readonly compression: number;
  readonly dataOffset: number;
  readonly headerSize: number;
  readonly paletteOffset: number;
  readonly paletteEntrySize: 3 | 4;
  readonly paletteSize: number;
  readonly masks: ChannelMasks | null;
}

interface ChannelMasks {
  readonly red: number;
  readonly green: number;
  readonly blue: number;
  readonly alpha: number;
}

export interface BmpImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  /** Interleaved RGB or RGBA, 8 bits per sample, top row first. */
  readonly data: Uint8Array;
  readonly palette: boolean;
  readonly hasAlpha: boolean;
  readonly bitsPerPixel: number;
}

const COMPRESSION_NONE = 0;
const COMPRESSION_RLE8 = 1;
const COMPRESSION_RLE4 = 2;
const COMPRESSION_BITFIELDS = 3;
const COMPRESSION_JPEG = 4;
const COMPRESSION_PNG = 5;
const COMPRESSION_ALPHABITFIELDS = 6;

const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  [COMPRESSION_RLE8]: 'RLE8 compression',
  [COMPRESSION_RLE4]: 'RLE4 compression',
  [COMPRESSION_JPEG]: 'embedded JPEG',
  [COMPRESSION_PNG]: 'embedded PNG',
};

const RESAVE_ADVICE = 'Re-save it as an uncompressed 24-bit BMP or as PNG.';

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

export function readBmpHeader(bytes: Uint8Array): BmpHeader {
  const view = bytesView(bytes);
  if (!isBmp(bytes)) throw new BmpFormatError('it does not start with the BMP signature "BM".');
  if (bytes.length < 26)
    throw new BmpFormatError(`it is only ${bytes.length} bytes long, too short for a BMP header (truncated file?).`);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize === 12) {
    // OS/2 1.x core header: 16-bit sizes, 3-byte palette entries.
    const width = view.getUint16(18, true);
    const height = view.getUint16(20, true);
    const bitsPerPixel = view.getUint16(24, true);
    return validated(
      {
        width,
        height,
        bitsPerPixel,
        topDown: false,
        compression: COMPRESSION_NONE,
        dataOffset,
        headerSize,
        paletteOffset: 14 + headerSize,
        paletteEntrySize: 3,
        paletteSize: bitsPerPixel <= 8 ? 1 << bitsPerPixel : 0,
        masks: null,
      },
      bytes.length,
    );
  }
  if (![40, 52, 56, 108, 124].includes(headerSize)) {
    throw new BmpFormatError(`its header variant (${headerSize} bytes) is not supported. ${RESAVE_ADVICE}`);
  }
  if (bytes.length < 14 + headerSize) throw new BmpFormatError('its header is cut short (truncated file?).');
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const coloursUsed = view.getUint32(46, true);
  const compressionName = COMPRESSION_NAMES[compression];
  if (compressionName !== undefined) {
    throw new BmpFormatError(
      `it uses ${compressionName}, which is not supported (only uncompressed BMP is). ${RESAVE_ADVICE}`,
    );
  }
  if (
    compression !== COMPRESSION_NONE &&
    compression !== COMPRESSION_BITFIELDS &&
    compression !== COMPRESSION_ALPHABITFIELDS
  ) {
    throw new BmpFormatError(`it uses compression type ${compression}, which is not supported. ${RESAVE_ADVICE}`);
  }
  let masks: ChannelMasks | null = null;
  let paletteOffset = 14 + headerSize;
  if (compression === COMPRESSION_BITFIELDS || compression === COMPRESSION_ALPHABITFIELDS) {
    if (bitsPerPixel !== 16 && bitsPerPixel !== 32) {
      throw new BmpFormatError(
        `it declares bit-field masks with ${bitsPerPixel} bits per pixel; masks need 16 or 32. ${RESAVE_ADVICE}`,
      );
    }
    // A 40-byte header keeps its masks just after it; larger headers hold them inside.
    const maskOffset = 14 + 40;
    const maskCount = headerSize > 40 ? (headerSize >= 56 ? 4 : 3) : compression === COMPRESSION_ALPHABITFIELDS ? 4 : 3;
    if (bytes.length < maskOffset + 4 * maskCount)
      throw new BmpFormatError('its colour masks are cut short (truncated file?).');
    masks = {
      red: view.getUint32(maskOffset, true),
      green: view.getUint32(maskOffset + 4, true),
      blue: view.getUint32(maskOffset + 8, true),
      alpha: maskCount === 4 ? view.getUint32(maskOffset + 12, true) : 0,
    };
    if (headerSize === 40) paletteOffset += 4 * maskCount;
  } else if (bitsPerPixel === 16) {
    masks = { red: 0x7c00, green: 0x03e0, blue: 0x001f, alpha: 0 };
  }
  const paletteSize =
    bitsPerPixel <= 8 ? (coloursUsed > 0 ? Math.min(coloursUsed, 1 << bitsPerPixel) : 1 << bitsPerPixel) : 0;
  return validated(
    {
      width,
      height: Math.abs(rawHeight),
      bitsPerPixel,
      topDown: rawHeight < 0,
      compression,
      dataOffset,
      headerSize,
      paletteOffset,
      paletteEntrySize: 4,
      paletteSize,
      masks,
    },
    bytes.length,
  );
}

function validated(header: BmpHeader, fileLength: number): BmpHeader {
  if (![1, 4, 8, 16, 24, 32].includes(header.bitsPerPixel)) {
    throw new BmpFormatError(
      `it has ${header.bitsPerPixel} bits per pixel; expected 1, 4, 8, 16, 24 or 32. ${RESAVE_ADVICE}`,
    );
  }
  if (header.width <= 0 || header.height <= 0) {
    throw new BmpFormatError(`its size ${header.width}x${header.height} is not a valid image size.`);
  }
  if (header.paletteSize > 0 && header.paletteOffset + header.paletteSize * header.paletteEntrySize > fileLength) {
    throw new BmpFormatError('its colour palette is cut short (truncated file?).');
  }
  return header;
}

export function bmpRowStride(header: BmpHeader): number {
  return Math.floor((header.bitsPerPixel * header.width + 31) / 32) * 4;
}

export function decodeBmp(bytes: Uint8Array): BmpImage {
  const header = readBmpHeader(bytes);
  const { width, height, bitsPerPixel } = header;
  const stride = bmpRowStride(header);
  const needed = header.dataOffset + stride * (height - 1) + Math.ceil((bitsPerPixel * width) / 8);
  if (header.dataOffset < 14 || needed > bytes.length) {
    throw new BmpFormatError(
      `its pixel data is cut short: a ${width}x${height} ${bitsPerPixel}-bit image needs ${needed} bytes, the file has ${bytes.length} (truncated file?).`,
    );
  }
  const rowStart = (y: number): number => header.dataOffset + stride * (header.topDown ? y : height - 1 - y);
  if (bitsPerPixel <= 8) return decodePalette(bytes, header, rowStart);
  if (bitsPerPixel === 24) return decodeBgr24(bytes, header, rowStart);
  return decodeMasked(bytes, header, rowStart);
}

function decodePalette(bytes: Uint8Array, header: BmpHeader, rowStart: (y: number) => number): BmpImage {
  const { width, height, bitsPerPixel } = header;
  const file = bytesView(bytes);
  const colours = new DataView(new ArrayBuffer(256 * 3));
  for (let i = 0; i < header.paletteSize; i++) {
    const at = header.paletteOffset + i * header.paletteEntrySize;
    colours.setUint8(3 * i, file.getUint8(at + 2));
    colours.setUint8(3 * i + 1, file.getUint8(at + 1));
    colours.setUint8(3 * i + 2, file.getUint8(at));
  }
  const data = new Uint8Array(width * height * 3);
  const perByte = 8 / bitsPerPixel;
  const indexMask = (1 << bitsPerPixel) - 1;
  for (let y = 0; y < height; y++) {
    const row = rowStart(y);
    let out = y * width * 3;
    for (let x = 0; x < width; x++) {
      const byte = file.getUint8(row + Math.floor(x / perByte));
      const shift = 8 - bitsPerPixel * ((x % perByte) + 1);
      const index = (byte >> shift) & indexMask;
      // Indices past the palette are invalid; black is what most readers show.
      if (index < header.paletteSize) {
        data[out] = colours.getUint8(3 * index);
        data[out + 1] = colours.getUint8(3 * index + 1);
        data[out + 2] = colours.getUint8(3 * index + 2);
      }
      out += 3;
    }
  }
  return { width, height, channels: 3, data, palette: true, hasAlpha: false, bitsPerPixel };
}

function decodeBgr24(bytes: Uint8Array, header: BmpHeader, rowStart: (y: number) => number): BmpImage {
  const { width, height } = header;
  const file = bytesView(bytes);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    let src = rowStart(y);
    let out = y * width * 3;
    for (let x = 0; x < width; x++) {
      data[out] = file.getUint8(src + 2);
      data[out + 1] = file.getUint8(src + 1);
      data[out + 2] = file.getUint8(src);
      src += 3;
      out += 3;
    }
  }
  return { width, height, channels: 3, data, palette: false, hasAlpha: false, bitsPerPixel: 24 };
}

interface MaskField {
  readonly mask: number;
  readonly shift: number;
  readonly max: number;
}

function maskField(mask: number): MaskField {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { mask, shift, max: mask >>> shift };
}

function readField(pixel: number, field: MaskField): number {
  if (field.max === 0) return 0;
  return Math.round((((pixel & field.mask) >>> field.shift) * 255) / field.max);
}

function decodeMasked(bytes: Uint8Array, header: BmpHeader, rowStart: (y: number) => number): BmpImage {
  const { width, height, bitsPerPixel } = header;
  const view = bytesView(bytes);
  // 32-bit BI_RGB: the fourth byte is officially unused, but many writers store alpha there.
  const masks = header.masks ?? { red: 0x00ff0000, green: 0x0000ff00, blue: 0x000000ff, alpha: 0xff000000 };
  const red = maskField(masks.red);
  const green = maskField(masks.green);
  const blue = maskField(masks.blue);
  const alpha = maskField(masks.alpha);
  const bytesPerPixel = bitsPerPixel / 8;
  const data = new Uint8Array(width * height * 4);
  let anyAlphaSet = false;
  let anyTranslucent = false;
  for (let y = 0; y < height; y++) {
    let src = rowStart(y);
    let out = y * width * 4;
    for (let x = 0; x < width; x++) {
      const pixel = bytesPerPixel === 4 ? view.getUint32(src, true) : view.getUint16(src, true);
      data[out] = readField(pixel, red);
      data[out + 1] = readField(pixel, green);
      data[out + 2] = readField(pixel, blue);
      const a = readField(pixel, alpha);
      data[out + 3] = a;
      if (a !== 0) anyAlphaSet = true;
      if (a !== 255) anyTranslucent = true;
      src += bytesPerPixel;
      out += 4;
    }
  }
  // An alpha field that is zero everywhere means the writer left it unused, not that the
  // image is invisible; and one that is 255 everywhere carries nothing.
  const hasAlpha = alpha.max !== 0 && anyAlphaSet && anyTranslucent;
  if (hasAlpha) return { width, height, channels: 4, data, palette: false, hasAlpha: true, bitsPerPixel };
  const rgba = bytesView(data);
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = rgba.getUint8(q);
    rgb[p + 1] = rgba.getUint8(q + 1);
    rgb[p + 2] = rgba.getUint8(q + 2);
  }
  return { width, height, channels: 3, data: rgb, palette: false, hasAlpha: false, bitsPerPixel };
}

/** Bytes read through a DataView, whose reads throw a RangeError outside the bytes rather than give undefined. */
function bytesView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
