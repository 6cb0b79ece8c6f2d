// The fp32 -> fp16 graph transform: the rounding of single values, where Casts go (boundary,
// fp32 islands, typed-apart inputs, side computations), refusals, and numerical agreement
// with the fp32 graph on small built graphs and a real SwinIR fixture (onnxruntime's CPU
// provider runs fp16 graphs through its own Casts, so this checks the graph, not the GPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import { convertBytesToFloat16, convertToFloat16, float32ToFloat16Bits } from '../../models/convert/fp16';
import { halfToFloatTable } from '../../models/readers/half';
import { FIXTURES_DIR, readF32, relativeL2, runOnnx } from '../fixtures';
import { convertModel } from '../../models/import';

const T = onnx.TensorProto.DataType;

test('float32 -> float16 rounds to nearest even, saturates finite values and keeps Inf and NaN', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [1e9, 0x7bff],
    [-1e9, 0xfbff],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even (zero)
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00], // half an ulp above 1: ties to even
    [1 + 3 * 2 ** -11, 0x3c02],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01],
  ];
  for (const [value, bits] of cases)
    assert.equal(float32ToFloat16Bits(value), bits, `${value} -> 0x${bits.toString(16)}`);
  assert.equal(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float32ToFloat16Bits(NaN) & 0x3ff, 0);
  // Every value comes back within half a float16 ulp.
  const table = halfToFloatTable();
  let seed = 7;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const v = (seed / 2 ** 31 - 0.5) * 2 ** ((i % 30) - 14);
    const back = table[float32ToFloat16Bits(v)] ?? NaN;
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v))), -14) - 10);
    assert.ok(Math.abs(back - v) <= ulp / 2, `${v} came back as ${back}`);
  }
});

/** conv -> LayerNormalization over channels (via transposes) -> Softmax -> Resize(scales) -> output. */
function mixedGraph(): Uint8Array {
  const g = new GraphBuilder('mixed');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const w = new Float32Array(4 * 3 * 3 * 3);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.7) * 0.3;
  const conv = g.op('Conv', [x, g.f32('w', w, [4, 3, 3, 3]), g.f32('b', [0.1, -0.2, 0.05, 0])], {
    pads: attr.ints([1, 1, 1, 1]),
  });
  const nhwc = g.op('Transpose', [conv], { perm: attr.ints([0, 2, 3, 1]) });
  const ln = g.op('LayerNormalization', [nhwc, g.f32('scale', [1, 0.5, 2, 1]), g.f32('bias', [0, 0.1, 0, -0.1])], {
    axis: attr.int(-1),
  });
  const soft = g.op('Softmax', [ln], { axis: attr.int(-1) });
  const nchw = g.op('Transpose', [soft], { perm: attr.ints([0, 3, 1, 2]) });
  const up = g.op('Resize', [nchw, '', g.f32('scales', [1, 1, 2, 2])], { mode: attr.string('nearest') });
  g.output(up, 'output', [1, 4, 'h2', 'w2']);
  return g.toBytes();
}

function decode(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** The graph's parts, present in every model these tests build. */
function parts(model: onnx.ModelProto) {
  const g = model.graph;
  assert.ok(g?.node && g.initializer && g.input && g.output, 'a complete graph');
  return { node: g.node, initializer: g.initializer, input: g.input, output: g.output };
}

function producer(model: onnx.ModelProto, value: string): onnx.INodeProto | undefined {
  return parts(model).node.find((n) => (n.output ?? []).includes(value));
}

function initializer(model: onnx.ModelProto, name: string): onnx.ITensorProto | undefined {
  return parts(model).initializer.find((t) => t.name === name);
}

test('weights are stored in fp16, the boundary stays fp32, normalisations and Softmax run in fp32, Resize scales keep their type', () => {
  const model = convertToFloat16(decode(mixedGraph()), 'mixed');
  const g = parts(model);
  assert.equal(g.input[0]?.type?.tensorType?.elemType, T.FLOAT);
  assert.equal(g.output[0]?.type?.tensorType?.elemType, T.FLOAT);
  const conv = g.node.find((n) => n.opType === 'Conv');
  assert.ok(conv);
  const [convIn, convW, convB] = conv.input ?? [];
  assert.equal(producer(model, convIn ?? '')?.opType, 'Cast', 'the fp32 input is cast to fp16 inside the graph');
  assert.equal(initializer(model, convW ?? '')?.dataType, T.FLOAT16);
  assert.equal(initializer(model, convB ?? '')?.dataType, T.FLOAT16);
  assert.equal(initializer(model, 'w'), undefined, 'the fp32 weight no node reads is gone');
  const ln = g.node.find((n) => n.opType === 'LayerNormalization');
  const lnIn = producer(model, ln?.input?.[0] ?? '');
  assert.equal(lnIn?.opType, 'Cast', 'LayerNormalization reads a Cast');
  assert.equal(lnIn?.attribute?.find((a) => a.name === 'to')?.i, T.FLOAT, 'LayerNormalization runs in fp32');
  const softmax = g.node.find((n) => n.opType === 'Softmax');
  assert.equal(producer(model, softmax?.input?.[0] ?? '')?.opType, 'LayerNormalization', 'one fp32 island, no Cast');
  const after = g.node.find(
    (n) => n.opType === 'Transpose' && n.input?.[0] !== undefined && producer(model, n.input[0])?.opType === 'Cast',
  );
  assert.ok(after, 'the Transpose after Softmax reads it through a Cast back to fp16');
  assert.equal(initializer(model, ln?.input?.[1] ?? '')?.dataType, T.FLOAT, 'LayerNormalization keeps its fp32 scale');
  const resize = g.node.find((n) => n.opType === 'Resize');
  assert.equal(resize?.input?.[2], 'scales');
  assert.equal(initializer(model, 'scales')?.dataType, T.FLOAT, 'Resize scales stay float32');
  const last = producer(model, 'output');
  assert.equal(last?.opType, 'Cast');
  assert.equal(last?.attribute?.find((a) => a.name === 'to')?.i, T.FLOAT);
});

test('the fp16 graph computes what the fp32 graph does, to fp16 accuracy', async () => {
  const fp32 = mixedGraph();
  const fp16 = convertBytesToFloat16(fp32, 'mixed');
  const input = new Float32Array(3 * 10 * 12).map((_, i) => ((i * 37) % 101) / 100);
  const a = await runOnnx(fp32, input, [1, 3, 10, 12]);
  const b = await runOnnx(fp16, input, [1, 3, 10, 12]);
  assert.deepEqual(b.dims, a.dims);
  assert.equal(b.type, 'float32');
  const rel = relativeL2(b.data as Float32Array, a.data as Float32Array);
  assert.ok(rel > 0 && rel < 2e-3, `relative L2 ${rel}`);
});

test('shape arithmetic stays int64 and float side computations that do not read the image stay fp32', () => {
  const g = new GraphBuilder('side');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const shape = g.op('Shape', [x]);
  // A mask made from the shape alone (ConstantOfShape -> Mul): not an activation.
  const ones = g.op('ConstantOfShape', [shape], {
    value: attr.tensor({ data: new Float32Array([1]), dims: [1] }),
  });
  const mask = g.op('Mul', [ones, g.f32('minus', [-100])]);
  const flat = g.op('Reshape', [x, g.i64('flat', [1, -1])]);
  const back = g.op('Reshape', [flat, shape]);
  const y = g.op('Add', [back, mask]);
  g.output(y, 'output', [1, 3, 'height', 'width']);
  const model = convertToFloat16(decode(g.toBytes()), 'side');
  const mul = parts(model).node.find((n) => n.opType === 'Mul');
  assert.equal(initializer(model, mul?.input?.[1] ?? '')?.dataType, T.FLOAT, 'the mask is computed in fp32');
  assert.equal(initializer(model, 'flat')?.dataType, T.INT64);
  const add = parts(model).node.find((n) => n.opType === 'Add');
  const maskIn = producer(model, add?.input?.[1] ?? '');
  assert.equal(maskIn?.opType, 'Cast', 'the fp32 mask meets the fp16 activation through a Cast');
  assert.equal(maskIn?.attribute?.find((a) => a.name === 'to')?.i, T.FLOAT16);
  const reshapes = parts(model).node.filter((n) => n.opType === 'Reshape');
  assert.equal(reshapes[1]?.input?.[1], shape, 'the Shape output feeds Reshape as it was');
});

test('one Cast per edge, shared by every reader', () => {
  const g = new GraphBuilder('fanout');
  const x = g.input('input', [1, 1, 'height', 'width']);
  const a = g.op('Relu', [x]);
  const b = g.op('Sigmoid', [x]);
  g.output(g.op('Add', [a, b]), 'output', [1, 1, 'height', 'width']);
  const model = convertToFloat16(decode(g.toBytes()), 'fanout');
  const casts = parts(model).node.filter((n) => n.opType === 'Cast');
  assert.equal(casts.length, 2, 'the input cast in, the output cast out');
});

test('an operator the converter does not know, another domain, or a subgraph is refused by name', () => {
  const unknown = new GraphBuilder('unknown');
  const x = unknown.input('input', [1, 3, 'height', 'width']);
  unknown.output(unknown.op('Mish', [x]), 'output', [1, 3, 'height', 'width']);
  assert.throws(
    () => convertBytesToFloat16(unknown.toBytes(), 'm.onnx'),
    /m\.onnx: cannot convert to fp16: operator Mish is not one the fp16 converter knows/,
  );
  const model = decode(unknown.toBytes());
  const node = parts(model).node[0];
  assert.ok(node);
  node.opType = 'Relu';
  node.domain = 'com.microsoft';
  assert.throws(() => convertToFloat16(model, 'd.onnx'), /operator com\.microsoft\.Relu is outside the ONNX domain/);
  assert.throws(() => convertBytesToFloat16(new Uint8Array([1, 2, 3]), 'bad.onnx'), /bad\.onnx: not a valid ONNX file/);
});

test('a real SwinIR (attention masks, relative positions, LayerNorm, Softmax) converts and stays close to its fp32 output', async () => {
  const dir = path.join(FIXTURES_DIR, 'arch', 'swinir_classical_x2');
  const converted = await convertModel(path.join(dir, 'swinir_classical_x2.safetensors'));
  const fp16 = convertBytesToFloat16(converted.onnx, 'swinir');
  assert.ok(fp16.length < converted.onnx.length * 0.6, `${fp16.length} bytes from ${converted.onnx.length}`);
  const golden = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as {
    input_shape: number[];
    output_shape: number[];
  };
  const input = readF32(path.join(dir, 'input.f32'));
  const out = await runOnnx(fp16, input, golden.input_shape);
  assert.deepEqual(out.dims, golden.output_shape);
  const rel = relativeL2(out.data as Float32Array, readF32(path.join(dir, 'output.f32')));
  console.log(`swinir_classical_x2 in fp16 weights: relative L2 ${rel.toExponential(3)} against upstream fp32`);
  assert.ok(rel < 5e-3, `relative L2 ${rel}`);
});
