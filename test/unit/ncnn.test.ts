import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { convertNcnn, decodeNcnnModel } from '../../models/convert/ncnn';
import { parseNcnnParam } from '../../models/readers/ncnn-param';

const LABEL = 'tiny.param';

function float32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function uint32Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function float16Bytes(halfBits: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(halfBits.length * 2);
  const view = new DataView(bytes.buffer);
  halfBits.forEach((h, i) => view.setUint16(i * 2, h, true));
  return bytes;
}

function joinBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const FLOAT32_TAG = uint32Bytes(0);
const FLOAT16_TAG = uint32Bytes(0x01306b47);
const INT8_TAG = uint32Bytes(0x000d4b38);

async function runOnnx(
  onnx: Uint8Array,
  input: readonly number[],
  dims: readonly number[],
): Promise<{ data: number[]; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(onnx);
  const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(input), dims) });
  const output = result['output'];
  assert.ok(output, 'the model has an output named "output"');
  return { data: Array.from(output.data as Float32Array), dims: output.dims };
}

function paramText(layers: readonly string[], blobCount: number): string {
  return ['7767517', `${layers.length} ${blobCount}`, ...layers].join('\n') + '\n';
}

// A 1x1 convolution 3 -> 3 with bias: out[o] = sum_i W[o][i] * in[i] + b[o].
const CONV_1X1 = paramText(
  ['Input            input    0 1 data 0=2 1=1 2=3', 'Convolution      conv     1 1 data out 0=3 1=1 5=1 6=9'],
  2,
);
const CONV_WEIGHTS = [1, 0, 0, 0.5, -1, 0, 0, 2, 0.25];
// The same values as IEEE half bits: 1 = 0x3c00, 0.5 = 0x3800, -1 = 0xbc00, 2 = 0x4000, 0.25 = 0x3400.
const CONV_WEIGHTS_HALF = [0x3c00, 0, 0, 0x3800, 0xbc00, 0, 0, 0x4000, 0x3400];
const CONV_BIAS = [0.5, 0, -1];
// Input 1x3x1x2: pixel 0 = (1, 2, 4), pixel 1 = (-1, 0, 8).
const CONV_INPUT = [1, -1, 2, 0, 4, 8];
// Worked by hand, channel-major:
//   out0 = in0 + 0.5                 -> 1.5, -0.5
//   out1 = 0.5*in0 - in1             -> -1.5, -0.5
//   out2 = 2*in1 + 0.25*in2 - 1      -> 4, 1
const CONV_EXPECTED = [1.5, -0.5, -1.5, -0.5, 4, 1];

test('parseNcnnParam reads layers, blobs and every parameter spelling', () => {
  const parsed = parseNcnnParam(
    paramText(
      [
        'Input         in        0 1 data',
        'Split         split     1 2 data a b',
        'Convolution   conv      1 1 a c 0=3 1=3 4=1 5=1 6=81 9=2 -23310=1,2.000000e-01',
        'Eltwise       sum       2 1 c b d 0=1 -23301=2,0.5,1.0',
        'Interp        up        1 1 d e 0=1 1=2.0 2=2.e0 3=0,1 4=name',
      ],
      6,
    ),
    LABEL,
  );
  assert.equal(parsed.layers.length, 5);
  assert.equal(parsed.blobCount, 6);
  const [input, split, conv, sum, up] = parsed.layers;
  assert.deepEqual(input?.outputs, ['data']);
  assert.deepEqual(split?.inputs, ['data']);
  assert.deepEqual(split?.outputs, ['a', 'b']);
  assert.equal(conv?.type, 'Convolution');
  assert.equal(conv?.line, 5);
  assert.deepEqual(conv?.params.get(0), { kind: 'int', value: 3 });
  assert.deepEqual(conv?.params.get(10), { kind: 'array', values: [0.2], hasFloat: true });
  assert.deepEqual(sum?.inputs, ['c', 'b']);
  assert.deepEqual(sum?.params.get(1), { kind: 'array', values: [0.5, 1], hasFloat: true });
  assert.deepEqual(up?.params.get(1), { kind: 'float', value: 2 });
  assert.deepEqual(up?.params.get(2), { kind: 'float', value: 2 });
  assert.deepEqual(up?.params.get(3), { kind: 'array', values: [0, 1], hasFloat: false });
  assert.deepEqual(up?.params.get(4), { kind: 'string', value: 'name' });
});

test('parseNcnnParam rejects a bad magic number, naming the file', () => {
  assert.throws(
    () => parseNcnnParam('7767518\n1 1\nInput in 0 1 data\n', LABEL),
    (e: Error) => {
      assert.match(e.message, /tiny\.param/);
      assert.match(e.message, /magic number 7767517/);
      assert.match(e.message, /found '7767518'/);
      return true;
    },
  );
});

test('parseNcnnParam rejects wrong counts and unknown blobs', () => {
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data'], 1).replace('1 1', '2 1'), LABEL),
    /tiny\.param: the header declares 2 layers but the file has 1/,
  );
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data'], 2), LABEL),
    /tiny\.param: the header declares 2 blobs but the layers produce 1/,
  );
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data', 'ReLU relu 1 1 missing out'], 2), LABEL),
    /tiny\.param: layer ReLU 'relu' \(line 4\): reads blob 'missing', which no earlier layer produces/,
  );
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data', 'ReLU relu 1 1 data data'], 2), LABEL),
    /layer ReLU 'relu' \(line 4\): produces blob 'data', which layer 'in' \(line 3\) already produces/,
  );
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data', 'Concat cat 3 1 data out 0=0'], 2), LABEL),
    /layer Concat 'cat' \(line 4\): declares 3 inputs and 1 outputs \(4 blob names\) but the line has 2: data out/,
  );
  assert.throws(
    () => parseNcnnParam(paramText(['Input in 0 1 data', 'Eltwise sum 1 1 data out -23301=3,1.0,2.0'], 2), LABEL),
    /layer Eltwise 'sum' \(line 4\): array parameter -23301 declares 3 values but has 2/,
  );
});

test('a float32 1x1 convolution matches the hand-computed result', async () => {
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(CONV_WEIGHTS), float32Bytes(CONV_BIAS));
  const out = await runOnnx(convertNcnn(CONV_1X1, bin, LABEL), CONV_INPUT, [1, 3, 1, 2]);
  assert.deepEqual(out.dims, [1, 3, 1, 2]);
  assert.deepEqual(out.data, CONV_EXPECTED);
});

test('a float16 1x1 convolution (9 halves, padded to 20 bytes) matches the hand-computed result', async () => {
  const halves = float16Bytes(CONV_WEIGHTS_HALF);
  assert.equal(halves.length, 18);
  const bin = joinBytes(FLOAT16_TAG, halves, new Uint8Array(2), float32Bytes(CONV_BIAS));
  const model = decodeNcnnModel(parseNcnnParam(CONV_1X1, LABEL), bin, LABEL);
  const conv = model.operations[1];
  assert.ok(conv?.op === 'conv');
  assert.deepEqual(Array.from(conv.weight), CONV_WEIGHTS);
  assert.deepEqual(conv.weightDims, [3, 3, 1, 1]);
  const out = await runOnnx(convertNcnn(CONV_1X1, bin, LABEL), CONV_INPUT, [1, 3, 1, 2]);
  assert.deepEqual(out.data, CONV_EXPECTED);
});

test('a 3x3 convolution with padding and fused LeakyReLU', async () => {
  // Every output channel sums the 3x3 neighbourhood of input channel 0 (zero-padded).
  const param = paramText(
    ['Input       in    0 1 data', 'Convolution conv  1 1 data out 0=3 1=3 4=1 5=0 6=81 9=2 -23310=1,0.5'],
    2,
  );
  const weights: number[] = [];
  for (let o = 0; o < 3; o++)
    for (let i = 0; i < 3; i++) for (let k = 0; k < 9; k++) weights.push(i === 0 ? (o === 2 ? -1 : 1) : 0);
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(weights));
  // Input 1x3x2x2; channel 0 = [[1, 2], [3, 4]]: every 3x3 window covers all four pixels.
  const input = [1, 2, 3, 4, 9, 9, 9, 9, 7, 7, 7, 7];
  const out = await runOnnx(convertNcnn(param, bin, LABEL), input, [1, 3, 2, 2]);
  // Channels 0, 1: sum 10; channel 2: -10, through LeakyReLU(0.5) -> -5.
  assert.deepEqual(out.data, [10, 10, 10, 10, 10, 10, 10, 10, -5, -5, -5, -5]);
});

test('PReLU, Eltwise with coefficients, scalar BinaryOp, Concat and nearest Interp', async () => {
  const param = paramText(
    [
      'Input     in     0 1 data',
      'Split     split  1 3 data a b c',
      'PReLU     prelu  1 1 a p 0=1',
      'Eltwise   sum    2 1 p b s 0=1 -23301=2,2.0,-1.0',
      'BinaryOp  add    1 1 s t 0=0 1=1 2=1.5',
      'BinaryOp  rsub   2 1 t c u 0=7',
      'Interp    up     1 1 u out 0=1 1=2.0 2=2.0',
    ],
    9,
  );
  const bin = float32Bytes([0.25]);
  // Input 1x3x1x1: x = (2, -4, 8).
  const out = await runOnnx(convertNcnn(param, bin, LABEL), [2, -4, 8], [1, 3, 1, 1]);
  // p = prelu(x) = (2, -1, 8); s = 2p - x = (2, 2, 8); t = s + 1.5 = (3.5, 3.5, 9.5);
  // u = x - t (rsub: b - a) = (-1.5, -7.5, -1.5); nearest 2x repeats each value 4 times.
  assert.deepEqual(out.dims, [1, 3, 2, 2]);
  assert.deepEqual(out.data, [-1.5, -1.5, -1.5, -1.5, -7.5, -7.5, -7.5, -7.5, -1.5, -1.5, -1.5, -1.5]);
});

test('nearest Interp follows PyTorch: output pixel y reads input floor(y / scale)', async () => {
  const param = paramText(['Input in 0 1 data', 'Interp up 1 1 data out 0=1 1=3.0 2=2.0'], 2);
  const input = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // 1x3x2x2
  const out = await runOnnx(convertNcnn(param, new Uint8Array(0), LABEL), input, [1, 3, 2, 2]);
  assert.deepEqual(out.dims, [1, 3, 6, 4]);
  assert.deepEqual(out.data.slice(0, 24), [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4, 3, 3, 4, 4]);
});

test('PixelShuffle mode 0 is PyTorch order (CRD) and mode 1 is DCR', async () => {
  // 12 channels of 1x1 holding their own index, shuffled by 2 into 3 channels of 2x2. A
  // 1x1 convolution builds them from the 3-channel input: channel k = k * input channel 0.
  const weights: number[] = [];
  for (let k = 0; k < 12; k++) weights.push(k, 0, 0);
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(weights));
  const paramFor = (mode: number): string =>
    paramText(
      [
        'Input        in   0 1 data',
        'Convolution  conv 1 1 data c 0=12 1=1 6=36',
        `PixelShuffle ps   1 1 c out 0=2 1=${mode}`,
      ],
      3,
    );
  const crd = await runOnnx(convertNcnn(paramFor(0), bin, LABEL), [1, 0, 0], [1, 3, 1, 1]);
  assert.deepEqual(crd.dims, [1, 3, 2, 2]);
  // Output channel c, pixel (dy, dx) reads input channel c*4 + dy*2 + dx.
  assert.deepEqual(crd.data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const dcr = await runOnnx(convertNcnn(paramFor(1), bin, LABEL), [1, 0, 0], [1, 3, 1, 1]);
  // Output channel c, pixel (dy, dx) reads input channel (dy*2 + dx)*3 + c.
  assert.deepEqual(dcr.data, [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
});

test('a truncated .bin names the file, the layer and the byte counts', () => {
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(CONV_WEIGHTS), float32Bytes(CONV_BIAS.slice(0, 2)));
  assert.throws(
    () => convertNcnn(CONV_1X1, bin, LABEL),
    (e: Error) => {
      assert.match(e.message, /^tiny\.param: layer Convolution 'conv' \(line 4\): bias data \(3 float32 values\)/);
      assert.match(e.message, /needs 12 bytes at \.bin offset 40, but only 8 remain/);
      return true;
    },
  );
  assert.throws(
    () => convertNcnn(CONV_1X1, FLOAT32_TAG.slice(0, 3), LABEL),
    /layer Convolution 'conv' \(line 4\): weight data's storage tag needs 4 bytes at \.bin offset 0, but only 3 remain/,
  );
});

test('bytes left over after the last layer are a mismatch', () => {
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(CONV_WEIGHTS), float32Bytes(CONV_BIAS), new Uint8Array(8));
  assert.throws(
    () => convertNcnn(CONV_1X1, bin, LABEL),
    /^Error: tiny\.param: the \.bin has 8 bytes left over after the last layer's weights \(read 52 of 60\)/,
  );
});

test('int8 weights and unknown storage tags are rejected as unsupported', () => {
  const int8 = joinBytes(INT8_TAG, new Uint8Array(12), float32Bytes(CONV_BIAS));
  assert.throws(
    () => convertNcnn(CONV_1X1, int8, LABEL),
    (e: Error) => {
      assert.match(
        e.message,
        /^tiny\.param: layer Convolution 'conv' \(line 4\): weight data is int8-quantized \(storage tag 0x000d4b38/,
      );
      assert.match(e.message, /unsupported/);
      return true;
    },
  );
  const odd = joinBytes(uint32Bytes(0x12345678), float32Bytes(CONV_WEIGHTS), float32Bytes(CONV_BIAS));
  assert.throws(
    () => convertNcnn(CONV_1X1, odd, LABEL),
    /layer Convolution 'conv' \(line 4\): weight data has storage tag 0x12345678 .*unsupported/,
  );
});

test('an unknown layer type is named with the supported list', () => {
  const param = paramText(['Input in 0 1 data', 'Softmax soft 1 1 data out 0=0'], 2);
  assert.throws(
    () => convertNcnn(param, new Uint8Array(0), LABEL),
    (e: Error) => {
      assert.match(e.message, /^tiny\.param: layer Softmax 'soft' \(line 4\): layer type 'Softmax' is not supported/);
      assert.match(e.message, /supported types: Input, Split, Convolution, .*PixelShuffle/);
      return true;
    },
  );
});

test('parameter problems name the layer and what was expected', () => {
  const wrongSize = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=3 1=3 6=27'], 2);
  assert.throws(
    () => convertNcnn(wrongSize, new Uint8Array(0), LABEL),
    /layer Convolution 'conv' \(line 4\): weight_data_size \(parameter 6\) is 27, expected 81/,
  );
  const int8 = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=3 1=1 6=9 8=1'], 2);
  assert.throws(
    () => convertNcnn(int8, new Uint8Array(0), LABEL),
    /layer Convolution 'conv' \(line 4\): parameter 8 \(int8_scale_term: int8 inference\) = integer 1 is not supported/,
  );
  const oddPad = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=3 1=3 6=81 4=-1'], 2);
  assert.throws(
    () => convertNcnn(oddPad, new Uint8Array(0), LABEL),
    /layer Convolution 'conv' \(line 4\): padding top\/left\/bottom\/right = -1\/-1\/-1\/-1 is not supported/,
  );
  const floatCount = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=3.0 1=1 6=9'], 2);
  assert.throws(
    () => convertNcnn(floatCount, new Uint8Array(0), LABEL),
    /layer Convolution 'conv' \(line 4\): parameter 0 should be an integer, found float 3/,
  );
  const fourChannels = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=4 1=1 6=12'], 2);
  assert.throws(
    () => convertNcnn(fourChannels, joinBytes(FLOAT32_TAG, float32Bytes(new Array<number>(12).fill(0))), LABEL),
    /tiny\.param: the output blob 'out' has 4 channels, expected 3/,
  );
});

test('SAME padding (-233) becomes ONNX SAME_UPPER', async () => {
  // A 2x2 kernel of ones at stride 1 on a 1x2 image: SAME_UPPER pads one column after.
  const param = paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=3 1=2 4=-233 6=36'], 2);
  const weights: number[] = [];
  for (let o = 0; o < 3; o++) for (let i = 0; i < 3; i++) for (let k = 0; k < 4; k++) weights.push(i === o ? 1 : 0);
  const bin = joinBytes(FLOAT32_TAG, float32Bytes(weights));
  const out = await runOnnx(convertNcnn(param, bin, LABEL), [1, 2, 3, 4, 5, 6], [1, 3, 1, 2]);
  assert.deepEqual(out.dims, [1, 3, 1, 2]);
  assert.deepEqual(out.data, [3, 2, 7, 4, 11, 6]);
});

test('bilinear Interp at a non-integer scale samples like ncnn (in/out size ratio, clamped at the edges)', async () => {
  const param = paramText(['Input in 0 1 data', 'Interp up 1 1 data out 0=2 1=1.0 2=1.5'], 2);
  // Every 2x2 channel has rows [0, 4]; width 2 * 1.5 -> 3. ncnn samples x = (dx + 0.5) * 2/3 - 0.5
  // = -1/6 (clamped to 0), 0.5, 7/6 (clamped to 1): values 0, 2, 4.
  const input = [0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4];
  const out = await runOnnx(convertNcnn(param, new Uint8Array(0), LABEL), input, [1, 3, 2, 2]);
  assert.deepEqual(out.dims, [1, 3, 2, 3]);
  assert.deepEqual(out.data, [0, 2, 4, 0, 2, 4, 0, 2, 4, 0, 2, 4, 0, 2, 4, 0, 2, 4]);
});

test('ReLU with slope, Clip and Sigmoid layers, concatenated along the width', async () => {
  const param = paramText(
    [
      'Input   in    0 1 data',
      'Split   split 1 3 data a b c',
      'ReLU    leaky 1 1 a ra 0=1.000000e-01',
      'Clip    clip  1 1 b cb 0=-1.0 1=1.0',
      'Sigmoid sig   1 1 c sc',
      'Concat  cat   3 1 ra cb sc out 0=2',
    ],
    8,
  );
  const out = await runOnnx(convertNcnn(param, new Uint8Array(0), LABEL), [-2, 0, 3], [1, 3, 1, 1]);
  assert.deepEqual(out.dims, [1, 3, 1, 3]);
  const expected = [-0.2, -1, 1 / (1 + Math.exp(2)), 0, 0, 0.5, 3, 1, 1 / (1 + Math.exp(-3))];
  out.data.forEach((v, i) =>
    assert.ok(Math.abs(v - (expected[i] as number)) < 1e-6, `element ${i}: ${v} vs ${expected[i]}`),
  );
});
