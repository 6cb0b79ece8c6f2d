// Adapts an onnxruntime session to the engine's tile inference: one planar tile in, one out,
// fed as the model record says (its own input and output, layout and element type).
import type * as ort from 'onnxruntime-node';
import type { PlanarImage } from '../image/types';
import type { TileInference } from '../engine/tiled-pass';
import type { OnnxIo } from '../../models/onnx/image-io';
import { imageTensor, ownGraphIo, tensorImage } from '../../models/onnx/image-tensor';

/**
 * `io` from the model record; without it (Upscale's own graphs, and ONNX imported before
 * records carried it) the session's first input and output, NCHW float32.
 */
export function sessionInference(session: ort.InferenceSession, io: OnnxIo | undefined): TileInference {
  const feed = io ?? ownGraphIo(session);
  return async (tile: PlanarImage): Promise<PlanarImage> => {
    const input = imageTensor(tile, feed);
    const result = await session.run({ [feed.input]: input });
    input.dispose();
    return tensorImage(result[feed.output], feed, 'the model');
  };
}
