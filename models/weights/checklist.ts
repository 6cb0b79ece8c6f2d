// A module's tensor checklist: each layer its graph uses is checked as it is read (the
// shape checks of shapes.ts) and its keys recorded, and at the end every tensor of the file
// must have been one of them. An extra tensor means a variant the graph would get wrong.
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

export class TensorChecklist {
  private readonly known = new Set<string>();

  constructor(readonly sd: StateDict) {}

  /** A tensor of exactly `shape`. */
  shape(key: string, shape: readonly number[]): void {
    requireShape(this.sd, key, shape);
    this.known.add(key);
  }

  conv(prefix: string, c: ConvShape): void {
    requireConv(this.sd, prefix, c);
    this.addLayer(prefix);
  }

  /** A ConvTranspose2d: weight [in, out, k, k] and a bias of `out`. */
  convTranspose(prefix: string, c: { readonly in: number; readonly out: number; readonly kernel: number }): void {
    this.shape(`${prefix}.weight`, [c.in, c.out, c.kernel, c.kernel]);
    this.shape(`${prefix}.bias`, [c.out]);
  }

  linear(prefix: string, out: number, inFeatures: number, bias: BiasRule = 'required'): void {
    requireLinear(this.sd, prefix, out, inFeatures, bias);
    this.addLayer(prefix);
  }

  /** An affine norm (LayerNorm, channels-first LayerNorm): weight and bias of `channels`. */
  norm(prefix: string, channels: number): void {
    requireNorm(this.sd, prefix, channels);
    this.addLayer(prefix);
  }

  /** Every tensor of the file was checked; `what` says what was expected. */
  rejectOthers(what: string): void {
    rejectOtherTensors(this.sd, this.known, what);
  }

  /** The layer's weight, and its bias where the file has one (the shape checks decided whether it may). */
  private addLayer(prefix: string): void {
    this.known.add(`${prefix}.weight`);
    if (this.sd.has(`${prefix}.bias`)) this.known.add(`${prefix}.bias`);
  }
}
