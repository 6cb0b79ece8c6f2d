// How far apart two renderings of one picture are, as the tiling tests measure it: both
// decoded to 8-bit RGB, then the PSNR of their samples.
import assert from 'node:assert/strict';
import sharp from 'sharp';

/** An image file's 8-bit RGB samples, interleaved. */
export async function rgbSamples(file: string): Promise<Buffer> {
  return sharp(file).removeAlpha().raw().toBuffer();
}

/** 8-bit PSNR in dB (Infinity when identical). */
export function psnr(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.length));
}
