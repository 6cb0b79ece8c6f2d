// The output formats: which extensions name them, what each can carry (alpha, 16 bits), the
// largest side each accepts, and which format a file name asks for. Pure: the daemon writes
// by these rules and the extension checks its settings by them.
import * as path from 'node:path';
import type { OutputFormat } from './vocabulary';

const FORMAT_BY_EXTENSION: Readonly<Record<string, OutputFormat>> = {
  '.png': 'png',
  '.jpg': 'jpg',
  '.jpeg': 'jpg',
  '.webp': 'webp',
  '.tif': 'tif',
  '.tiff': 'tif',
  '.avif': 'avif',
};

/** Output formats that can carry 16 bits per sample through sharp. */
export const SIXTEEN_BIT_FORMATS: ReadonlySet<OutputFormat> = new Set<OutputFormat>(['png', 'tif']);

/** Output formats that can carry an alpha channel. */
export const ALPHA_FORMATS: ReadonlySet<OutputFormat> = new Set<OutputFormat>(['png', 'webp', 'tif', 'avif']);

/**
 * Largest width or height each format accepts.
 * WebP stores dimensions in 14 bits; JPEG in 16 bits. AVIF: AV1 itself allows 65536, but
 * sharp 0.35 refuses AVIF output over 16384 per side ("too large for the HEIF format"), and
 * libavif-based readers refuse images over 16384 x 16384 by default anyway.
 * PNG and TIFF are bounded only by memory and disk here.
 */
const MAX_SIDE: Readonly<Record<OutputFormat, number | null>> = {
  webp: 16383,
  jpg: 65535,
  avif: 16384,
  png: null,
  tif: null,
};

const FORMAT_NAMES: Readonly<Record<OutputFormat, string>> = {
  png: 'PNG',
  jpg: 'JPEG',
  webp: 'WebP',
  tif: 'TIFF',
  avif: 'AVIF',
};

/** The format an extension ('.png', '.JPEG') names, or null. */
export function formatOfExtension(ext: string): OutputFormat | null {
  return FORMAT_BY_EXTENSION[ext.toLowerCase()] ?? null;
}

export function formatFromExtension(file: string): OutputFormat | null {
  return formatOfExtension(path.extname(file));
}

/** The extensions an output name may end in, as a user reads them: ".png .jpg .jpeg …". */
export const WRITABLE_EXTENSIONS = Object.keys(FORMAT_BY_EXTENSION).join(' ');

/**
 * The format an output file name asks for. The name is what the user sees and what other
 * programs trust, so it decides: a `requested` format that disagrees with it is refused
 * rather than written under the wrong extension, and a name without an extension needs
 * one requested. `ext` is the name's extension unless the caller knows better (a template's
 * literal one: a filled-in field may hold dots). Throws with the name, the extension and
 * the allowed ones.
 */
export function formatForName(
  name: string,
  requested: OutputFormat | undefined,
  ext: string = path.extname(name),
): OutputFormat {
  if (ext === '') {
    if (requested !== undefined) return requested;
    throw new Error(
      `${name}: has no extension, so its format is unknown; end it in one of ${WRITABLE_EXTENSIONS}, or choose the output format (--format)`,
    );
  }
  const named = formatOfExtension(ext);
  if (named === null)
    throw new Error(
      `${name}: '${ext}' is not a format Upscale writes; the output extensions are ${WRITABLE_EXTENSIONS}`,
    );
  if (requested !== undefined && requested !== named) {
    throw new Error(
      `${name}: is named as ${FORMAT_NAMES[named]} (${ext}) but the output format asked for (--format) is ${FORMAT_NAMES[requested]}; rename the file or leave the format out`,
    );
  }
  return named;
}

/** Source format names as sharp reports them, mapped to the output format that keeps them. */
const OUTPUT_FOR_SOURCE: Readonly<Record<string, OutputFormat>> = {
  png: 'png',
  jpeg: 'jpg',
  jpg: 'jpg',
  webp: 'webp',
  tiff: 'tif',
  tif: 'tif',
  avif: 'avif',
};

/** Same format as the input unless asked; formats we do not write (gif, bmp, heif…) become PNG, which loses nothing. */
export function outputFormatFor(source: { readonly format: string }, requested?: OutputFormat): OutputFormat {
  if (requested !== undefined) return requested;
  return OUTPUT_FOR_SOURCE[source.format.toLowerCase()] ?? 'png';
}

export function checkOutputSize(format: OutputFormat, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(
      `Output size ${width}x${height} is not a valid image size: expected whole numbers of pixels, at least 1x1.`,
    );
  }
  const limit = MAX_SIDE[format];
  if (limit !== null && (width > limit || height > limit)) {
    throw new Error(
      `The upscaled image would be ${width}x${height} pixels, but ${FORMAT_NAMES[format]} allows at most ${limit} pixels ` +
        `per side. Choose PNG or TIFF output, or a smaller scale factor.`,
    );
  }
}

export function extensionFor(format: OutputFormat): string {
  return `.${format}`;
}

export function formatDisplayName(format: OutputFormat): string {
  return FORMAT_NAMES[format];
}
