// torch.nn.Conv2d and ConvTranspose2d with their weights from the state dict. The kernel
// size, input channels and bias are read from the stored tensors; what the weights do not
// record (padding, stride, dilation, groups) is the caller's, with PyTorch's meaning.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';

type Pair = number | readonly [number, number];

function pair(p: Pair): [number, number] {
  return typeof p === 'number' ? [p, p] : [p[0], p[1]];
}

export interface ConvOptions {
  /**
   * Zero padding per side, [rows, columns] or one for both. Defaults to
   * dilation × (kernel − 1) / 2 (rounded down): the size-keeping padding almost every
   * super-resolution conv uses (PyTorch's own default is 0).
   */
  readonly padding?: Pair;
  readonly stride?: Pair;
  readonly dilation?: Pair;
  /** Channel groups; the input channels of the weight are in / groups (depthwise: groups = channels). */
  readonly groups?: number;
}

function kernelOf(ctx: GraphContext, prefix: string): [number, number] {
  const key = `${prefix}.weight`;
  return [dimOf(ctx.sd, key, 4, 2, 'a conv weight'), dimOf(ctx.sd, key, 4, 3, 'a conv weight')];
}

/** Conv2d over an NCHW tensor with weight `${prefix}.weight` and, when stored, `${prefix}.bias`. */
export function conv2d(ctx: GraphContext, x: string, prefix: string, opts: ConvOptions = {}): string {
  const [kh, kw] = kernelOf(ctx, prefix);
  const [dh, dw] = pair(opts.dilation ?? 1);
  const [ph, pw] = pair(opts.padding ?? [Math.floor((dh * (kh - 1)) / 2), Math.floor((dw * (kw - 1)) / 2)]);
  const inputs = [x, ctx.weight(`${prefix}.weight`)];
  if (ctx.has(`${prefix}.bias`)) inputs.push(ctx.weight(`${prefix}.bias`));
  return ctx.g.op(
    'Conv',
    inputs,
    {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([ph, pw, ph, pw]),
      strides: attr.ints(pair(opts.stride ?? 1)),
      dilations: attr.ints([dh, dw]),
      group: attr.int(opts.groups ?? 1),
    },
    prefix,
  );
}

export interface ConvTransposeOptions {
  readonly stride?: Pair;
  /** PyTorch's padding: removed from each side of the full output. */
  readonly padding?: Pair;
  /** PyTorch's output_padding: added to the bottom and right. */
  readonly outputPadding?: Pair;
  readonly dilation?: Pair;
  readonly groups?: number;
}

/**
 * ConvTranspose2d (weight [in, out / groups, kh, kw]). PyTorch's padding and
 * output_padding map to ONNX's pads and output_padding one to one.
 */
export function convTranspose2d(ctx: GraphContext, x: string, prefix: string, opts: ConvTransposeOptions = {}): string {
  const [kh, kw] = kernelOf(ctx, prefix);
  const [ph, pw] = pair(opts.padding ?? 0);
  const inputs = [x, ctx.weight(`${prefix}.weight`)];
  if (ctx.has(`${prefix}.bias`)) inputs.push(ctx.weight(`${prefix}.bias`));
  return ctx.g.op(
    'ConvTranspose',
    inputs,
    {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([ph, pw, ph, pw]),
      strides: attr.ints(pair(opts.stride ?? 1)),
      output_padding: attr.ints(pair(opts.outputPadding ?? 0)),
      dilations: attr.ints(pair(opts.dilation ?? 1)),
      group: attr.int(opts.groups ?? 1),
    },
    prefix,
  );
}
