// The device a GPU provider runs on bounds the automatic tile beside the memory budget:
// each tensor a tile makes must fit in what the device binds at once. A separate input to
// the tile-size policy (tile-size.ts): a job on the CPU has no device limit. Pure.

/** What one tensor may take on the provider's device. */
export interface DeviceTensorLimit {
  /** Bytes one tensor may take (on WebGPU, one storage-buffer binding). */
  readonly maxTensorBytes: number;
  /** Bytes a value of the model's activations takes at the job's precision: 4 in fp32, 2 in fp16. */
  readonly bytesPerValue: 2 | 4;
}

/**
 * Whether a `width`×`height` tile (as the model sees it, context included) keeps within
 * `device`, for a model whose live fp32 activations peak at `bytesPerPixel` per pixel. The
 * graph's largest single tensor is what must fit; the peak of the live set is never
 * smaller than it, so the test can turn down a tile that would fit, never pass one too large.
 */
export function fitsDevice(width: number, height: number, bytesPerPixel: number, device: DeviceTensorLimit): boolean {
  return (width * height * bytesPerPixel * device.bytesPerValue) / 4 <= device.maxTensorBytes;
}
