// How many pixels the model actually processes for an image, read from the plan the
// daemon answers with (so heavy models' memory-sized tiles are counted as they ran): the
// reflected edge pad and the shared overlaps are work the whole-image ceiling does not do.
// Not a hard cap on end-to-end / ceiling: smaller tiles can be cheaper per pixel.
import type { PlannedPass, UpscaleResult } from '../contract/protocol';

export interface TileWork {
  readonly tiles: number;
  /** Processed tile side (the tensor the model sees), width × height. */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Pixels run through the model divided by the image's pixels. */
  readonly workRatio: number;
}

/** The first pass's tile work of a finished job. */
export function tileWorkOf(result: UpscaleResult): TileWork {
  const pass: PlannedPass | undefined = result.plan?.passes[0];
  if (!pass) throw new Error(`the daemon's answer for ${result.input} has no plan`);
  // Every tile of a pass has the same size (tiles.ts), so the work is a product.
  const processed = pass.columns * pass.tileWidth * pass.rows * pass.tileHeight;
  return {
    tiles: pass.columns * pass.rows,
    tileWidth: pass.tileWidth,
    tileHeight: pass.tileHeight,
    workRatio: processed / (pass.inputWidth * pass.inputHeight),
  };
}
