// fp32 -> fp16: the same network with its weights stored and its arithmetic done in half
// precision, for GPU providers (half the memory traffic, and the fast fp16 units). The graph
// keeps float32 at its boundary (Casts inside it), so callers feed and read the same tensors.
//
// What runs in fp16 is decided by data flow, not by operator alone:
// - a float tensor is an "activation" when it depends on the image through float arithmetic
//   (the graph input, and every float output of a node that reads an activation). Float
//   side computations that only read weights and shapes (attention masks, relative-position
//   tables, Resize scales) are left in fp32 as they were;
// - a node that reads an activation runs in fp16, unless it accumulates over many values or
//   is sensitive to range (normalisations, Softmax, reductions, Pow/Exp/Log/Sqrt): those run
//   in fp32 between Casts, as spandrel's and onnxconverter-common's fp16 paths keep them;
// - inputs that ONNX types apart from the data (Resize's roi and scales) keep their type;
// - every type mismatch left at an edge gets one Cast, shared by all the edge's consumers;
//   float weights read in fp16 are stored in fp16 (no Cast at run time).
// An operator the converter does not know (or a non-default domain, or a subgraph) is
// refused with its name rather than guessed at.
import { onnx } from 'onnx-proto';

type ElemType = number;
const DataType = onnx.TensorProto.DataType;
const FLOAT: ElemType = DataType.FLOAT;
const FLOAT16: ElemType = DataType.FLOAT16;
const BOOL: ElemType = DataType.BOOL;
const INT64: ElemType = DataType.INT64;
const UNDEFINED: ElemType = DataType.UNDEFINED;

/** Bumped when the transform changes, so cached fp16 files are derived again. */
export const FP16_TRANSFORM_VERSION = 1;

/** Operators computed in fp32 even inside an fp16 graph: accumulations and range-sensitive maths. */
const KEEP_FP32 = new Set([
  'LayerNormalization',
  'GroupNormalization',
  'InstanceNormalization',
  'BatchNormalization',
  'Softmax',
  'LogSoftmax',
  'ReduceMean',
  'ReduceSum',
  'ReduceL1',
  'ReduceL2',
  'ReduceSumSquare',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceProd',
  'GlobalAveragePool',
  'Pow',
  'Exp',
  'Log',
  'Sqrt',
]);

/** Inputs whose type ONNX declares apart from the data's: never converted. */
const TYPED_APART: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2],
  Upsample: [1],
};

/** How a known operator's first output gets its element type. */
type OutputRule = 'same' | 'input1' | 'bool' | 'int64' | 'cast' | 'castlike' | 'constant';

const RULES: Readonly<Record<string, OutputRule>> = {
  ...Object.fromEntries(
    [
      'Abs',
      'Add',
      'Sub',
      'Mul',
      'Div',
      'Neg',
      'Relu',
      'LeakyRelu',
      'PRelu',
      'Sigmoid',
      'HardSigmoid',
      'HardSwish',
      'Tanh',
      'Erf',
      'Elu',
      'Selu',
      'Gelu',
      'Softplus',
      'Softsign',
      'Clip',
      'Conv',
      'ConvTranspose',
      'MatMul',
      'Gemm',
      'Concat',
      'Transpose',
      'Reshape',
      'Flatten',
      'Squeeze',
      'Unsqueeze',
      'Expand',
      'Tile',
      'Slice',
      'Gather',
      'GatherElements',
      'GatherND',
      'Split',
      'Pad',
      'DepthToSpace',
      'SpaceToDepth',
      'Resize',
      'Upsample',
      'MaxPool',
      'AveragePool',
      'GlobalMaxPool',
      'Max',
      'Min',
      'Sum',
      'Mean',
      'Identity',
      'Floor',
      'Ceil',
      'Round',
      'Reciprocal',
      'Mod',
      'Sign',
      'Range',
      'Einsum',
      'Trilu',
      'CumSum',
      'ReduceMax',
      'ReduceMin',
      'Not',
      'Dropout',
      'ScatterND',
      'ScatterElements',
      ...KEEP_FP32,
    ].map((op) => [op, 'same' as const]),
  ),
  Where: 'input1',
  Equal: 'bool',
  Less: 'bool',
  LessOrEqual: 'bool',
  Greater: 'bool',
  GreaterOrEqual: 'bool',
  And: 'bool',
  Or: 'bool',
  Xor: 'bool',
  IsNaN: 'bool',
  IsInf: 'bool',
  Shape: 'int64',
  Size: 'int64',
  ArgMax: 'int64',
  ArgMin: 'int64',
  NonZero: 'int64',
  Cast: 'cast',
  CastLike: 'castlike',
  Constant: 'constant',
  ConstantOfShape: 'constant',
};

const isFloat = (t: ElemType | undefined): boolean => t === FLOAT || t === FLOAT16;
const PINNED = new Set<ElemType>([DataType.DOUBLE, DataType.BFLOAT16]);

// ---------------------------------------------------------------------------------------
// float32 -> float16 bits, rounding to nearest even; finite values beyond fp16's range
// become its largest finite value (65504), as a mask of -1e9 should stay a large negative.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa !== 0 ? 0x7e00 : 0x7c00);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7bff;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return (half & 0x7fff) >= 0x7c00 ? sign | 0x7bff : sign | half;
}

function floatValues(t: onnx.ITensorProto, label: string): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const raw = t.rawData;
    if (raw.byteLength % 4 !== 0) throw new Error(`${label}: tensor '${t.name ?? ''}' has a partial float`);
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new Error(`${label}: tensor '${t.name ?? ''}' keeps its data in an external file`);
  return Float32Array.from(t.floatData ?? []);
}

function toFloat16Tensor(t: onnx.ITensorProto, name: string, label: string): onnx.ITensorProto {
  const values = floatValues(t, label);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) half[i] = float32ToFloat16Bits(values[i] ?? 0);
  return {
    name,
    dims: t.dims ?? [],
    dataType: FLOAT16,
    rawData: new Uint8Array(half.buffer),
  };
}

function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  return v == null ? 0 : typeof v === 'number' ? v : v.toNumber();
}

/** The element type of a known operator's output `index`, from its inputs' types. */
function outputType(node: onnx.INodeProto, index: number, inputs: readonly (ElemType | undefined)[]): ElemType {
  const op = node.opType ?? '';
  if (op === 'LayerNormalization' && index > 0) return FLOAT;
  if (op === 'Dropout' && index === 1) return BOOL;
  switch (RULES[op]) {
    case 'same':
      return inputs.find((t) => t !== undefined) ?? FLOAT;
    case 'input1':
      return inputs[1] ?? FLOAT;
    case 'bool':
      return BOOL;
    case 'int64':
      return INT64;
    case 'cast':
      return toNumber(attribute(node, 'to')?.i);
    case 'castlike':
      return inputs[1] ?? FLOAT;
    case 'constant': {
      const value = attribute(node, 'value');
      if (value?.t) return value.t.dataType ?? FLOAT;
      if (op === 'ConstantOfShape') return FLOAT;
      if (attribute(node, 'value_float') || attribute(node, 'value_floats')) return FLOAT;
      return INT64;
    }
    default:
      throw new Error(`operator ${op} is not one the fp16 converter knows`);
  }
}

/**
 * The fp16 version of an fp32 model: a new ModelProto (the argument is not changed). `label`
 * names the model in errors.
 */
export function convertToFloat16(model: onnx.IModelProto, label: string): onnx.ModelProto {
  const fail = (why: string): never => {
    throw new Error(`${label}: cannot convert to fp16: ${why}`);
  };
  const graph = model.graph ?? fail('the model has no graph');
  // Before IR 4 every weight had to be listed as a graph input too; the fp16 copies are not.
  if (toNumber(model.irVersion) < 4) fail(`IR version ${toNumber(model.irVersion)} is older than 4`);

  const initializers = new Map<string, onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) initializers.set(t.name ?? '', t);
  /** Each value's element type as converted so far, and whether it is an activation. */
  const type = new Map<string, ElemType>();
  const activation = new Set<string>();
  for (const [name, t] of initializers) type.set(name, t.dataType ?? FLOAT);
  for (const input of graph.input ?? []) {
    const name = input.name ?? '';
    if (initializers.has(name)) continue;
    const elem = input.type?.tensorType?.elemType ?? FLOAT;
    type.set(name, elem);
    if (elem === FLOAT) activation.add(name);
  }

  const nodes: onnx.INodeProto[] = [];
  const newInitializers: onnx.ITensorProto[] = [];
  const converted = new Map<string, string>();
  const used = new Set<string>([...type.keys(), ...(graph.node ?? []).flatMap((n) => [...(n.output ?? [])])]);
  const fresh = (hint: string): string => {
    let name = hint;
    for (let i = 2; used.has(name); i++) name = `${hint}_${i}`;
    used.add(name);
    return name;
  };

  const cast = (input: string, output: string, to: ElemType): onnx.INodeProto => ({
    opType: 'Cast',
    name: fresh(`${output}_cast`),
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  });

  /** `value` as `to` (FLOAT or FLOAT16): itself, a converted weight, or one shared Cast. */
  const as = (value: string, to: ElemType): string => {
    if (type.get(value) === to) return value;
    const key = `${value}\u0000${to}`;
    const done = converted.get(key);
    if (done) return done;
    const name = fresh(`${value}_${to === FLOAT16 ? 'fp16' : 'fp32'}`);
    const weight = initializers.get(value);
    if (weight && weight.dataType === FLOAT && to === FLOAT16)
      newInitializers.push(toFloat16Tensor(weight, name, label));
    else nodes.push(cast(value, name, to));
    type.set(name, to);
    if (activation.has(value)) activation.add(name);
    converted.set(key, name);
    return name;
  };

  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    if (node.domain && node.domain !== 'ai.onnx') fail(`operator ${node.domain}.${op} is outside the ONNX domain`);
    if (RULES[op] === undefined) fail(`operator ${op} is not one the fp16 converter knows`);
    if ((node.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0)))
      fail(`operator ${op} has a subgraph`);
    const inputs = [...(node.input ?? [])];
    const apart = TYPED_APART[op] ?? [];
    const dataInputs = inputs.map((name, i) => (name !== '' && !apart.includes(i) ? name : null));
    const readsActivation = dataInputs.some((name) => name !== null && activation.has(name));
    const neutral = RULES[op] === 'cast' || RULES[op] === 'castlike' || RULES[op] === 'constant';
    // double and bfloat16 inputs pin a node to its own types (one type parameter spans them).
    const pinned = dataInputs.some((name) => name !== null && PINNED.has(type.get(name) ?? UNDEFINED));
    const mode: ElemType | null = neutral || !readsActivation || pinned ? null : KEEP_FP32.has(op) ? FLOAT : FLOAT16;
    const newInputs = inputs.map((name, i) => {
      if (mode === null || dataInputs[i] === null || !isFloat(type.get(name))) return name;
      return as(name, mode);
    });
    const inputTypes = newInputs.map((name) => (name === '' ? undefined : type.get(name)));
    nodes.push({ ...node, input: newInputs });
    (node.output ?? []).forEach((name, i) => {
      if (name === '') return;
      const t = outputType(node, i, inputTypes);
      type.set(name, t);
      if (readsActivation && isFloat(t)) activation.add(name);
    });
  }

  // The boundary: every float32 output of the original stays float32.
  const outputs = (graph.output ?? []).map((out): onnx.IValueInfoProto => {
    const name = out.name ?? '';
    const declared = out.type?.tensorType?.elemType ?? FLOAT;
    if (declared !== FLOAT || type.get(name) === FLOAT) return out;
    const inner = fresh(`${name}_fp16`);
    for (const n of nodes) n.output = (n.output ?? []).map((o) => (o === name ? inner : o));
    for (const n of nodes) n.input = (n.input ?? []).map((o) => (o === name ? inner : o));
    nodes.push(cast(inner, name, FLOAT));
    return out;
  });

  // Weights no node reads any more (all their readers took the fp16 copy) are dropped.
  const read = new Set(nodes.flatMap((n) => n.input ?? []));
  for (const o of outputs) read.add(o.name ?? '');
  const kept = [...initializers.values(), ...newInitializers].filter((t) => read.has(t.name ?? ''));

  return onnx.ModelProto.create({
    ...model,
    graph: {
      ...graph,
      node: nodes,
      initializer: kept,
      input: (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '') || read.has(i.name ?? '')),
      output: outputs,
      // Intermediate type hints would now be stale; onnxruntime infers them again.
      valueInfo: [],
    },
  });
}

/** convertToFloat16 on serialised bytes. */
export function convertBytesToFloat16(bytes: Uint8Array, label: string): Uint8Array {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${label}: not a valid ONNX file: ${(e as Error).message}`);
  }
  return onnx.ModelProto.encode(convertToFloat16(model, label)).finish();
}
