// Colour hidden under fully transparent pixels is arbitrary (often black). A model reads
// neighbourhoods, so that hidden colour would bleed into visible edges as dark fringes.
// Filling it from the nearest visible pixels keeps edges clean after upscaling.

import { outside } from './checked';

const NO_SEED = -1;

/**
 * In place: every pixel with alpha 0 takes the colour of the nearest visible (alpha > 0)
 * pixel. Nearest is found with raster sweeps that pass each pixel's nearest-seed index on to
 * its neighbours (a sequential Euclidean distance transform), so time is linear and memory
 * is read in order even for 8000x8000 images. Visible pixels are never changed; an image
 * with no visible pixel is left as it is.
 */
export function bleedColour(rgb: Float32Array, alpha: Float32Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`bleedColour: image size ${width}x${height} is not a whole number of pixels.`);
  }
  const n = width * height;
  if (alpha.length !== n || rgb.length !== 3 * n) {
    throw new Error(
      `bleedColour: a ${width}x${height} image needs ${3 * n} colour values and ${n} alpha values, ` +
        `got ${rgb.length} and ${alpha.length}.`,
    );
  }
  const nearest = new Int32Array(n);
  let hidden = 0;
  for (let p = 0; p < n; p++) {
    const a = alpha[p];
    if (a === undefined) throw outside('bleedColour', p);
    if (a > 0) {
      nearest[p] = p;
    } else {
      nearest[p] = NO_SEED;
      hidden++;
    }
  }
  if (hidden === 0 || hidden === n) return;

  // Downwards: left and the three pixels above; upwards: right and the three below.
  // Each row is then swept the other way so seeds also travel against the sweep.
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = row + x;
      if (nearest[p] === p) continue;
      if (x > 0) adoptNearer(nearest, width, p, p - 1, x, y);
      if (y > 0) {
        adoptNearer(nearest, width, p, p - width, x, y);
        if (x > 0) adoptNearer(nearest, width, p, p - width - 1, x, y);
        if (x < width - 1) adoptNearer(nearest, width, p, p - width + 1, x, y);
      }
    }
    for (let x = width - 2; x >= 0; x--) {
      const p = row + x;
      if (nearest[p] !== p) adoptNearer(nearest, width, p, p + 1, x, y);
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    const row = y * width;
    for (let x = width - 1; x >= 0; x--) {
      const p = row + x;
      if (nearest[p] === p) continue;
      if (x < width - 1) adoptNearer(nearest, width, p, p + 1, x, y);
      if (y < height - 1) {
        adoptNearer(nearest, width, p, p + width, x, y);
        if (x < width - 1) adoptNearer(nearest, width, p, p + width + 1, x, y);
        if (x > 0) adoptNearer(nearest, width, p, p + width - 1, x, y);
      }
    }
    for (let x = 1; x < width; x++) {
      const p = row + x;
      if (nearest[p] !== p) adoptNearer(nearest, width, p, p - 1, x, y);
    }
  }

  for (let p = 0; p < n; p++) {
    const s = nearest[p];
    if (s === p || s === NO_SEED) continue;
    const r = s === undefined ? undefined : rgb[s];
    const g = s === undefined ? undefined : rgb[n + s];
    const b = s === undefined ? undefined : rgb[2 * n + s];
    if (r === undefined || g === undefined || b === undefined) throw outside('bleedColour', p);
    rgb[p] = r;
    rgb[n + p] = g;
    rgb[2 * n + p] = b;
  }
}

/** Hidden pixel p, at (x, y), adopts neighbour q's seed when that seed is nearer than its own. */
function adoptNearer(nearest: Int32Array, width: number, p: number, q: number, x: number, y: number): void {
  const candidate = nearest[q];
  const current = nearest[p];
  if (candidate === undefined || current === undefined) throw outside('adoptNearer', p);
  if (candidate === current || candidate === NO_SEED) return;
  if (current === NO_SEED || squaredDistance(candidate, width, x, y) < squaredDistance(current, width, x, y)) {
    nearest[p] = candidate;
  }
}

function squaredDistance(seed: number, width: number, x: number, y: number): number {
  const sx = seed % width;
  const dx = x - sx;
  const dy = y - (seed - sx) / width;
  return dx * dx + dy * dy;
}
