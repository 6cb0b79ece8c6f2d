import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { bleedColour } from './alpha';
import { outside } from './checked';
import { DaemonError } from '../../contract/errors';
import { BmpFormatError, decodeBmp, isBmp, readBmpHeader } from './bmp';
import type { DecodedImage, DecodeLimits, ImageHeader, SourceInfo } from './types';

/** One file's header as read: the facts, and sharp's metadata for its decoder (null for a BMP, which bmp.ts decodes whole). */
export interface ImageFileHeader extends ImageHeader {
  readonly path: string;
  readonly metadata: sharp.Metadata | null;
}

/** Decoders that give 16 bits or more per sample; we carry all of them as 16. */
const HIGH_DEPTHS: ReadonlySet<string> = new Set(['ushort', 'short', 'uint', 'int', 'float', 'double']);

const ANIMATED_FORMATS: ReadonlySet<string> = new Set(['gif', 'webp', 'png']);

/** Enough for the largest BMP header plus masks and a 256-colour palette. */
const BMP_HEADER_BYTES = 2048;

const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  gif: 'GIF',
  webp: 'WebP',
  png: 'PNG',
  tiff: 'TIFF',
  heif: 'HEIF',
  avif: 'AVIF',
};

const READABLE_FORMATS_HINT = 'PNG, JPEG, WebP, TIFF, AVIF, HEIF, GIF or BMP';

/** Tag of the EXIF orientation field in IFD0. */
const EXIF_ORIENTATION_TAG = 0x0112;
const EXIF_TYPE_SHORT = 3;

/**
 * Reads the header once: upright dimensions, format, possible transparency and sample
 * depth for planning and size ceilings, and what `decodeImage` needs to decode the pixels
 * without reading the header again. Fails with a DaemonError naming the file.
 */
export async function readImageHeader(file: string): Promise<ImageFileHeader> {
  try {
    await checkIsReadableFile(file);
    if (await startsLikeBmp(file)) {
      const header = readBmpHeaderOf(file, await readFirstBytes(file, BMP_HEADER_BYTES));
      const { width, height } = header;
      return {
        path: file,
        width,
        height,
        format: 'bmp',
        hasAlpha: header.bitsPerPixel === 32,
        depth: 8,
        metadata: null,
      };
    }
    const metadata = await readMetadata(file);
    return {
      path: file,
      width: metadata.autoOrient.width,
      height: metadata.autoOrient.height,
      format: formatName(metadata),
      hasAlpha: metadata.hasAlpha,
      depth: HIGH_DEPTHS.has(metadata.depth) || (metadata.bitsPerSample ?? 8) > 8 ? 16 : 8,
      metadata,
    };
  } catch (error) {
    throw decodeError(file, error);
  }
}

/**
 * Reads an image into upright planar sRGB floats for the engine, and records in `source`
 * what the encoder needs to restore (profile, depth, grey, alpha, metadata).
 * Fails with a DaemonError naming the file when it is damaged or truncated (DecodeFailed),
 * or larger than `limits.maxInputPixels` (ImageTooLarge); a missing, empty or unreadable
 * file fails in readImageHeader.
 */
export async function decodeImage(header: ImageFileHeader, limits: DecodeLimits): Promise<DecodedImage> {
  const maxPixels = limits.maxInputPixels;
  try {
    if (!Number.isInteger(maxPixels) || maxPixels < 1) {
      throw new Error(`maxInputPixels must be a whole number of pixels, at least 1; got ${maxPixels}.`);
    }
    checkPixelLimit(header.path, header.width, header.height, maxPixels);
    return header.metadata === null
      ? await decodeBmpFile(header.path)
      : await decodeWithSharp(header, header.metadata, maxPixels);
  } catch (error) {
    throw decodeError(header.path, error);
  }
}

async function decodeWithSharp(
  header: ImageFileHeader,
  metadata: sharp.Metadata,
  maxPixels: number,
): Promise<DecodedImage> {
  const { path: file, format, depth } = header;
  const warnings: string[] = [];
  const pages = metadata.pages ?? 1;
  if (pages > 1) warnings.push(multiFrameWarning(format, pages));
  const grey = metadata.channels - (metadata.hasAlpha ? 1 : 0) === 1;
  const icc = metadata.icc ?? null;
  const exif = metadata.exif === undefined ? null : exifWithOrientationReset(metadata.exif);
  if (metadata.exif !== undefined && exif === null) {
    warnings.push('the EXIF metadata is malformed, so it is not copied to the output');
  }

  // No `page` option: sharp's default is the first frame, or the primary image of a HEIF.
  let pipeline = sharp(file, { limitInputPixels: maxPixels, autoOrient: true, failOn: 'truncated', pages: 1 });
  if (depth === 16 && icc !== null) {
    // sharp imports 16-bit RGB tagged images into Display P3, not sRGB (its processing space
    // for RGB16), and does not import 16-bit grey ones at all. Asking for an sRGB output
    // profile makes it finish the conversion to sRGB, at 16 bits.
    pipeline = pipeline.withIccProfile('srgb', { attach: false }).toColourspace(grey ? 'grey16' : 'rgb16');
  } else {
    pipeline = pipeline.toColourspace(depth === 16 ? 'rgb16' : 'srgb');
  }
  pipeline = depth === 16 ? pipeline.raw({ depth: 'ushort' }) : pipeline.raw();

  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeFailure(file, error, maxPixels);
  }
  const { data, info } = decoded;
  const channels = info.channels;
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new DaemonError(
      'DecodeFailed',
      `Cannot decode '${file}': it decoded to ${String(channels)} channels; expected grey, RGB, with or without alpha.`,
      file,
    );
  }
  const samples = depth === 16 ? asUint16(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const planes = toPlanes(samples, info.width, info.height, channels, depth);
  const source: SourceInfo = {
    path: file,
    format,
    depth,
    grey,
    hasAlpha: planes.alpha !== null,
    palette: metadata.isPalette,
    icc,
    exif,
    xmp: metadata.xmp ?? null,
    warnings,
  };
  return { width: info.width, height: info.height, rgb: planes.rgb, alpha: planes.alpha, source };
}

/** A failure while reading `file` as a DaemonError: typed ones as they are, anything else (a read error, a broken invariant) as DecodeFailed naming the file. */
function decodeError(file: string, error: unknown): DaemonError {
  if (error instanceof DaemonError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DaemonError('DecodeFailed', message.includes(file) ? message : `${file}: ${message}`, file);
}

/**
 * Splits interleaved grey, grey+alpha, RGB or RGBA samples into planar RGB (+ alpha) floats
 * in [0,1]; a lookup table keeps it exact (sample / max) and cheap. Alpha-0 colour is then
 * replaced by nearby visible colour (see bleedColour).
 */
export function toPlanes(
  samples: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  depth: 8 | 16,
): { rgb: Float32Array; alpha: Float32Array | null } {
  const n = width * height;
  if (samples.length !== n * channels) {
    throw new Error(
      `Expected ${n * channels} samples for a ${width}x${height} image with ${channels} channels, got ${samples.length}.`,
    );
  }
  const max = depth === 16 ? 65535 : 255;
  const table = new Float32Array(max + 1);
  for (let v = 0; v <= max; v++) table[v] = v / max;
  const rgb = new Float32Array(3 * n);
  const alpha = channels === 2 || channels === 4 ? new Float32Array(n) : null;
  // Past the end, a sample reads undefined and so does its table entry.
  const grey = channels < 3;
  const alphaAt = grey ? 1 : 3;
  for (let p = 0, s = 0; p < n; p++, s += channels) {
    const r = table[samples[s] ?? -1];
    const g = grey ? r : table[samples[s + 1] ?? -1];
    const b = grey ? r : table[samples[s + 2] ?? -1];
    const a = alpha === null ? 1 : table[samples[s + alphaAt] ?? -1];
    if (r === undefined || g === undefined || b === undefined || a === undefined) throw outside('toPlanes', s);
    rgb[p] = r;
    rgb[n + p] = g;
    rgb[2 * n + p] = b;
    if (alpha !== null) alpha[p] = a;
  }
  if (alpha === null) return { rgb, alpha };
  // An alpha channel that is fully opaque everywhere (common in GIFs and RGBA exports)
  // carries nothing; dropping it spares the engine and the output an empty channel.
  let opaque = true;
  for (let p = 0; p < n && opaque; p++) opaque = alpha[p] === 1;
  if (opaque) return { rgb, alpha: null };
  bleedColour(rgb, alpha, width, height);
  return { rgb, alpha };
}

/**
 * A copy of `exif` with the orientation set to 1 (upright), because the decoded pixels are
 * already rotated: keeping the old value would make viewers rotate the output a second time.
 * Returns null when the EXIF cannot be parsed, since copying it blindly could do exactly that.
 */
export function exifWithOrientationReset(exif: Buffer): Buffer | null {
  const copy = Buffer.from(exif);
  const tiffStart = copy.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  if (copy.length < tiffStart + 8) return null;
  const order = copy.subarray(tiffStart, tiffStart + 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const u16 = (at: number): number => (little ? copy.readUInt16LE(at) : copy.readUInt16BE(at));
  const u32 = (at: number): number => (little ? copy.readUInt32LE(at) : copy.readUInt32BE(at));
  if (u16(tiffStart + 2) !== 42) return null;
  const ifd0 = tiffStart + u32(tiffStart + 4);
  if (ifd0 + 2 > copy.length) return null;
  const entries = u16(ifd0);
  if (ifd0 + 2 + entries * 12 > copy.length) return null;
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (u16(entry) !== EXIF_ORIENTATION_TAG) continue;
    if (u16(entry + 2) !== EXIF_TYPE_SHORT) return null;
    // A SHORT value sits left-justified in the 4-byte value field.
    if (little) copy.writeUInt16LE(1, entry + 8);
    else copy.writeUInt16BE(1, entry + 8);
  }
  return copy;
}

/** 16-bit samples over the same memory when it is 2-byte aligned, as sharp's buffers are; a copy otherwise. */
function asUint16(data: Buffer): Uint16Array {
  if (data.byteOffset % 2 === 0) return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const aligned = new Uint8Array(data.byteLength);
  aligned.set(data);
  return new Uint16Array(aligned.buffer);
}

async function decodeBmpFile(file: string): Promise<DecodedImage> {
  const bytes = await fs.readFile(file);
  let image;
  try {
    image = decodeBmp(bytes);
  } catch (error) {
    throw bmpFailure(file, error);
  }
  const planes = toPlanes(image.data, image.width, image.height, image.channels, 8);
  const source: SourceInfo = {
    path: file,
    format: 'bmp',
    depth: 8,
    grey: false,
    hasAlpha: planes.alpha !== null,
    palette: image.palette,
    icc: null,
    exif: null,
    xmp: null,
    warnings: [],
  };
  return { width: image.width, height: image.height, rgb: planes.rgb, alpha: planes.alpha, source };
}

function readBmpHeaderOf(file: string, bytes: Buffer): ReturnType<typeof readBmpHeader> {
  try {
    return readBmpHeader(bytes);
  } catch (error) {
    throw bmpFailure(file, error);
  }
}

function bmpFailure(file: string, error: unknown): unknown {
  if (error instanceof BmpFormatError)
    return new DaemonError('DecodeFailed', `Cannot read BMP image '${file}': ${error.message}`, file);
  return error;
}

async function checkIsReadableFile(file: string): Promise<void> {
  let stats;
  try {
    stats = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DaemonError(
        'InputNotFound',
        `Cannot read image '${file}': the file does not exist. Check the path.`,
        file,
      );
    if (code === 'EACCES' || code === 'EPERM')
      throw new DaemonError('DecodeFailed', `Cannot read image '${file}': permission denied.`, file);
    throw new DaemonError('DecodeFailed', `Cannot read image '${file}': ${(error as Error).message}`, file);
  }
  if (stats.isDirectory()) {
    throw new DaemonError(
      'DecodeFailed',
      `'${file}' is a folder, not an image file. Choose a ${READABLE_FORMATS_HINT} file.`,
      file,
    );
  }
  if (!stats.isFile())
    throw new DaemonError(
      'DecodeFailed',
      `'${file}' is not a regular file. Choose a ${READABLE_FORMATS_HINT} file.`,
      file,
    );
  if (stats.size === 0) {
    throw new DaemonError(
      'DecodeFailed',
      `Cannot read image '${file}': the file is empty (0 bytes). It may be an unfinished download or copy.`,
      file,
    );
  }
}

async function startsLikeBmp(file: string): Promise<boolean> {
  return isBmp(await readFirstBytes(file, 2));
}

async function readFirstBytes(file: string, count: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(count);
    const { bytesRead } = await handle.read(head, 0, count, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readMetadata(file: string): Promise<sharp.Metadata> {
  try {
    // The pixel limit is checked by us with a clearer message, so sharp must not refuse first.
    return await sharp(file, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw decodeFailure(file, error, null);
  }
}

/**
 * A library's message on one line, without the separator it leaves when its own detail is
 * empty: sharp says "Input file has corrupt header: " followed by libvips' text, which is
 * empty for some files.
 */
function libraryText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\s:]+$/, '')
    .trim();
}

/** " (decoder said: …)", or nothing when the decoder said nothing. */
function saying(detail: string): string {
  return detail === '' ? '' : ` (decoder said: ${detail})`;
}

/** What libvips said, as a DaemonError naming the file. It gives only text, so its cause is read from that, here and nowhere else. */
function decodeFailure(file: string, error: unknown, maxPixels: number | null): DaemonError {
  const detail = libraryText(error);
  if (/unsupported image format/i.test(detail)) {
    return new DaemonError(
      'DecodeFailed',
      `Cannot read '${file}': it is not an image in a supported format (${READABLE_FORMATS_HINT}).`,
      file,
    );
  }
  // A size over one of libvips' own limits is reported in these words: too large, not damaged.
  const code = /pixel limit|too large|exceeds/i.test(detail) ? 'ImageTooLarge' : 'DecodeFailed';
  if (/unsupported (codec|feature|compression)|compression .* not supported/i.test(detail)) {
    return new DaemonError(
      code,
      `Cannot decode '${file}': it uses a compression this build cannot decode${saying(detail)}. ` +
        'Convert it to PNG or JPEG first.',
      file,
    );
  }
  if (/pixel limit/i.test(detail) && maxPixels !== null) {
    return new DaemonError(
      'ImageTooLarge',
      `Cannot read '${file}': it is larger than the limit of ${maxPixels} pixels.`,
      file,
    );
  }
  return new DaemonError(code, `Cannot decode '${file}': the file is damaged or truncated${saying(detail)}.`, file);
}

function checkPixelLimit(file: string, width: number, height: number, maxPixels: number): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new DaemonError(
      'ImageTooLarge',
      `'${file}' is ${width}x${height} (${(pixels / 1e6).toFixed(1)} megapixels), more than the limit of ` +
        `${maxPixels} pixels (${(maxPixels / 1e6).toFixed(1)} megapixels). Downscale it first or raise the input pixel limit.`,
      file,
    );
  }
}

function formatName(metadata: sharp.Metadata): string {
  if (metadata.format === 'heif') return metadata.compression === 'av1' ? 'avif' : 'heif';
  return metadata.format;
}

function multiFrameWarning(format: string, pages: number): string {
  const name = DISPLAY_NAMES[format] ?? format.toUpperCase();
  if (ANIMATED_FORMATS.has(format)) return `animated ${name}: only the first frame of ${pages} is upscaled`;
  return `${name} with ${pages} pages or images: only the first is upscaled`;
}
