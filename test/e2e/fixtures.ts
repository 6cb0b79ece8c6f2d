// Test images (made with sharp) and checks on the files the extension writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

/** A photo-like RGB image: gradients, a few shapes and fine stripes, so models have edges to work on. */
export async function makeImage(file: string, width: number, height: number, seed = 1): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const u = x / Math.max(1, width - 1);
      const v = y / Math.max(1, height - 1);
      const cx = x - width * (0.3 + ((0.1 * seed) % 3));
      const cy = y - height * 0.55;
      const disc = cx * cx + cy * cy < (Math.min(width, height) * 0.22) ** 2;
      const stripes = ((x >> 2) + (y >> 3)) % 2 === 0;
      data[i] = disc ? 230 : Math.round(40 + 180 * u);
      data[i + 1] = disc ? 60 : Math.round(60 + 150 * v) - (stripes ? 25 : 0);
      data[i + 2] = disc ? 50 : Math.round(200 - 120 * u * v + seed * 7) % 256;
    }
  }
  let img = sharp(data, { raw: { width, height, channels: 3 } });
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') img = img.jpeg({ quality: 95 });
  else if (ext === '.webp') img = img.webp({ lossless: true });
  else img = img.png();
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await img.toFile(file);
}

export async function dimensions(file: string): Promise<{ width: number; height: number }> {
  const m = await sharp(file).metadata();
  return { width: m.width ?? 0, height: m.height ?? 0 };
}

export async function expectSize(file: string, width: number, height: number): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`${path.basename(file)} was not written`);
  const d = await dimensions(file);
  if (d.width !== width || d.height !== height)
    throw new Error(`${path.basename(file)} is ${d.width}×${d.height}, expected ${width}×${height}`);
}

/**
 * Mean absolute difference (0-255) between the source and the result scaled back down to
 * the source's size: an upscale keeps the picture, so this stays small.
 */
export async function meanDifference(source: string, result: string): Promise<number> {
  const s = await sharp(source).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const r = await sharp(result)
    .removeAlpha()
    .resize(s.info.width, s.info.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  let sum = 0;
  for (let i = 0; i < s.data.length; i++) sum += Math.abs((s.data[i] as number) - (r[i] as number));
  return sum / s.data.length;
}

/** Standard deviation of the luma: a flat (blank or all-black) result has about none. */
export async function spread(file: string): Promise<number> {
  const stats = await sharp(file).stats();
  return Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
}

export async function expectPicture(source: string, result: string, maxDiff = 30): Promise<string> {
  const diff = await meanDifference(source, result);
  if (diff > maxDiff)
    throw new Error(
      `${path.basename(result)} does not look like ${path.basename(source)}: mean difference ${diff.toFixed(1)} > ${maxDiff}`,
    );
  const sd = await spread(result);
  if (sd < 5) throw new Error(`${path.basename(result)} is flat (stdev ${sd.toFixed(1)})`);
  return `mean diff ${diff.toFixed(1)}`;
}

/** Files in `dir` whose name starts with `prefix` (results and partial files of one input). */
export function filesStartingWith(dir: string, prefix: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith(prefix));
}

/** "a.png → a@4x.png (64×48 → 256×192, 1 pass, 1.2 s on cpu in fp32)" → its parts. */
export function parseResult(
  message: string,
): { input: string; output: string; width: number; height: number; passes: number } | undefined {
  const m = /(\S[^→]*?) → (.+?) \((\d+)×(\d+) → (\d+)×(\d+), (\d+) pass/.exec(message);
  if (!m) return undefined;
  return {
    input: (m[1] as string).replace(/^Upscaled /, ''),
    output: m[2] as string,
    width: Number(m[5]),
    height: Number(m[6]),
    passes: Number(m[7]),
  };
}
