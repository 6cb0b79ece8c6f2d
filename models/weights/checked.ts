// A module checks every tensor its graph uses, as it reads each layer, and then refuses any
// other tensor of the file: an extra tensor means a variant the graph would get wrong. This
// keeps the list of what was checked, so the two cannot disagree.
import type { StateDict } from './state-dict';
import {
  rejectOtherTensors,
  requireConv,
  requireLinear,
  requireNorm,
  requireShape,
  type BiasRule,
  type ConvShape,
} from './shapes';

export class CheckedTensors {
  private readonly known = new Set<string>();

  constructor(readonly sd: StateDict) {}

  /** A Conv2d at `prefix` (see requireConv). */
  conv(prefix: string, shape: ConvShape): void {
    requireConv(this.sd, prefix, shape);
    this.accept(`${prefix}.weight`, `${prefix}.bias`);
  }

  /** A ConvTranspose2d: weight [in, out, k, k] and a bias of `out`. */
  convTranspose(prefix: string, c: { readonly in: number; readonly out: number; readonly kernel: number }): void {
    this.shape(`${prefix}.weight`, [c.in, c.out, c.kernel, c.kernel]);
    this.shape(`${prefix}.bias`, [c.out]);
  }

  /** A Linear at `prefix` (see requireLinear). */
  linear(prefix: string, out: number, inFeatures: number, bias: BiasRule = 'required'): void {
    requireLinear(this.sd, prefix, out, inFeatures, bias);
    this.accept(`${prefix}.weight`, `${prefix}.bias`);
  }

  /** An affine norm's weight and bias at `prefix`. */
  norm(prefix: string, channels: number): void {
    requireNorm(this.sd, prefix, channels);
    this.accept(`${prefix}.weight`, `${prefix}.bias`);
  }

  /** Any tensor of exactly this shape. */
  shape(key: string, expected: readonly number[]): void {
    requireShape(this.sd, key, expected);
    this.accept(key);
  }

  /** Keys the forward does not read but that the architecture's files carry; accepted when present. */
  accept(...keys: string[]): void {
    for (const key of keys) this.known.add(key);
  }

  /** Throws for the first tensor nothing above accepted; `what` describes what was expected. */
  rejectOthers(what: string): void {
    rejectOtherTensors(this.sd, this.known, what);
  }
}
