// Adapts an onnxruntime session to the engine's tile inference: one NCHW tile in, one out.
import * as ort from 'onnxruntime-node';
import type { PlanarImage } from '../image/types';
import type { TileInference } from '../engine/tiled-pass';

export function sessionInference(session: ort.InferenceSession): TileInference {
  const inputName = session.inputNames[0] as string;
  const outputName = session.outputNames[0] as string;
  return async (tile: PlanarImage): Promise<PlanarImage> => {
    const input = new ort.Tensor('float32', tile.data, [1, tile.channels, tile.height, tile.width]);
    const result = await session.run({ [inputName]: input });
    const out = result[outputName];
    if (!out || out.type !== 'float32' || out.dims.length !== 4) {
      throw new Error(`the model's output '${outputName}' is not a float32 NCHW tensor`);
    }
    const [, channels, height, width] = out.dims as [number, number, number, number];
    const data = out.data as Float32Array;
    input.dispose();
    return { width, height, channels, data };
  };
}
