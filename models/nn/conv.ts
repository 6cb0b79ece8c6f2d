// torch.nn.Conv2d and ConvTranspose2d with their weights from the state dict. The kernel
// size, input channels and bias are read from the stored tensors; what the weights do not
// record (padding, stride, dilation, groups) is the caller's, with PyTorch's meaning.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';
import { floatTensor } from '../weights/tensors';

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
 * A square stride-s transposed conv whose kernel is longer than its stride, as the conv it
 * equals: output row s·q + r − p gathers the taps r, r + s, … of the kernel from input rows
 * q, q − 1, …, so each of the s² phases is a correlation with ⌈k/s⌉ taps a side (the kernel
 * flipped, zeros past its end), and one conv with s² × out channels, a pixel shuffle and a
 * crop of p give the same values. In Real-CUGAN x4 at a 256² input, onnxruntime's CPU
 * profiler gave its 4×4 stride-2 64-channel ConvTranspose 1442 ms, and this form 459 ms
 * (conv 251, shuffle 171, crop 37).
 */
function transposeAsConv(ctx: GraphContext, x: string, prefix: string, k: number, s: number, p: number): string {
  const key = `${prefix}.weight`;
  const [inChannels, outChannels] = [
    dimOf(ctx.sd, key, 4, 0, 'a transposed conv'),
    dimOf(ctx.sd, key, 4, 1, 'a transposed conv'),
  ];
  const m = Math.ceil(k / s);
  const phases = s * s;
  const weight = ctx.constant(`${key}:as_conv`, () => {
    const w = floatTensor(ctx.sd, key).data;
    const out = new Float32Array(outChannels * phases * inChannels * m * m);
    for (let c = 0; c < outChannels; c++) {
      for (let phase = 0; phase < phases; phase++) {
        const [ry, rx] = [Math.floor(phase / s), phase % s];
        for (let i = 0; i < inChannels; i++) {
          for (let jy = 0; jy < m; jy++) {
            for (let jx = 0; jx < m; jx++) {
              const [ky, kx] = [ry + (m - 1 - jy) * s, rx + (m - 1 - jx) * s];
              if (ky >= k || kx >= k) continue;
              out[(((c * phases + phase) * inChannels + i) * m + jy) * m + jx] =
                w[((i * outChannels + c) * k + ky) * k + kx] ?? 0;
            }
          }
        }
      }
    }
    return { data: out, dims: [outChannels * phases, inChannels, m, m] };
  });
  const inputs = [x, weight];
  if (ctx.has(`${prefix}.bias`)) {
    inputs.push(
      ctx.constant(`${prefix}.bias:as_conv`, () => {
        const b = floatTensor(ctx.sd, `${prefix}.bias`).data;
        return {
          data: Float32Array.from({ length: outChannels * phases }, (_, i) => b[Math.floor(i / phases)] ?? 0),
          dims: [outChannels * phases],
        };
      }),
    );
  }
  // Rows past the input's end that the last phases still need (none for Real-CUGAN's layers).
  const after = Math.max(0, Math.ceil((k - p - s) / s));
  const conv = ctx.g.op(
    'Conv',
    inputs,
    { kernel_shape: attr.ints([m, m]), pads: attr.ints([m - 1, m - 1, after, after]) },
    prefix,
  );
  const shuffled = ctx.g.op('DepthToSpace', [conv], { blocksize: attr.int(s), mode: attr.string('CRD') });
  // The shuffle yields rows −p … of the transposed conv's full output; keep (H − 1)·s − 2p + k of them.
  const cut = after * s + s + p - k;
  if (p === 0 && cut === 0) return shuffled;
  const end = cut > 0 ? -cut : Number.MAX_SAFE_INTEGER;
  return ctx.g.op('Slice', [shuffled, ctx.ints([p, p]), ctx.ints([end, end]), ctx.ints([2, 3])], {}, `${prefix}.crop`);
}

/**
 * ConvTranspose2d (weight [in, out / groups, kh, kw]). PyTorch's padding and
 * output_padding map to ONNX's pads and output_padding one to one; a square one with a
 * kernel longer than its stride (and no groups, dilation or output padding) is written as
 * the conv it equals, which onnxruntime runs faster.
 */
export function convTranspose2d(ctx: GraphContext, x: string, prefix: string, opts: ConvTransposeOptions = {}): string {
  const [kh, kw] = kernelOf(ctx, prefix);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [sh, sw] = pair(opts.stride ?? 1);
  const plain = pair(opts.outputPadding ?? 0).every((v) => v === 0) && pair(opts.dilation ?? 1).every((v) => v === 1);
  if (plain && (opts.groups ?? 1) === 1 && kh === kw && sh === sw && ph === pw && sh > 1 && kh > sh) {
    return transposeAsConv(ctx, x, prefix, kh, sh, ph);
  }
  const inputs = [x, ctx.weight(`${prefix}.weight`)];
  if (ctx.has(`${prefix}.bias`)) inputs.push(ctx.weight(`${prefix}.bias`));
  return ctx.g.op(
    'ConvTranspose',
    inputs,
    {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([ph, pw, ph, pw]),
      strides: attr.ints([sh, sw]),
      output_padding: attr.ints(pair(opts.outputPadding ?? 0)),
      dilations: attr.ints(pair(opts.dilation ?? 1)),
      group: attr.int(opts.groups ?? 1),
    },
    prefix,
  );
}
