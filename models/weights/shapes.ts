// Shape checks. An architecture reads its configuration from a few tensors, then checks
// every tensor its graph will use against that configuration, so incomplete or foreign
// weights fail while reading, with the key named, never halfway through building a graph.
import type { StateDict } from './state-dict';
import { WeightError, shapeText, tensorAt, valueAt } from './tensors';

/** The shape of `key`, which must have `rank` axes; `what` says what the tensor is. */
export function shapeOf(sd: StateDict, key: string, rank: number, what: string): readonly number[] {
  const t = tensorAt(sd, key, `a ${rank}-d tensor: ${what}`);
  if (t.shape.length !== rank) {
    throw new WeightError(
      key,
      `tensor '${key}' has shape ${shapeText(t.shape)}, expected a ${rank}-d tensor (${what})`,
    );
  }
  return t.shape;
}

/** Axis `axis` of `key`'s shape, `key` having `rank` axes. */
export function dimOf(sd: StateDict, key: string, rank: number, axis: number, what: string): number {
  const dim = shapeOf(sd, key, rank, what)[axis];
  if (dim === undefined) throw new RangeError(`axis ${axis} of a ${rank}-d tensor`);
  return dim;
}

/** `key` must exist with exactly `expected` as its shape. */
export function requireShape(sd: StateDict, key: string, expected: readonly number[]): void {
  const t = tensorAt(sd, key, `shape ${shapeText(expected)}`);
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new WeightError(key, `tensor '${key}' has shape ${shapeText(t.shape)}, expected ${shapeText(expected)}`);
  }
}

/** Whether a layer has a bias: always, never, or as the file has it (checked when present). */
export type BiasRule = 'required' | 'none' | 'optional';

function requireBias(sd: StateDict, prefix: string, channels: number, bias: BiasRule): void {
  const key = `${prefix}.bias`;
  if (bias === 'required' || (bias === 'optional' && sd.has(key))) requireShape(sd, key, [channels]);
  else if (bias === 'none' && sd.has(key)) {
    throw new WeightError(key, `tensor '${key}' is present, expected no bias for '${prefix}'`);
  }
}

export interface ConvShape {
  readonly out: number;
  /** Input channels per group (the weight's second axis). */
  readonly in: number;
  readonly kernel: number | readonly [number, number];
  readonly bias?: BiasRule;
}

/** A Conv2d at `prefix`: weight [out, in / groups, kh, kw] and a bias per the rule (default required). */
export function requireConv(sd: StateDict, prefix: string, c: ConvShape): void {
  const [kh, kw] = typeof c.kernel === 'number' ? [c.kernel, c.kernel] : c.kernel;
  requireShape(sd, `${prefix}.weight`, [c.out, c.in, kh, kw]);
  requireBias(sd, prefix, c.out, c.bias ?? 'required');
}

/** A Linear at `prefix`: weight [out, in] and a bias per the rule (default required). */
export function requireLinear(
  sd: StateDict,
  prefix: string,
  out: number,
  inFeatures: number,
  bias: BiasRule = 'required',
): void {
  requireShape(sd, `${prefix}.weight`, [out, inFeatures]);
  requireBias(sd, prefix, out, bias);
}

/** A LayerNorm (or any affine norm) at `prefix`: weight and bias of `channels`. */
export function requireNorm(sd: StateDict, prefix: string, channels: number): void {
  requireShape(sd, `${prefix}.weight`, [channels]);
  requireShape(sd, `${prefix}.bias`, [channels]);
}

/** A BatchNorm2d at `prefix`: affine weight and bias and its running statistics. */
export function requireBatchNorm(sd: StateDict, prefix: string, channels: number): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) requireShape(sd, `${prefix}.${p}`, [channels]);
}

/**
 * Every tensor must be one the graph uses (`known`): an extra tensor means a variant the
 * architecture would silently get wrong. `what` describes what was expected.
 */
export function rejectOtherTensors(sd: StateDict, known: ReadonlySet<string>, what: string): void {
  const extra = [...sd.keys()].filter((k) => !known.has(k));
  const [first] = extra;
  if (first === undefined) return;
  const shown = extra
    .slice(0, 5)
    .map((k) => `'${k}'`)
    .join(', ');
  const more = extra.length > 5 ? ` and ${extra.length - 5} more` : '';
  throw new WeightError(
    first,
    `unexpected tensor${extra.length > 1 ? 's' : ''} ${shown}${more} (expected only ${what})`,
  );
}

/**
 * A buffer the architecture computes (a relative-position index, offsets) must, when the
 * file stores it, equal the computed one: a difference means a variant this code does not
 * know. `what` completes "expected V for …", e.g. "a 4x2 window".
 */
export function checkStoredBuffer(
  sd: StateDict,
  key: string,
  expected: ArrayLike<number>,
  shape: readonly number[],
  what: string,
): void {
  const stored = sd.get(key);
  if (!stored) return;
  requireShape(sd, key, shape);
  for (let i = 0; i < expected.length; i++) {
    const value = valueAt(stored, i);
    if (value !== expected[i]) {
      throw new WeightError(
        key,
        `tensor '${key}' holds ${value} at flat index ${i}, expected ${expected[i]} for ${what}`,
      );
    }
  }
}
