// The automatic tile's limit from the device a GPU provider runs on: each tensor a tile
// makes must fit in what the device binds at once. A separate input to the tile-size
// policy (tile-size.ts): a job on the CPU has no device limit and is planned as before.
import { MIN_AUTO_CORE } from './tile-size';

/** What one tensor may take on the provider's device. */
export interface DeviceTensorLimit {
  /** Bytes one tensor may take (on WebGPU, one storage-buffer binding). */
  readonly maxTensorBytes: number;
  /** Bytes a value of the model's activations takes at the job's precision: 4 in fp32, 2 in fp16. */
  readonly bytesPerValue: 2 | 4;
}

/**
 * The automatic tile's core limit (input pixels a tile decides per side) on `device`, for a
 * model whose live fp32 activations peak at `bytesPerPixel` per input pixel, or null when
 * nothing is known to limit it. The graph's largest single tensor is what must fit; the
 * peak of the live set is never smaller than it, so the bound can make tiles smaller than
 * necessary, never too large. The `context` on each side is part of the tensor.
 */
export function deviceMaxCore(
  bytesPerPixel: number | null | undefined,
  device: DeviceTensorLimit | undefined,
  context: number,
): number | null {
  if (!device || !bytesPerPixel) return null;
  const perPixel = (bytesPerPixel * device.bytesPerValue) / 4;
  const side = Math.floor(Math.sqrt(device.maxTensorBytes / perPixel));
  return Math.max(MIN_AUTO_CORE, side - 2 * context);
}
