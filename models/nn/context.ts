// The small context every layer function works in: the graph being built, the state dict
// its weights come from, and caches so that a weight or a constant used many times is
// stored once. Layers are plain functions of a context (conv.ts, norm.ts, ...), so several
// files can add layers without a shared class growing.
import { GraphBuilder, type Dim, type TensorData } from '../onnx/graph';
import type { StateDict } from '../weights/state-dict';
import { floatTensor } from '../weights/tensors';

export class GraphContext {
  private readonly weights = new Map<string, string>();
  private readonly scalars = new Map<number, string>();
  private readonly vectors = new Map<string, string>();
  private readonly int64Scalars = new Map<number, string>();
  private readonly derived = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly sd: StateDict,
  ) {}

  /** The state dict's float tensor `key` as an initializer, added once however often it is used. */
  weight(key: string): string {
    let name = this.weights.get(key);
    if (!name) {
      const t = floatTensor(this.sd, key);
      name = this.g.initializer(key, t.data, t.shape);
      this.weights.set(key, name);
    }
    return name;
  }

  /**
   * An initializer computed once (a transposed or reshaped weight, a table evaluated ahead
   * of time, an index): `make` runs on the first request for `cacheKey`.
   */
  constant(cacheKey: string, make: () => TensorData): string {
    let name = this.derived.get(cacheKey);
    if (!name) {
      const { data, dims } = make();
      name = this.g.initializer(cacheKey, data, dims);
      this.derived.set(cacheKey, name);
    }
    return name;
  }

  /** Weight `key` stored with other dims of the same size (per-channel values as [C, 1, 1]). */
  weightAs(key: string, dims: readonly number[]): string {
    return this.constant(`${key}:${dims.join('x')}`, () => ({ data: floatTensor(this.sd, key).data, dims }));
  }

  has(key: string): boolean {
    return this.sd.has(key);
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (!name) {
      name = this.g.f32(`const_${value}`, [value], []);
      this.scalars.set(value, name);
    }
    return name;
  }

  /** An int64 vector constant (shapes, axes, pads, indices). */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.vectors.get(key);
    if (!name) {
      name = this.g.i64('ints', values);
      this.vectors.set(key, name);
    }
    return name;
  }

  /** A 0-d int64 constant (Range bounds, a Gather index that drops its axis). */
  int64Scalar(value: number): string {
    let name = this.int64Scalars.get(value);
    if (!name) {
      name = this.g.i64(`i64_${value}`, [value], []);
      this.int64Scalars.set(value, name);
    }
    return name;
  }
}

export interface ImageGraphSpec {
  readonly name: string;
  readonly sd: StateDict;
  readonly inputChannels: number;
  readonly outputChannels: number;
  /** Said in the model's doc string, e.g. "HAT x4". */
  readonly description: string;
}

/**
 * An image-to-image ONNX model: input `input` float32 [1, C, height, width] (any size),
 * output `output` [1, C', out_height, out_width], with `body` building what lies between.
 */
export function imageGraph(spec: ImageGraphSpec, body: (ctx: GraphContext, input: string) => string): Uint8Array {
  const g = new GraphBuilder(spec.name);
  const ctx = new GraphContext(g, spec.sd);
  const dims = (channels: number, h: string, w: string): Dim[] => [1, channels, h, w];
  const input = g.input('input', dims(spec.inputChannels, 'height', 'width'));
  // Held back from the body's values, which take their names from weight prefixes (OmniSR has a conv called `output`).
  g.name('output');
  g.output(body(ctx, input), 'output', dims(spec.outputChannels, 'out_height', 'out_width'));
  return g.toBytes(spec.description);
}
