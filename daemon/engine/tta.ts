// Test-time augmentation: the model runs on a tile seen through each symmetry of the TTA
// level (dihedral.ts), each output is turned back, and the outputs are averaged in float.
// A wrapper around tile inference, so tiles, bands, the out-of-memory split and cancel work
// as they do for one run; the tile loop never knows.
import { throwIfCancelled } from '../../contract/errors';
import { outside } from '../image/checked';
import type { PlanarImage } from '../image/types';
import type { TtaLevel } from '../../contract/vocabulary';
import { applyDihedral, ttaTransforms, undoDihedral } from './dihedral';
import { yieldToEvents, type TileInference } from './tiled-pass';

/** `infer` averaged over the symmetries of `level`; a cancel takes effect between runs. */
export function ttaInference(infer: TileInference, level: TtaLevel, signal: AbortSignal): TileInference {
  if (level === 1) return infer;
  const transforms = ttaTransforms(level);
  return async (tile) => {
    let sum: PlanarImage | null = null;
    for (const [i, t] of transforms.entries()) {
      if (i > 0) {
        await yieldToEvents();
        throwIfCancelled(signal);
      }
      const out = undoDihedral(await infer(applyDihedral(tile, t)), t);
      if (sum === null) sum = out;
      else addInto(sum.data, out.data);
    }
    if (sum === null) throw new RangeError('a TTA level runs at least one symmetry');
    const scale = 1 / transforms.length;
    const data = sum.data;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === undefined) throw outside('ttaInference', i);
      data[i] = v * scale;
    }
    return sum;
  };
}

function addInto(sum: Float32Array, add: Float32Array): void {
  if (sum.length !== add.length) throw new RangeError(`TTA outputs differ in size: ${sum.length} and ${add.length}`);
  for (let i = 0; i < sum.length; i++) {
    const a = sum[i];
    const b = add[i];
    if (a === undefined || b === undefined) throw outside('ttaInference', i);
    sum[i] = a + b;
  }
}
