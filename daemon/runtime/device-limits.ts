// What the device of a GPU provider allows one tensor, as far as it can be known here.
//
// onnxruntime's WebGPU provider asks Dawn for the adapter's own limits, which are often far
// above WebGPU's defaults (on lavapipe a 1.1 GiB tensor ran whole), but onnxruntime-node
// exposes neither the adapter nor its limits. What every WebGPU adapter guarantees is the
// default: maxStorageBufferBindingSize 128 MiB and maxBufferSize 256 MiB. A tile whose
// tensors stay within that runs on any adapter. CUDA, DirectML and Core ML expose no limit
// or free memory to onnxruntime-node either: their automatic tiles are the CPU's, and a tile
// that runs out of device memory is halved (engine/tiled-pass.ts).
import type { ExecutionProvider, Precision } from '../../contract/vocabulary';
import type { DeviceTensorLimit } from '../engine/device-tile';

/** WebGPU's default limits (the WebGPU specification, "Limits"), which every adapter meets. */
export const WEBGPU_DEFAULT_LIMITS = {
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxBufferSize: 256 * 2 ** 20,
} as const;

/** The tensor limit of `provider`'s device at `precision`, or undefined where none is known. */
export function deviceTensorLimit(provider: ExecutionProvider, precision: Precision): DeviceTensorLimit | undefined {
  if (provider !== 'webgpu') return undefined;
  return {
    maxTensorBytes: Math.min(WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize, WEBGPU_DEFAULT_LIMITS.maxBufferSize),
    bytesPerValue: precision === 'fp16' ? 2 : 4,
  };
}
