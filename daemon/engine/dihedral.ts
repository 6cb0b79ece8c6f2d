// The eight symmetries of a rectangle (the dihedral group of the square) on planar images:
// each is an optional transpose followed by optional flips, so it is a pure re-indexing of
// pixels. Test-time augmentation (tta.ts) runs a model on transformed inputs and undoes the
// transform on each output. Pure.
import { outside } from '../image/checked';
import type { PlanarImage } from '../image/types';
import type { TtaLevel } from '../../contract/vocabulary';

/** A symmetry: read the source transposed (x and y swapped), then mirrored across each axis. */
export interface Dihedral {
  readonly name: string;
  readonly transpose: boolean;
  readonly flipX: boolean;
  readonly flipY: boolean;
}

const d = (name: string, transpose: boolean, flipX: boolean, flipY: boolean): Dihedral => ({
  name,
  transpose,
  flipX,
  flipY,
});

/**
 * All eight, ordered so that each prefix a TTA level takes is a subgroup: 2 is identity and
 * the horizontal flip; 4 adds the vertical flip and the half turn, the symmetries that keep
 * a tile's shape; 8 adds the four that swap width and height (transposes and quarter turns).
 */
export const DIHEDRAL: readonly Dihedral[] = [
  d('identity', false, false, false),
  d('flip horizontal', false, true, false),
  d('flip vertical', false, false, true),
  d('rotate 180', false, true, true),
  d('transpose', true, false, false),
  d('rotate 90 anticlockwise', true, true, false),
  d('rotate 90 clockwise', true, false, true),
  d('anti-transpose', true, true, true),
];

/** The symmetries a TTA level runs: the first `level` of DIHEDRAL. */
export function ttaTransforms(level: TtaLevel): readonly Dihedral[] {
  return DIHEDRAL.slice(0, level);
}

/**
 * Calls `visit(target, source)` for every pixel of the transformed image: its index and the
 * index of the source pixel it is read from, within one plane.
 */
function eachPixel(
  t: Dihedral,
  width: number,
  height: number,
  visit: (target: number, source: number) => void,
): { width: number; height: number } {
  const outW = t.transpose ? height : width;
  const outH = t.transpose ? width : height;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const ax = t.transpose ? oy : ox;
      const ay = t.transpose ? ox : oy;
      const sx = t.flipX ? width - 1 - ax : ax;
      const sy = t.flipY ? height - 1 - ay : ay;
      visit(oy * outW + ox, sy * width + sx);
    }
  }
  return { width: outW, height: outH };
}

/** The image seen through `t`. */
export function applyDihedral(img: PlanarImage, t: Dihedral): PlanarImage {
  const plane = img.width * img.height;
  const data = new Float32Array(img.data.length);
  const size = eachPixel(t, img.width, img.height, (target, source) => {
    for (let c = 0; c < img.channels; c++) {
      const v = img.data[c * plane + source];
      if (v === undefined) throw outside('applyDihedral', source);
      data[c * plane + target] = v;
    }
  });
  return { ...size, channels: img.channels, data };
}

/** The inverse of applyDihedral: `img` was seen through `t`; this is it as it was. */
export function undoDihedral(img: PlanarImage, t: Dihedral): PlanarImage {
  // The original's size: a transposed image has its sides swapped.
  const width = t.transpose ? img.height : img.width;
  const height = t.transpose ? img.width : img.height;
  const plane = width * height;
  const data = new Float32Array(img.data.length);
  eachPixel(t, width, height, (target, source) => {
    for (let c = 0; c < img.channels; c++) {
      const v = img.data[c * plane + target];
      if (v === undefined) throw outside('undoDihedral', target);
      data[c * plane + source] = v;
    }
  });
  return { width, height, channels: img.channels, data };
}
