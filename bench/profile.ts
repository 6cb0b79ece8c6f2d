// Where the daemon's time goes besides inference. The daemon reports decode, infer and
// encode; its infer stage also holds tile extraction and the float blend. That part is
// measured here by running the daemon's own tiled pass with an inference that costs
// nothing (it returns a ready buffer of the right shape), and one real tile is timed
// through onnxruntime so that tiles × tile time estimates the pure inference.
import { chooseTile } from '../daemon/engine/tile-size';
import { runTiledPass, type PlanarImage, type TileInference } from '../daemon/engine/tiled-pass';
import { DEFAULT_OVERLAP, EDGE_PAD } from '../daemon/engine/pipeline';

/** Milliseconds of the daemon's tiling, blending and row copies for a size×size RGB image at `scale`, without a model. */
export async function tilingOverheadMs(size: number, scale: number): Promise<number> {
  const img: PlanarImage = { width: size, height: size, channels: 3, data: new Float32Array(3 * size * size).fill(0.5) };
  const outputs = new Map<string, PlanarImage>();
  const freeInference: TileInference = async (tile) => {
    const key = `${tile.width}x${tile.height}`;
    let out = outputs.get(key);
    if (!out) {
      out = { width: tile.width * scale, height: tile.height * scale, channels: 3, data: new Float32Array(3 * tile.width * tile.height * scale * scale).fill(0.5) };
      outputs.set(key, out);
    }
    return out;
  };
  const tile = chooseTile(undefined, size + 2 * EDGE_PAD, size + 2 * EDGE_PAD, DEFAULT_OVERLAP);
  const outW = size * scale;
  const plane = outW * outW;
  const start = performance.now();
  // The pipeline's sink: copy each finished band into the full-size planar output.
  const next = new Float32Array(3 * plane);
  await runTiledPass(img, freeInference, {
    scale, tileWidth: tile.width, tileHeight: tile.height, overlap: 2 * DEFAULT_OVERLAP, edgePad: EDGE_PAD,
    inputMultiple: 1, minTile: 32, checkpoint: () => undefined,
  }, (y, count, rows) => {
    for (let c = 0; c < 3; c++) next.set(rows.subarray(c * count * outW, (c + 1) * count * outW), c * plane + y * outW);
  });
  return performance.now() - start;
}
