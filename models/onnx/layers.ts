// Neural-network layers expressed as ONNX nodes, with weights taken from a state dict by
// their upstream key prefix. Architecture builders (models/arch/*) compose these, so each
// layer's exact semantics (PyTorch's, not ONNX's defaults) is decided once, here.
import { GraphBuilder, attr } from './graph';
import { floatTensor, type StateDict } from '../readers/state-dict';

export class LayerBuilder {
  private readonly scalars = new Map<number, string>();
  private readonly shapes = new Map<string, string>();
  private readonly weights = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly sd: StateDict,
  ) {}

  /** A state-dict tensor as an initializer (added once per key). */
  weight(key: string): string {
    const existing = this.weights.get(key);
    if (existing) return existing;
    const t = floatTensor(this.sd, key);
    const name = this.g.initializer(key, t.data, t.shape);
    this.weights.set(key, name);
    return name;
  }

  has(key: string): boolean {
    return this.sd.has(key);
  }

  shapeOf(key: string): readonly number[] {
    return floatTensor(this.sd, key).shape;
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (!name) {
      name = this.g.f32(`const_${value}`, [value], []);
      this.scalars.set(value, name);
    }
    return name;
  }

  /** An int64 vector constant (shapes, axes, indices), shared between uses. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.shapes.get(key);
    if (!name) {
      name = this.g.i64('ints', values);
      this.shapes.set(key, name);
    }
    return name;
  }

  /** torch.nn.Conv2d with 'same'-style zero padding k // 2 (what every SR net here uses). */
  conv2d(x: string, prefix: string, opts: { padding?: number; groups?: number } = {}): string {
    const w = this.shapeOf(`${prefix}.weight`);
    const k = w[2] as number;
    const p = opts.padding ?? Math.floor(k / 2);
    const inputs = [x, this.weight(`${prefix}.weight`)];
    if (this.has(`${prefix}.bias`)) inputs.push(this.weight(`${prefix}.bias`));
    return this.g.op(
      'Conv',
      inputs,
      {
        kernel_shape: attr.ints([k, w[3] as number]),
        pads: attr.ints([p, p, p, p]),
        group: attr.int(opts.groups ?? 1),
      },
      prefix,
    );
  }

  /** torch.nn.Linear over the last axis: x @ W^T + b. */
  linear(x: string, prefix: string): string {
    const t = floatTensor(this.sd, `${prefix}.weight`);
    const [outF, inF] = t.shape as [number, number];
    const transposed = new Float32Array(inF * outF);
    for (let o = 0; o < outF; o++)
      for (let i = 0; i < inF; i++) transposed[i * outF + o] = t.data[o * inF + i] as number;
    const wT = this.g.initializer(`${prefix}.weight_t`, transposed, [inF, outF]);
    const y = this.g.op('MatMul', [x, wT], {}, prefix);
    return this.has(`${prefix}.bias`) ? this.g.op('Add', [y, this.weight(`${prefix}.bias`)]) : y;
  }

  /** torch.nn.LayerNorm over the last axis (PyTorch's default eps is 1e-5). */
  layerNorm(x: string, prefix: string, eps = 1e-5): string {
    return this.g.op(
      'LayerNormalization',
      [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)],
      {
        axis: attr.int(-1),
        epsilon: attr.float(eps),
      },
      prefix,
    );
  }

  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as torch.nn.GELU() computes by default. */
  gelu(x: string): string {
    const e = this.g.op('Erf', [this.g.op('Mul', [x, this.scalar(Math.SQRT1_2)])]);
    const onePlus = this.g.op('Add', [e, this.scalar(1)]);
    return this.g.op('Mul', [this.g.op('Mul', [x, onePlus]), this.scalar(0.5)]);
  }

  leakyRelu(x: string, slope: number): string {
    return this.g.op('LeakyRelu', [x], { alpha: attr.float(slope) });
  }

  add(a: string, b: string): string {
    return this.g.op('Add', [a, b]);
  }

  mul(a: string, b: string): string {
    return this.g.op('Mul', [a, b]);
  }

  /** torch.nn.PixelShuffle: channel c*r*r + i*r + j moves to (c, y*r+i, x*r+j): ONNX DepthToSpace in CRD mode. */
  pixelShuffle(x: string, r: number): string {
    return this.g.op('DepthToSpace', [x], { blocksize: attr.int(r), mode: attr.string('CRD') });
  }

  /**
   * torch's pixel_unshuffle: (c, y*r+i, x*r+j) moves to channel c*r*r + i*r + j. ONNX
   * SpaceToDepth orders channels (i*r + j)*C + c instead, so its output is regathered.
   */
  pixelUnshuffle(x: string, r: number, channels: number): string {
    const s2d = this.g.op('SpaceToDepth', [x], { blocksize: attr.int(r) });
    const order: number[] = [];
    for (let c = 0; c < channels; c++) for (let k = 0; k < r * r; k++) order.push(k * channels + c);
    return this.g.op('Gather', [s2d, this.ints(order)], { axis: attr.int(1) });
  }

  /** F.interpolate(scale_factor=f, mode='nearest') on an NCHW tensor. */
  upsampleNearest(x: string, factor: number): string {
    const scales = this.g.f32('scales', [1, 1, factor, factor]);
    return this.g.op('Resize', [x, '', scales], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
  }
}
