import type { SourceInfo } from '../daemon/image/types';

/** What the decoder reports for a plain 8-bit sRGB `format` file with no metadata: where tests of the encoder start. */
export function plainSource(format: string): SourceInfo {
  return {
    path: `/pictures/input.${format}`,
    format,
    depth: 8,
    grey: false,
    hasAlpha: false,
    palette: false,
    icc: null,
    exif: null,
    xmp: null,
    warnings: [],
  };
}
