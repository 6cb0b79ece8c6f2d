import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { item } from './checked';
import { exifChunk, type PngLayout } from './png-format';
import { ALPHA_FORMATS, SIXTEEN_BIT_FORMATS, checkOutputSize, formatDisplayName } from '../../contract/formats';
import type { EncodeResult, EncodeTarget, OutputFormat, Raster, SourceInfo } from './types';

const DEFAULT_QUALITY: Readonly<Record<'jpg' | 'webp' | 'avif', number>> = {
  jpg: 92,
  webp: 90,
  // AVIF quality runs lower than JPEG for the same visual result.
  avif: 75,
};

/** sharp writes XMP only for these. */
const XMP_FORMATS: ReadonlySet<OutputFormat> = new Set<OutputFormat>(['png', 'jpg', 'webp', 'tif']);

/** We splice EXIF into these containers ourselves: sharp can only write EXIF it read from its input. */
const EXIF_FORMATS: ReadonlySet<OutputFormat> = new Set<OutputFormat>(['png', 'jpg', 'webp']);

const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1');
/** A JPEG segment holds at most 65535 bytes including its 2-byte length. */
const MAX_JPEG_EXIF = 65533;

/**
 * Writes `raster` (sRGB) to exactly `target.path` in `target.format`, restoring what the source
 * had: its ICC profile (pixels converted back into it, bytes embedded unchanged), 16-bit depth
 * for PNG/TIFF, grey, transparency, EXIF (orientation 1) and XMP where the format allows.
 * What could not be kept is listed in the returned warnings.
 */
export async function encodeImage(raster: Raster, source: SourceInfo, target: EncodeTarget): Promise<EncodeResult> {
  checkRaster(raster, target.path);
  checkOutputSize(target.format, raster.width, raster.height);
  const quality = qualityFor(target);
  const format = target.format;
  const warnings: string[] = [];

  const depth = outputDepth(raster, source, format);
  // On the source, not the raster: the pipeline hands an 8-bit raster for formats that cannot hold 16.
  if (source.depth === 16 && !SIXTEEN_BIT_FORMATS.has(format)) {
    warnings.push(
      `${formatDisplayName(format)} output is 8 bits per sample; the source had 16. Choose PNG or TIFF to keep 16 bits.`,
    );
  }

  const rasterHasAlpha = raster.channels === 4;
  const keepAlpha = keepsAlpha(raster, source, format);
  if (rasterHasAlpha && source.hasAlpha && !keepAlpha) {
    warnings.push(
      `${formatDisplayName(format)} cannot store transparency: transparent areas are filled with white. Choose PNG, WebP, TIFF or AVIF to keep it.`,
    );
  }

  const iccSpace = source.icc === null ? null : iccColourSpace(source.icc);
  // libvips converts sRGB into grey profiles too, so grey sources keep theirs.
  const embedIcc = source.icc !== null && (source.grey ? iccSpace === 'GRAY' : iccSpace === 'RGB');
  if (source.icc !== null && !embedIcc) {
    warnings.push(
      iccSpace === 'CMYK'
        ? 'the source is CMYK: the output is written as RGB (sRGB), without the CMYK profile'
        : `the source's ${iccSpace ?? 'unrecognised'} ICC profile cannot be re-applied: the output is written as sRGB without it`,
    );
  }

  let pipeline = sharp(raster.data, {
    raw: { width: raster.width, height: raster.height, channels: raster.channels },
    limitInputPixels: false,
  });
  if (raster.depth === 16 && embedIcc) {
    // sharp assumes 16-bit RGB is Display P3 when converting to an output profile; routing the
    // pipeline through scRGB makes it treat the raster as the sRGB it is, at full precision.
    pipeline = pipeline.pipelineColourspace('scrgb');
  }
  if (rasterHasAlpha && !keepAlpha) {
    pipeline = source.hasAlpha ? pipeline.flatten({ background: '#ffffff' }) : pipeline.removeAlpha();
  }
  if (source.grey) pipeline = pipeline.toColourspace(depth === 16 ? 'grey16' : 'b-w');
  else pipeline = pipeline.toColourspace(depth === 16 ? 'rgb16' : 'srgb');
  if (source.xmp !== null && source.xmp.length > 0) {
    if (XMP_FORMATS.has(format)) pipeline = pipeline.withXmp(source.xmp.toString('utf8'));
    else warnings.push(`${formatDisplayName(format)} output cannot carry the source's XMP metadata`);
  }
  pipeline = withFormat(pipeline, format, quality);

  const exif = source.exif !== null && source.exif.length > 0 ? source.exif : null;
  if (exif !== null && !EXIF_FORMATS.has(format)) {
    warnings.push(`${formatDisplayName(format)} output does not get the source's EXIF metadata`);
  }

  const iccDir = embedIcc ? await fs.mkdtemp(path.join(os.tmpdir(), 'upscale-icc-')) : null;
  try {
    if (iccDir !== null && source.icc !== null) {
      const iccFile = path.join(iccDir, 'source.icc');
      await fs.writeFile(iccFile, source.icc);
      pipeline = pipeline.withIccProfile(iccFile);
    }
    if (exif === null || !EXIF_FORMATS.has(format)) {
      await writeWith(() => pipeline.toFile(target.path), target.path);
      return { warnings };
    }
    const encoded = await writeWith(() => pipeline.toBuffer(), target.path);
    const spliced = withExif(format, encoded, exif);
    if (spliced === null) warnings.push('the EXIF metadata is too large for this format and was left out');
    await fs.writeFile(target.path, spliced ?? encoded);
    return { warnings };
  } finally {
    if (iccDir !== null) await fs.rm(iccDir, { recursive: true, force: true });
  }
}

/** 16 bits per sample where the source, the raster and the format all have them; else 8. */
function outputDepth(raster: Pick<Raster, 'depth'>, source: SourceInfo, format: OutputFormat): 8 | 16 {
  return source.depth === 16 && raster.depth === 16 && SIXTEEN_BIT_FORMATS.has(format) ? 16 : 8;
}

/** Whether the output has alpha: the raster's, where the source had transparency and the format holds it. */
function keepsAlpha(raster: Pick<Raster, 'channels'>, source: SourceInfo, format: OutputFormat): boolean {
  return raster.channels === 4 && source.hasAlpha && ALPHA_FORMATS.has(format);
}

/**
 * Whether the output can be a PNG written as the job runs (png-stream.ts), which keeps
 * everything encodeImage keeps in a PNG with no warning: not what needs libvips, the
 * conversion into an ICC profile, or grey's luminance.
 */
export function streamsAsPng(format: OutputFormat, source: SourceInfo): boolean {
  return format === 'png' && source.icc === null && !source.grey;
}

/** The PNG encodeImage writes for this raster and source (streamsAsPng's case): its depth, channels and metadata. */
export function pngPlanOf(
  raster: Omit<Raster, 'data'>,
  source: SourceInfo,
): { layout: PngLayout; exif: Buffer | null; xmp: Buffer | null } {
  const { width, height } = raster;
  const layout: PngLayout = {
    width,
    height,
    channels: keepsAlpha(raster, source, 'png') ? 4 : 3,
    depth: outputDepth(raster, source, 'png'),
  };
  const present = (b: Buffer | null): Buffer | null => (b !== null && b.length > 0 ? b : null);
  const exif = present(source.exif);
  return { layout, exif: exif && exifTiff(exif), xmp: present(source.xmp) };
}

/** EXIF as containers other than JPEG store it: the TIFF structure, without the `Exif\0\0` prefix. */
function exifTiff(exif: Buffer): Buffer {
  return exif.subarray(0, 6).equals(EXIF_PREFIX) ? exif.subarray(6) : exif;
}

/** A small PNG of an 8-bit raster, base64, for a live preview: written fast (compression level 1) rather than small. */
export async function encodePreview(raster: Raster & { readonly depth: 8 }): Promise<string> {
  const { width, height, channels } = raster;
  const png = await sharp(raster.data, { raw: { width, height, channels } }).png({ compressionLevel: 1 }).toBuffer();
  return png.toString('base64');
}

/**
 * libvips could not write `file`. It reports why only as text, so the errno that text
 * means is read from it here, once, and carried in `code` as Node's own file errors carry
 * theirs: callers tell a full disk from a read-only one by code.
 */
export class EncodeWriteError extends Error implements NodeJS.ErrnoException {
  readonly code: string | undefined;

  constructor(file: string, detail: string) {
    super(`Cannot write '${file}': ${detail.trim()}`);
    this.name = 'EncodeWriteError';
    this.code = LIBVIPS_ERRNO.find(([pattern]) => pattern.test(detail))?.[1];
  }
}

/** The libvips messages for the write failures a user can act on, and the errno each means. */
const LIBVIPS_ERRNO: readonly (readonly [RegExp, string])[] = [
  [/No space left on device/i, 'ENOSPC'],
  [/Read-only file system/i, 'EROFS'],
  [/Permission denied/i, 'EACCES'],
  [/Disk quota exceeded/i, 'EDQUOT'],
];

async function writeWith<T>(encode: () => Promise<T>, file: string): Promise<T> {
  try {
    return await encode();
  } catch (error) {
    throw new EncodeWriteError(file, error instanceof Error ? error.message : String(error));
  }
}

function withFormat(pipeline: sharp.Sharp, format: OutputFormat, quality: number): sharp.Sharp {
  switch (format) {
    case 'png':
      // Row filters are what make photos compress: without them a 4096² upscale took 43.5 MB
      // at level 6; with them, 24 MB at level 2, and faster (792 ms against 800).
      return pipeline.png({ compressionLevel: 2, adaptiveFiltering: true });
    case 'jpg':
      // Upscaled detail lives in the chroma too; 4:2:0 would blur it back at high quality.
      return pipeline.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' });
    case 'webp':
      return pipeline.webp({ quality, alphaQuality: 100, smartSubsample: true });
    case 'tif':
      return pipeline.tiff({ compression: 'deflate', predictor: 'horizontal' });
    case 'avif':
      return pipeline.avif({ quality, chromaSubsampling: '4:4:4' });
  }
}

function qualityFor(target: EncodeTarget): number {
  if (target.format !== 'jpg' && target.format !== 'webp' && target.format !== 'avif') return 100;
  if (target.quality === undefined) return DEFAULT_QUALITY[target.format];
  if (!Number.isInteger(target.quality) || target.quality < 1 || target.quality > 100) {
    throw new Error(`Quality for '${target.path}' must be a whole number from 1 to 100; got ${target.quality}.`);
  }
  return target.quality;
}

function checkRaster(raster: Raster, file: string): void {
  const { width, height, channels, depth, data } = raster;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(
      `Cannot write '${file}': image size ${width}x${height} is not valid; expected whole numbers of pixels, at least 1x1.`,
    );
  }
  if (channels !== 3 && channels !== 4) {
    throw new Error(
      `Cannot write '${file}': the image has ${String(channels)} channels; expected 3 (RGB) or 4 (RGBA).`,
    );
  }
  if (depth !== 8 && depth !== 16) {
    throw new Error(`Cannot write '${file}': ${String(depth)} bits per sample is not supported; expected 8 or 16.`);
  }
  const expectedType = depth === 16 ? Uint16Array : Uint8Array;
  if (!(data instanceof expectedType)) {
    throw new Error(
      `Cannot write '${file}': ${depth}-bit pixels must be a ${expectedType.name}; got ${data.constructor.name}.`,
    );
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new Error(
      `Cannot write '${file}': a ${width}x${height} image with ${channels} channels needs ${expected} samples, got ${data.length}.`,
    );
  }
}

/** The data colour space an ICC profile declares in its header ('RGB', 'GRAY', 'CMYK'…), or null if it has no valid header. */
export function iccColourSpace(icc: Buffer): string | null {
  if (icc.length < 128 || icc.subarray(36, 40).toString('latin1') !== 'acsp') return null;
  return icc.subarray(16, 20).toString('latin1').trim();
}

/** `encoded` with `exif` added, or null when the format's container cannot hold that much EXIF. */
export function withExif(format: OutputFormat, encoded: Buffer, exif: Buffer): Buffer | null {
  const tiff = exifTiff(exif);
  switch (format) {
    case 'jpg':
      return withExifInJpeg(encoded, tiff);
    case 'png':
      return withExifInPng(encoded, tiff);
    case 'webp':
      return withExifInWebp(encoded, tiff);
    default:
      return encoded;
  }
}

/** Adds an APP1 Exif segment after SOI and any JFIF APP0, where readers look for it. */
export function withExifInJpeg(jpeg: Buffer, tiff: Buffer): Buffer | null {
  const payload = Buffer.concat([EXIF_PREFIX, tiff]);
  if (payload.length > MAX_JPEG_EXIF) return null;
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('internal: encoder output is not a JPEG stream');
  let insertAt = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) insertAt = 4 + jpeg.readUInt16BE(4);
  const segment = Buffer.alloc(4);
  segment[0] = 0xff;
  segment[1] = 0xe1;
  segment.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, insertAt), segment, payload, jpeg.subarray(insertAt)]);
}

/** Adds an eXIf chunk right after IHDR (it must come before IDAT). */
export function withExifInPng(png: Buffer, tiff: Buffer): Buffer {
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  if (png.subarray(12, 16).toString('latin1') !== 'IHDR')
    throw new Error('internal: encoder output is not a PNG stream');
  return Buffer.concat([png.subarray(0, ihdrEnd), exifChunk(tiff), png.subarray(ihdrEnd)]);
}

const VP8X_FLAG_EXIF = 0x08;
const VP8X_FLAG_ALPHA = 0x10;

/**
 * Adds an EXIF chunk. Only the extended (VP8X) WebP layout may carry metadata, so a simple
 * VP8/VP8L file is first given a VP8X header describing the same canvas.
 */
export function withExifInWebp(webp: Buffer, tiff: Buffer): Buffer {
  if (webp.subarray(0, 4).toString('latin1') !== 'RIFF' || webp.subarray(8, 12).toString('latin1') !== 'WEBP') {
    throw new Error('internal: encoder output is not a WebP stream');
  }
  const chunks: Buffer[] = [];
  for (let at = 12; at + 8 <= webp.length;) {
    const size = webp.readUInt32LE(at + 4);
    const end = at + 8 + size + (size % 2);
    chunks.push(webp.subarray(at, Math.min(end, webp.length)));
    at = end;
  }
  const first = chunks[0];
  if (first === undefined) throw new Error('internal: WebP stream has no chunks');
  const firstType = first.subarray(0, 4).toString('latin1');
  if (firstType !== 'VP8X') {
    const { width, height, alpha } = simpleWebpCanvas(first);
    const vp8x = Buffer.alloc(18);
    vp8x.write('VP8X', 0, 'latin1');
    vp8x.writeUInt32LE(10, 4);
    vp8x[8] = alpha ? VP8X_FLAG_ALPHA : 0;
    vp8x.writeUIntLE(width - 1, 12, 3);
    vp8x.writeUIntLE(height - 1, 15, 3);
    chunks.unshift(vp8x);
  }
  const header = Buffer.from(item(chunks, 0));
  header.writeUInt8(header.readUInt8(8) | VP8X_FLAG_EXIF, 8);
  chunks[0] = header;
  const exifChunk = Buffer.alloc(8 + tiff.length + (tiff.length % 2));
  exifChunk.write('EXIF', 0, 'latin1');
  exifChunk.writeUInt32LE(tiff.length, 4);
  tiff.copy(exifChunk, 8);
  // The container order puts EXIF after the image data and before XMP.
  const xmpIndex = chunks.findIndex((chunk) => chunk.subarray(0, 4).toString('latin1') === 'XMP ');
  chunks.splice(xmpIndex === -1 ? chunks.length : xmpIndex, 0, exifChunk);
  const body = Buffer.concat(chunks);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + body.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, body]);
}

function simpleWebpCanvas(chunk: Buffer): { width: number; height: number; alpha: boolean } {
  const type = chunk.subarray(0, 4).toString('latin1');
  const data = chunk.subarray(8);
  if (type === 'VP8L') {
    // 1-byte signature, then 14 bits width-1, 14 bits height-1, 1 bit alpha hint.
    const bits = data.readUInt32LE(1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 };
  }
  if (type === 'VP8 ') {
    // 3-byte frame tag, 3-byte start code, then 14-bit width and height (top 2 bits are scaling).
    return { width: data.readUInt16LE(6) & 0x3fff, height: data.readUInt16LE(8) & 0x3fff, alpha: false };
  }
  throw new Error(`internal: unexpected first WebP chunk '${type}'`);
}
