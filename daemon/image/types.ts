import type { OutputFormat } from '../../contract/vocabulary';

export type { OutputFormat };

/** What must be restored on output so the upscaled file matches its source. */
export interface SourceInfo {
  readonly path: string;
  /** Decoder name: 'png', 'jpeg', 'webp', 'tiff', 'avif', 'gif', 'bmp', 'heif'… */
  readonly format: string;
  /** Bits per sample of the source. Anything above 8 bits is carried as 16. */
  readonly depth: 8 | 16;
  /** The source was greyscale, so the output is written grey too. */
  readonly grey: boolean;
  /** The source had transparency (alpha channel, palette tRNS, grey+alpha). */
  readonly hasAlpha: boolean;
  readonly palette: boolean;
  /** The source's embedded ICC profile, byte for byte. */
  readonly icc: Buffer | null;
  /** EXIF with the orientation reset to 1, because the pixels are already upright. */
  readonly exif: Buffer | null;
  readonly xmp: Buffer | null;
  readonly warnings: readonly string[];
}

export interface DecodedImage {
  /** After EXIF orientation is applied. */
  readonly width: number;
  readonly height: number;
  /** Planar CHW: 3 planes of width*height, sRGB, values in [0,1]. */
  readonly rgb: Float32Array;
  /** One plane in [0,1], or null when the source has no alpha channel. */
  readonly alpha: Float32Array | null;
  readonly source: SourceInfo;
}

/** Planar (CHW) float32 pixels: what the engine computes on, tile by tile and pass by pass. */
export interface PlanarImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** What the engine hands back, already quantised: interleaved sRGB(A). */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly depth: 8 | 16;
  readonly data: Uint8Array | Uint16Array;
}

export interface EncodeTarget {
  readonly path: string;
  readonly format: OutputFormat;
  /** 1–100 for jpg/webp/avif; ignored by lossless formats. */
  readonly quality?: number;
}

export interface EncodeResult {
  /** Things the output could not keep from the source, phrased for the user. */
  readonly warnings: readonly string[];
}

/** What the header tells before any decoding: for planning, size ceilings and dry runs. */
export interface ImageHeader {
  /** After EXIF orientation is applied. */
  readonly width: number;
  readonly height: number;
  /** Decoder name, as SourceInfo.format. */
  readonly format: string;
  /** The image has an alpha channel (which the decoder drops when it is fully opaque). */
  readonly hasAlpha: boolean;
  /** Bits per sample; anything above 8 is carried as 16. */
  readonly depth: 8 | 16;
}

export interface DecodeLimits {
  readonly maxInputPixels: number;
}
