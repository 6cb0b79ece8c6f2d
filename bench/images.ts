// Test images for the bench, all derived from Debian's opencv-doc photographs so that
// timings and fidelity are measured on natural content, not synthetic gradients.
import sharp from 'sharp';
import { photo as opencvPhoto } from '../test/photos';

/** One of the opencv-doc photographs, by name without `.jpg` (the tests' lookup, UPSCALE_PHOTOS included). */
export function photoPath(name: string): string {
  return opencvPhoto(`${name}.jpg`);
}

/** Interleaved 8-bit RGB pixels. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export async function readRaster(file: string | Buffer): Promise<Raster> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected RGB, got ${info.channels} channels`);
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** The w×h rectangle of `r` at (x, y). */
export function cropRaster(r: Raster, x: number, y: number, w: number, h: number): Raster {
  const data = new Uint8Array(w * h * 3);
  for (let j = 0; j < h; j++)
    data.set(r.data.subarray(((y + j) * r.width + x) * 3, ((y + j) * r.width + x + w) * 3), j * w * 3);
  return { width: w, height: h, data };
}

/**
 * A `size`×`size` PNG of photo content: the photo covered (Lanczos) to that square. Large
 * sizes are enlarged photos, which is fine for timing: cost does not depend on content.
 */
export async function squarePhotoPng(photo: string, size: number, file: string): Promise<string> {
  await sharp(photoPath(photo)).resize(size, size, { fit: 'cover', kernel: 'lanczos3' }).png().toFile(file);
  return file;
}

/** A centred crop of a photo, written as PNG. */
export async function photoCropPng(photo: string, width: number, height: number, file: string): Promise<string> {
  const meta = await sharp(photoPath(photo)).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w < width || h < height) throw new Error(`${photo} is ${w}x${h}, smaller than the ${width}x${height} crop`);
  await sharp(photoPath(photo))
    .extract({ left: Math.floor((w - width) / 2), top: Math.floor((h - height) / 2), width, height })
    .png()
    .toFile(file);
  return file;
}
