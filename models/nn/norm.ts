// Normalisation layers with PyTorch's semantics: BatchNorm2d in eval mode (running
// statistics), LayerNorm over the last axis (token layout), the channels-first
// LayerNorm several architectures define for NCHW maps, and GroupNorm. The eps each class uses matters
// to the golden vectors (1e-6 where 1e-5 is meant fails them), so it is always explicit.
import { attr } from '../onnx/graph';
import type { GraphContext } from './context';
import { dimOf } from '../weights/shapes';

/** BatchNorm2d (eval) on NCHW: weight, bias, running_mean and running_var under `prefix`. */
export function batchNorm(ctx: GraphContext, x: string, prefix: string, eps: number): string {
  const w = (p: string): string => ctx.weight(`${prefix}.${p}`);
  return ctx.g.op(
    'BatchNormalization',
    [x, w('weight'), w('bias'), w('running_mean'), w('running_var')],
    { epsilon: attr.float(eps) },
    prefix,
  );
}

/** torch.nn.LayerNorm over the last axis (PyTorch's default eps is 1e-5). */
export function layerNorm(ctx: GraphContext, x: string, prefix: string, eps: number): string {
  return ctx.g.op(
    'LayerNormalization',
    [x, ctx.weight(`${prefix}.weight`), ctx.weight(`${prefix}.bias`)],
    { axis: attr.int(-1), epsilon: attr.float(eps) },
    prefix,
  );
}

/**
 * LayerNorm over the channel axis of an NCHW map (the `channels_first` LayerNorm of
 * ConvNeXt-style code): (x − mean_c) / sqrt(var_c + eps) · weight + bias, with the biased
 * variance, weight and bias per channel. Computed in place rather than between two
 * transposes, which on large maps cost more than the arithmetic.
 */
export function layerNormChannelsFirst(ctx: GraphContext, x: string, prefix: string, eps: number): string {
  const g = ctx.g;
  const channels = dimOf(ctx.sd, `${prefix}.weight`, 1, 0, 'a per-channel norm weight');
  const reduce = { axes: attr.ints([1]), keepdims: attr.int(1) };
  const centred = g.op('Sub', [x, g.op('ReduceMean', [x], reduce, `${prefix}.mean`)], {}, `${prefix}.centred`);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], reduce, `${prefix}.var`);
  const normalised = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, ctx.scalar(eps)])])]);
  const scaled = g.op('Mul', [normalised, ctx.weightAs(`${prefix}.weight`, [channels, 1, 1])]);
  return g.op('Add', [scaled, ctx.weightAs(`${prefix}.bias`, [channels, 1, 1])], {}, prefix);
}

/**
 * torch.nn.GroupNorm on NCHW: each of `groups` channel groups is normalised over its
 * channels and positions together, then scaled and shifted per channel. ONNX's
 * GroupNormalization needs opset 18 (and changed its meaning in 21), so the map is seen as
 * [N, groups, rest] and InstanceNormalization, which normalises each such row with the
 * biased variance as PyTorch does, takes the statistics.
 */
export function groupNorm(ctx: GraphContext, x: string, prefix: string, groups: number, eps: number): string {
  const g = ctx.g;
  const channels = dimOf(ctx.sd, `${prefix}.weight`, 1, 0, 'a per-channel norm weight');
  const filled = (value: number): string =>
    ctx.constant(`group_norm_${value}x${groups}`, () => ({
      data: new Float32Array(groups).fill(value),
      dims: [groups],
    }));
  const rows = g.op('Reshape', [x, ctx.ints([0, groups, -1])], {}, `${prefix}.groups`);
  const normalised = g.op('InstanceNormalization', [rows, filled(1), filled(0)], { epsilon: attr.float(eps) });
  const map = g.op('Reshape', [normalised, g.op('Shape', [x])], {}, `${prefix}.normalised`);
  const scaled = g.op('Mul', [map, ctx.weightAs(`${prefix}.weight`, [channels, 1, 1])]);
  return g.op('Add', [scaled, ctx.weightAs(`${prefix}.bias`, [channels, 1, 1])], {}, prefix);
}

/** F.normalize's floor on the norm. */
const NORMALIZE_EPS = 1e-12;

/** F.normalize(x, dim=-1): x / max(‖x‖₂, 1e-12) over the last axis. */
export function l2Normalize(ctx: GraphContext, x: string): string {
  const norm = ctx.g.op('ReduceL2', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  return ctx.g.op('Div', [x, ctx.g.op('Max', [norm, ctx.scalar(NORMALIZE_EPS)])], {}, 'l2_normalized');
}

/**
 * InstanceNorm1d(affine=True, track_running_stats=False) on [N, C, L]: each channel
 * normalised over L with the biased variance, then weight and bias per channel.
 */
export function instanceNorm(ctx: GraphContext, x: string, prefix: string, eps: number): string {
  return ctx.g.op(
    'InstanceNormalization',
    [x, ctx.weight(`${prefix}.weight`), ctx.weight(`${prefix}.bias`)],
    { epsilon: attr.float(eps) },
    prefix,
  );
}
