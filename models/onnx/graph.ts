// A small ONNX graph builder. Every importer (ncnn, PyTorch state dicts, TF.js) emits its
// network through this one module, so the protobuf wire format is written in one place
// (by onnx-proto) and names, opsets and initializers are handled the same way everywhere.
import { onnx } from 'onnx-proto';

/** The ONNX opset every graph is written for (LayerNormalization needs 17). */
export const OPSET = 17;
const IR_VERSION = 8;

export type Dim = number | string;

/** An attribute value with its ONNX type made explicit (a bare number would be ambiguous). */
export type Attr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorData };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ kind: 'floats', value }),
  tensor: (value: TensorData): Attr => ({ kind: 'tensor', value }),
};

/** Raw tensor contents: float32 weights, int64 shapes and indices, or int32. */
export interface TensorData {
  readonly data: Float32Array | BigInt64Array | Int32Array;
  readonly dims: readonly number[];
}

function elementType(data: TensorData['data']): number {
  if (data instanceof Float32Array) return onnx.TensorProto.DataType.FLOAT;
  if (data instanceof BigInt64Array) return onnx.TensorProto.DataType.INT64;
  return onnx.TensorProto.DataType.INT32;
}

function tensorProto(name: string, t: TensorData): onnx.ITensorProto {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (expected !== t.data.length) {
    throw new Error(`tensor '${name}': dims [${t.dims.join(', ')}] hold ${expected} values, data has ${t.data.length}`);
  }
  // rawData is little-endian on the wire, which is what typed arrays are on every
  // platform Node supports.
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.dims], dataType: elementType(t.data), rawData: raw };
}

function attributeProto(name: string, a: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(name, a.value) };
  }
}

function valueInfo(name: string, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A fresh value name derived from `hint`; names are unique within the graph. */
  name(hint: string): string {
    let candidate = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    while (this.used.has(candidate)) candidate = `${hint}_${++this.counter}`;
    this.used.add(candidate);
    return candidate;
  }

  /** Declares a float32 graph input; string dims are symbolic (dynamic axes). */
  input(name: string, dims: readonly Dim[]): string {
    const n = this.name(name);
    this.inputs.push(valueInfo(n, dims));
    return n;
  }

  /** Marks `value` as a float32 graph output under `name` (inserting an Identity if needed). */
  output(value: string, name: string, dims: readonly Dim[]): void {
    let out = value;
    if (value !== name) {
      this.used.add(name);
      this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `${name}_identity` });
      out = name;
    }
    this.outputs.push(valueInfo(out, dims));
  }

  /** Adds a constant tensor (weights, shapes) and returns its value name. */
  initializer(hint: string, data: TensorData['data'], dims: readonly number[]): string {
    const n = this.name(hint);
    this.initializers.push(tensorProto(n, { data, dims }));
    return n;
  }

  f32(hint: string, values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): string {
    return this.initializer(hint, values instanceof Float32Array ? values : Float32Array.from(values), dims);
  }

  i64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(hint, BigInt64Array.from(values.map((v) => BigInt(v))), dims);
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    const [output] = this.opN(opType, inputs, 1, attrs, hint);
    if (output === undefined) throw new RangeError(`${opType}: opN gave no output`);
    return output;
  }

  /** Adds a node with `count` outputs. An empty input name stands for an omitted optional input. */
  opN(
    opType: string,
    inputs: readonly string[],
    count: number,
    attrs: Record<string, Attr> = {},
    hint?: string,
  ): string[] {
    const base = hint ?? opType.toLowerCase();
    const outputs = Array.from({ length: count }, (_, i) => this.name(count === 1 ? base : `${base}_${i}`));
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outputs,
      name: this.name(`${base}_node`),
      attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
    });
    return outputs;
  }

  /** Serialises the model. */
  toBytes(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'upscale',
      producerVersion: '0.1.0',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
