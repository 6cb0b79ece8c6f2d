// PixelShuffle and PixelUnshuffle with PyTorch's channel order.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';

/** torch.nn.PixelShuffle: channel c·r² + i·r + j moves to (c, y·r + i, x·r + j): ONNX DepthToSpace in CRD mode. */
export function pixelShuffle(ctx: GraphContext, x: string, r: number): string {
  return ctx.g.op('DepthToSpace', [x], { blocksize: attr.int(r), mode: attr.string('CRD') }, 'pixel_shuffle');
}

/**
 * torch's pixel_unshuffle: (c, y·r + i, x·r + j) moves to channel c·r² + i·r + j. ONNX
 * SpaceToDepth orders channels (i·r + j)·C + c instead, so its output is regathered.
 */
export function pixelUnshuffle(ctx: GraphContext, x: string, r: number, channels: number): string {
  const s2d = ctx.g.op('SpaceToDepth', [x], { blocksize: attr.int(r) });
  const order: number[] = [];
  for (let c = 0; c < channels; c++) for (let k = 0; k < r * r; k++) order.push(k * channels + c);
  return ctx.g.op('Gather', [s2d, ctx.ints(order)], { axis: attr.int(1) }, 'pixel_unshuffle');
}
