// Where the daemon's time goes besides inference. The daemon reports decode, infer and
// encode; its infer stage also holds tile extraction and the float blend. That part is
// measured here by running the daemon's own tiled pass with an inference that costs
// nothing (it returns a ready buffer of the right shape), and one real tile is timed
// through onnxruntime so that tiles × tile time estimates the pure inference.
import type { PlanarImage } from '../daemon/image/types';
import { runTiledPass, type TileInference } from '../daemon/engine/tiled-pass';
import { edgePadFor } from '../daemon/engine/job-plan';
import { DEFAULT_OVERLAP } from '../contract/limits';
import { DEFAULT_PADDING } from '../contract/vocabulary';
import { quantisePlanes } from '../daemon/engine/quantise';
import type { TileWork } from './tile-work';

/** Milliseconds of the daemon's tiling, blending and row copies for a size×size RGB image at `scale` on the tiles of `work`, without a model. */
export async function tilingOverheadMs(size: number, scale: number, work: TileWork): Promise<number> {
  const img: PlanarImage = {
    width: size,
    height: size,
    channels: 3,
    data: new Float32Array(3 * size * size).fill(0.5),
  };
  const outputs = new Map<string, PlanarImage>();
  const freeInference: TileInference = async (tile) => {
    const key = `${tile.width}x${tile.height}`;
    let out = outputs.get(key);
    if (!out) {
      out = {
        width: tile.width * scale,
        height: tile.height * scale,
        channels: 3,
        data: new Float32Array(3 * tile.width * tile.height * scale * scale).fill(0.5),
      };
      outputs.set(key, out);
    }
    return out;
  };
  const edgePad = edgePadFor(DEFAULT_PADDING, DEFAULT_OVERLAP);
  const outW = size * scale;
  const start = performance.now();
  // The pipeline's sink on a last pass: quantise each finished band into the 8-bit output raster.
  const raster = new Uint8Array(3 * outW * outW);
  await runTiledPass(
    img,
    freeInference,
    {
      scale,
      tileWidth: work.tileWidth,
      tileHeight: work.tileHeight,
      overlap: 2 * DEFAULT_OVERLAP,
      edgePad,
      inputMultiple: 1,
      minTile: 32,
      signal: new AbortController().signal,
    },
    (y, count, rows) => quantisePlanes(raster, outW, 3, 0, y, outW, count, rows, 3, 0),
  );
  return performance.now() - start;
}
