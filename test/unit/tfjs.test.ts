import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertTfjs, type PixelRanges } from '../../models/convert/tfjs';
import {
  decodeTfjsWeights,
  parseTfjsModelJson,
  readTfjsModelFiles,
  type TfjsQuantization,
} from '../../models/readers/tfjs';

const LABEL = 'tiny/model.json';
const UNIT_RANGES: PixelRanges = { inputMax: 1, outputMax: 1 };

interface TestLayer {
  readonly className: string;
  readonly name: string;
  readonly config?: Record<string, unknown>;
  readonly inbound?: readonly string[];
}

interface TestWeight {
  readonly name: string;
  readonly shape: readonly number[];
  /** Float values, or the stored integers / half-float bits when quantized. */
  readonly values: readonly number[];
  readonly quantization?: TfjsQuantization;
}

function storedBytes(w: TestWeight): Uint8Array {
  if (!w.quantization) return new Uint8Array(Float32Array.from(w.values).buffer);
  if (w.quantization.dtype === 'uint8') return Uint8Array.from(w.values);
  return new Uint8Array(Uint16Array.from(w.values).buffer);
}

/** A layers-model model.json (Functional) and one shard per weight group of `groups`. */
function buildModel(
  layers: readonly TestLayer[],
  weights: readonly TestWeight[],
  output?: string,
): { text: string; shards: Map<string, Uint8Array> } {
  const inputName = (layers[0] as TestLayer).name;
  const outputName = output ?? (layers[layers.length - 1] as TestLayer).name;
  const modelTopology = {
    keras_version: '2.10.0',
    backend: 'tensorflow',
    model_config: {
      class_name: 'Functional',
      config: {
        name: 'tiny',
        layers: layers.map((l) => ({
          class_name: l.className,
          name: l.name,
          config: { name: l.name, ...(l.config ?? {}) },
          inbound_nodes: l.inbound ? [l.inbound.map((from) => [from, 0, 0, {}])] : [],
        })),
        input_layers: [[inputName, 0, 0]],
        output_layers: [[outputName, 0, 0]],
      },
    },
  };
  const shard = Buffer.concat(weights.map(storedBytes));
  const weightsManifest = [
    {
      paths: ['group1-shard1of1.bin'],
      weights: weights.map((w) => ({
        name: w.name,
        shape: w.shape,
        dtype: 'float32',
        ...(w.quantization ? { quantization: w.quantization } : {}),
      })),
    },
  ];
  const text = JSON.stringify({
    format: 'layers-model',
    generatedBy: 'test',
    convertedBy: 'test',
    modelTopology,
    weightsManifest,
  });
  return { text, shards: new Map([['group1-shard1of1.bin', new Uint8Array(shard)]]) };
}

const INPUT: TestLayer = {
  className: 'InputLayer',
  name: 'LR',
  config: { batch_input_shape: [null, null, null, 3], dtype: 'float32' },
};

function conv(
  name: string,
  from: string,
  filters: number,
  kernel: number,
  extra: Record<string, unknown> = {},
): TestLayer {
  return {
    className: 'Conv2D',
    name,
    inbound: [from],
    config: {
      filters,
      kernel_size: [kernel, kernel],
      strides: [1, 1],
      padding: 'same',
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      groups: 1,
      activation: 'linear',
      use_bias: true,
      ...extra,
    },
  };
}

/** Kernel values in Keras HWIO order from a function of (y, x, in, out). */
function hwio(
  kh: number,
  kw: number,
  cin: number,
  cout: number,
  value: (y: number, x: number, i: number, o: number) => number,
): number[] {
  const out: number[] = [];
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out.push(value(y, x, i, o));
  return out;
}

/** A small test image, NCHW, value c/10 + h/100 + w/1000 (distinct and below 0.3). */
function image(height: number, width: number): number[] {
  const data: number[] = [];
  for (let c = 0; c < 3; c++)
    for (let h = 0; h < height; h++) for (let w = 0; w < width; w++) data.push(c / 10 + h / 100 + w / 1000);
  return data;
}

async function run(
  onnx: Uint8Array,
  input: readonly number[],
  dims: readonly number[],
): Promise<{ data: number[]; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(onnx);
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual(session.outputNames, ['output']);
  const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(input), dims) });
  const output = result['output'];
  assert.ok(output);
  return { data: Array.from(output.data as Float32Array), dims: output.dims };
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, 'value count');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs((actual[i] as number) - (expected[i] as number)) <= tolerance,
      `value ${i}: ${actual[i]} != ${expected[i]}`,
    );
  }
}

function convert(
  model: { text: string; shards: Map<string, Uint8Array> },
  ranges: PixelRanges = UNIT_RANGES,
): Uint8Array {
  return convertTfjs(model.text, model.shards, ranges, LABEL);
}

// --- reader ---

test('parses a Functional model: layers, inbound layers, inputs and outputs', () => {
  const m = buildModel(
    [INPUT, conv('c', 'LR', 3, 1)],
    [
      { name: 'c/kernel', shape: [1, 1, 3, 3], values: hwio(1, 1, 3, 3, () => 0) },
      { name: 'c/bias', shape: [3], values: [0, 0, 0] },
    ],
  );
  const parsed = parseTfjsModelJson(m.text, LABEL);
  assert.deepEqual(parsed.model.inputs, ['LR']);
  assert.deepEqual(parsed.model.outputs, ['c']);
  assert.deepEqual(
    parsed.model.layers.map((l) => [l.className, l.name, l.inbound]),
    [
      ['InputLayer', 'LR', []],
      ['Conv2D', 'c', ['LR']],
    ],
  );
  assert.deepEqual(
    parsed.weightGroups[0]?.weights.map((w) => w.name),
    ['c/kernel', 'c/bias'],
  );
});

test('parses a Sequential model by chaining its layers after a synthesised input', () => {
  const text = JSON.stringify({
    format: 'layers-model',
    modelTopology: {
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [
            { class_name: 'Conv2D', config: { name: 'a', batch_input_shape: [null, null, null, 3] } },
            { class_name: 'Activation', config: { name: 'b', activation: 'relu' } },
          ],
        },
      },
    },
    weightsManifest: [],
  });
  const model = parseTfjsModelJson(text, LABEL).model;
  assert.deepEqual(
    model.layers.map((l) => [l.className, l.name, l.inbound]),
    [
      ['InputLayer', 'a_input', []],
      ['Conv2D', 'a', ['a_input']],
      ['Activation', 'b', ['a']],
    ],
  );
  assert.deepEqual(model.inputs, ['a_input']);
  assert.deepEqual(model.outputs, ['b']);
});

test('a group split across shards is read as one stream (a weight may straddle two shards)', () => {
  const values = [1.5, -2, 3.25, 4, 5, 6];
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  const groups = [
    {
      paths: ['s1', 's2'],
      weights: [
        { name: 'a', shape: [2], dtype: 'float32' as const },
        { name: 'b', shape: [2, 2], dtype: 'float32' as const },
      ],
    },
  ];
  // 10 bytes then 14: the cut falls inside b's first value.
  const tensors = decodeTfjsWeights(
    groups,
    new Map([
      ['s1', bytes.slice(0, 10)],
      ['s2', bytes.slice(10)],
    ]),
    LABEL,
  );
  assert.deepEqual(Array.from(tensors.get('a')?.data ?? []), [1.5, -2]);
  assert.deepEqual(Array.from(tensors.get('b')?.data ?? []), [3.25, 4, 5, 6]);
  assert.deepEqual(tensors.get('b')?.shape, [2, 2]);
});

test('quantized weights are dequantized: uint8 and uint16 as q * scale + min, float16 as half floats', () => {
  const groups = [
    {
      paths: ['s'],
      weights: [
        {
          name: 'u8',
          shape: [3],
          dtype: 'float32' as const,
          quantization: { dtype: 'uint8' as const, scale: 0.5, min: -1 },
        },
        {
          name: 'u16',
          shape: [2],
          dtype: 'float32' as const,
          quantization: { dtype: 'uint16' as const, scale: 0.25, min: 10 },
        },
        { name: 'f16', shape: [3], dtype: 'float32' as const, quantization: { dtype: 'float16' as const } },
        { name: 'f32', shape: [1], dtype: 'float32' as const },
      ],
    },
  ];
  const shard = Buffer.concat([
    Uint8Array.from([0, 2, 255]), // u8 -> -1, 0, 126.5
    new Uint8Array(Uint16Array.from([4, 1000]).buffer), // u16 -> 11, 260
    new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3555]).buffer), // 1, -2, 0.333251953125
    new Uint8Array(Float32Array.from([7.5]).buffer),
  ]);
  // 3 + 4 + 6 + 4 bytes: the odd offsets check that unaligned weights are copied, not viewed.
  const tensors = decodeTfjsWeights(groups, new Map([['s', new Uint8Array(shard)]]), LABEL);
  assert.deepEqual(Array.from(tensors.get('u8')?.data ?? []), [-1, 0, 126.5]);
  assert.deepEqual(Array.from(tensors.get('u16')?.data ?? []), [11, 260]);
  assert.deepEqual(Array.from(tensors.get('f16')?.data ?? []), [1, -2, 0.333251953125]);
  assert.deepEqual(Array.from(tensors.get('f32')?.data ?? []), [7.5]);
});

test('quantization specs are read from model.json', () => {
  const m = buildModel(
    [INPUT],
    [{ name: 'q', shape: [2], values: [0, 1], quantization: { dtype: 'uint8', scale: 2, min: 1 } }],
  );
  const parsed = parseTfjsModelJson(m.text, LABEL);
  assert.deepEqual(parsed.weightGroups[0]?.weights[0]?.quantization, { dtype: 'uint8', scale: 2, min: 1 });
  assert.deepEqual(Array.from(decodeTfjsWeights(parsed.weightGroups, m.shards, LABEL).get('q')?.data ?? []), [1, 3]);
});

test('a missing shard is named', () => {
  const groups = [
    {
      paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
      weights: [{ name: 'a', shape: [2], dtype: 'float32' as const }],
    },
  ];
  assert.throws(
    () => decodeTfjsWeights(groups, new Map([['group1-shard1of2.bin', new Uint8Array(4)]]), LABEL),
    /tiny\/model\.json: weightsManifest group 0: weight shard 'group1-shard2of2\.bin' is missing/,
  );
});

test('a missing shard file on disk is named with where it was looked for', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-test-'));
  try {
    const m = buildModel([INPUT], [{ name: 'a', shape: [1], values: [1] }]);
    fs.writeFileSync(path.join(dir, 'model.json'), m.text);
    await assert.rejects(
      readTfjsModelFiles(path.join(dir, 'model.json')),
      /weight shard 'group1-shard1of1\.bin' is missing \(looked for .*group1-shard1of1\.bin\)/,
    );
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), m.shards.get('group1-shard1of1.bin') as Uint8Array);
    const files = await readTfjsModelFiles(path.join(dir, 'model.json'));
    assert.deepEqual([...files.shards.keys()], ['group1-shard1of1.bin']);
    assert.equal(Buffer.from(files.modelJson).toString('utf8'), m.text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a shard of the wrong size is refused with both sizes', () => {
  const groups = [{ paths: ['s'], weights: [{ name: 'a', shape: [2, 3], dtype: 'float32' as const }] }];
  assert.throws(
    () => decodeTfjsWeights(groups, new Map([['s', new Uint8Array(20)]]), LABEL),
    /weightsManifest group 0: the shards hold 20 bytes \(s 20\) but its 1 weights need 24/,
  );
  assert.throws(
    () => decodeTfjsWeights(groups, new Map([['s', new Uint8Array(28)]]), LABEL),
    /hold 28 bytes .* need 24/,
  );
});

test('malformed manifests and topologies are refused clearly', () => {
  const base = JSON.parse(buildModel([INPUT], []).text) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>): string => JSON.stringify({ ...base, ...patch });
  assert.throws(() => parseTfjsModelJson('{', LABEL), /tiny\/model\.json: not JSON/);
  assert.throws(
    () => parseTfjsModelJson(variant({ format: 'graph-model' }), LABEL),
    /format is "graph-model", expected "layers-model"/,
  );
  assert.throws(
    () => parseTfjsModelJson(variant({ weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }), LABEL),
    /shard path "\.\.\/x\.bin" is not a relative path inside the model's folder/,
  );
  assert.throws(
    () =>
      parseTfjsModelJson(
        variant({ weightsManifest: [{ paths: ['s'], weights: [{ name: 'a', shape: [1], dtype: 'int32' }] }] }),
        LABEL,
      ),
    /weight 0 'a': dtype "int32" is not supported; expected float32/,
  );
  assert.throws(
    () =>
      parseTfjsModelJson(
        variant({
          weightsManifest: [
            {
              paths: ['s'],
              weights: [{ name: 'a', shape: [1], dtype: 'float32', quantization: { dtype: 'int8', scale: 1, min: 0 } }],
            },
          ],
        }),
        LABEL,
      ),
    /'a': quantization dtype "int8" is not supported; expected uint8, uint16 or float16/,
  );
  assert.throws(
    () => parseTfjsModelJson(variant({ modelTopology: { model_config: { class_name: 'Graph', config: {} } } }), LABEL),
    /model class "Graph" is not supported; expected Functional, Model or Sequential/,
  );
});

// --- layers, run through onnxruntime ---

test('Conv2D 1x1: Keras HWIO kernels become OIHW (channel mixing and bias)', async () => {
  // out[o] = sum_i K[i][o] * x[i] + b[o], with K[i][o] = (i + 1) * (o == 0 ? 1 : o == 1 ? -1 : 0.5).
  const k = (i: number, o: number): number => (i + 1) * [1, -1, 0.5][o]!;
  const m = buildModel(
    [INPUT, conv('mix', 'LR', 3, 1)],
    [
      { name: 'mix/kernel', shape: [1, 1, 3, 3], values: hwio(1, 1, 3, 3, (_y, _x, i, o) => k(i, o)) },
      { name: 'mix/bias', shape: [3], values: [0.1, 1, 0] },
    ],
  );
  const x = [0.1, 0.2, 0.3]; // one pixel, channels R G B
  const { data, dims } = await run(convert(m), x, [1, 3, 1, 1]);
  assert.deepEqual(dims, [1, 3, 1, 1]);
  // R: 0.1 + 0.4 + 0.9 + 0.1 = 1.5 -> clipped to 1; G: -(1.4) + 1 = -0.4 -> clipped to 0; B: 0.7.
  assertClose(data, [1, 0, 0.7]);
});

test('Conv2D 3x3 same: the kernel is not flipped and pads with zeros', async () => {
  // A single 1 at kernel row 0, column 1 reads the pixel above: out[h][w] = x[h-1][w].
  const m = buildModel(
    [INPUT, conv('shift', 'LR', 3, 3)],
    [
      {
        name: 'shift/kernel',
        shape: [3, 3, 3, 3],
        values: hwio(3, 3, 3, 3, (y, x, i, o) => (y === 0 && x === 1 && i === o ? 1 : 0)),
      },
      { name: 'shift/bias', shape: [3], values: [0, 0, 0] },
    ],
  );
  const input = image(3, 4);
  const { data, dims } = await run(convert(m), input, [1, 3, 3, 4]);
  assert.deepEqual(dims, [1, 3, 3, 4]);
  const expected = input.map((_v, idx) => {
    const h = Math.floor(idx / 4) % 3;
    return h === 0 ? 0 : (input[idx - 4] as number);
  });
  assertClose(data, expected);
});

test('Conv2D valid, dilated same, no bias, and fused ReLU', async () => {
  // Valid 3x3 of ones on channel 0 -> sums of 3x3 windows (shrinks 4x5 to 2x3).
  const valid = buildModel(
    [INPUT, conv('sum', 'LR', 3, 3, { padding: 'valid', use_bias: false })],
    [
      {
        name: 'sum/kernel',
        shape: [3, 3, 3, 3],
        values: hwio(3, 3, 3, 3, (_y, _x, i, o) => (i === 0 && o === 0 ? 1 / 9 : 0)),
      },
    ],
  );
  const input = image(4, 5);
  const out = await run(convert(valid), input, [1, 3, 4, 5]);
  assert.deepEqual(out.dims, [1, 3, 2, 3]);
  // Mean of channel 0 over rows h..h+2, columns w..w+2 is the centre value (h+1)/100 + (w+1)/1000.
  assertClose(out.data.slice(0, 6), [0.011, 0.012, 0.013, 0.021, 0.022, 0.023]);
  assertClose(out.data.slice(6), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

  // Dilation 2, 'same': pads 2 each side; tap (0, 0) reads x[h-2][w-2]. ReLU of (x - 0.1).
  const dilated = buildModel(
    [INPUT, conv('dil', 'LR', 3, 3, { dilation_rate: [2, 2], activation: 'relu' })],
    [
      {
        name: 'dil/kernel',
        shape: [3, 3, 3, 3],
        values: hwio(3, 3, 3, 3, (y, x, i, o) => (y === 0 && x === 0 && i === o ? 1 : 0)),
      },
      { name: 'dil/bias', shape: [3], values: [-0.1, -0.1, -0.1] },
    ],
  );
  const d = await run(convert(dilated), input, [1, 3, 4, 5]);
  const expected = input.map((_v, idx) => {
    const w = idx % 5;
    const h = Math.floor(idx / 5) % 4;
    return h < 2 || w < 2 ? 0 : Math.max(0, (input[idx - 2 * 5 - 2] as number) - 0.1);
  });
  assertClose(d.data, expected);
});

test('Activation relu, Add and MultiplyBeta', async () => {
  // out = relu(x - 0.15) + 0.2 * x
  const m = buildModel(
    [
      INPUT,
      conv('shifted', 'LR', 3, 1),
      { className: 'Activation', name: 'relu', config: { activation: 'relu' }, inbound: ['shifted'] },
      { className: 'MultiplyBeta', name: 'beta', config: { beta: 0.2 }, inbound: ['LR'] },
      { className: 'Add', name: 'sum', inbound: ['relu', 'beta'] },
    ],
    [
      { name: 'shifted/kernel', shape: [1, 1, 3, 3], values: hwio(1, 1, 3, 3, (_y, _x, i, o) => (i === o ? 1 : 0)) },
      { name: 'shifted/bias', shape: [3], values: [-0.15, -0.15, -0.15] },
    ],
  );
  const x = [0.1, 0.2, 0.5];
  const { data } = await run(convert(m), x, [1, 3, 1, 1]);
  assertClose(data, [0 + 0.02, 0.05 + 0.04, 0.35 + 0.1]);
});

test('Concatenate on the channel axis keeps input order; on the width axis it widens', async () => {
  // [x, 2x] along channels (6), then a 1x1 conv picking channels 3..5 gives 2x.
  const channels = buildModel(
    [
      INPUT,
      conv('double', 'LR', 3, 1),
      { className: 'Concatenate', name: 'cat', config: { axis: 3 }, inbound: ['LR', 'double'] },
      conv('pick', 'cat', 3, 1),
    ],
    [
      { name: 'double/kernel', shape: [1, 1, 3, 3], values: hwio(1, 1, 3, 3, (_y, _x, i, o) => (i === o ? 2 : 0)) },
      { name: 'double/bias', shape: [3], values: [0, 0, 0] },
      { name: 'pick/kernel', shape: [1, 1, 6, 3], values: hwio(1, 1, 6, 3, (_y, _x, i, o) => (i === o + 3 ? 1 : 0)) },
      { name: 'pick/bias', shape: [3], values: [0, 0, 0] },
    ],
  );
  const x = [0.1, 0.2, 0.3];
  assertClose((await run(convert(channels), x, [1, 3, 1, 1])).data, [0.2, 0.4, 0.6]);

  const width = buildModel(
    [
      INPUT,
      { className: 'MultiplyBeta', name: 'beta', inbound: ['LR'] },
      { className: 'Concatenate', name: 'cat', config: { axis: 2 }, inbound: ['LR', 'beta'] },
    ],
    [],
  );
  const out = await run(convert(width), x, [1, 3, 1, 1]);
  assert.deepEqual(out.dims, [1, 3, 1, 2]);
  assertClose(out.data, [0.1, 0.02, 0.2, 0.04, 0.3, 0.06]);
});

test('UpSampling2D nearest repeats each pixel size[0] x size[1] times', async () => {
  const m = buildModel(
    [
      INPUT,
      {
        className: 'UpSampling2D',
        name: 'up',
        config: { size: [2, 3], interpolation: 'nearest', data_format: 'channels_last' },
        inbound: ['LR'],
      },
    ],
    [],
  );
  const input = image(2, 2);
  const { data, dims } = await run(convert(m), input, [1, 3, 2, 2]);
  assert.deepEqual(dims, [1, 3, 4, 6]);
  // Channel 0 rows: x[0][0] x3, x[0][1] x3 twice, then row 1 twice.
  assertClose(
    data.slice(0, 24),
    [
      0, 0, 0, 0.001, 0.001, 0.001, 0, 0, 0, 0.001, 0.001, 0.001, 0.01, 0.01, 0.01, 0.011, 0.011, 0.011, 0.01, 0.01,
      0.01, 0.011, 0.011, 0.011,
    ],
  );
});

test('PixelShuffle<r>x is TF depth_to_space: output (c, r*h + dy, r*w + dx) reads input channel (dy*r + dx)*C + c', async () => {
  // Channel k of the 12-channel tensor is x[k % 3] * (1 + floor(k / 3)), so output pixel
  // (dy, dx) of channel c is x_c * (1 + 2*dy + dx). PyTorch's order (CRD) would give other factors.
  const m = buildModel(
    [
      INPUT,
      conv('pre', 'LR', 12, 1),
      { className: 'PixelShuffle2x', name: 'pixel_shuffle', config: { scale: 2 }, inbound: ['pre'] },
    ],
    [
      {
        name: 'pre/kernel',
        shape: [1, 1, 3, 12],
        values: hwio(1, 1, 3, 12, (_y, _x, i, k) => (k % 3 === i ? 1 + Math.floor(k / 3) : 0)),
      },
      { name: 'pre/bias', shape: [12], values: new Array<number>(12).fill(0) },
    ],
  );
  const x = [0.1, 0.2, 0.05];
  const { data, dims } = await run(convert(m), x, [1, 3, 1, 1]);
  assert.deepEqual(dims, [1, 3, 2, 2]);
  assertClose(data, [0.1, 0.2, 0.3, 0.4, 0.2, 0.4, 0.6, 0.8, 0.05, 0.1, 0.15, 0.2]);
});

test('pixel ranges: the input is scaled to the network range, the output back and clipped to [0, 1]', async () => {
  // Network sees 255x; MultiplyBeta gives 51x; divided by 255 that is 0.2x, then clipped.
  const m = buildModel([INPUT, { className: 'MultiplyBeta', name: 'beta', inbound: ['LR'] }], []);
  const x = [0.5, 1, 0];
  assertClose((await run(convert(m, { inputMax: 255, outputMax: 255 }), x, [1, 3, 1, 1])).data, [0.1, 0.2, 0]);
  assertClose((await run(convert(m, { inputMax: 255, outputMax: 1 }), x, [1, 3, 1, 1])).data, [1, 1, 0]);
  assertClose(
    (await run(convert(m, { inputMax: 1, outputMax: 255 }), x, [1, 3, 1, 1])).data,
    [0.1 / 255, 0.2 / 255, 0],
    1e-9,
  );
});

// --- refusals ---

test('an unknown layer type is refused, naming the layer and the supported types', () => {
  const m = buildModel([INPUT, { className: 'Dense', name: 'fc', config: { units: 3 }, inbound: ['LR'] }], []);
  assert.throws(
    () => convert(m),
    /tiny\/model\.json: layer 'fc' \(Dense\): layer type 'Dense' is not supported; supported types: InputLayer, Conv2D, .*PixelShuffle<r>x/,
  );
});

test('unsupported settings and inconsistent weights are refused clearly', () => {
  const kernel = { name: 'c/kernel', shape: [3, 3, 3, 3], values: new Array<number>(81).fill(0) };
  const bias = { name: 'c/bias', shape: [3], values: [0, 0, 0] };
  const withConv = (extra: Record<string, unknown>, weights: TestWeight[] = [kernel, bias]): Uint8Array =>
    convert(buildModel([INPUT, conv('c', 'LR', 3, 3, extra)], weights));
  assert.throws(
    () => withConv({ strides: [2, 2] }),
    /layer 'c' \(Conv2D\): strides \[2, 2\] are not supported; expected \[1, 1\]/,
  );
  assert.throws(
    () => withConv({ data_format: 'channels_first' }),
    /data_format is "channels_first"; supported: "channels_last"/,
  );
  assert.throws(() => withConv({ activation: 'swish' }), /activation is "swish"; supported: "linear", "relu"/);
  assert.throws(() => withConv({}, [kernel]), /weight 'c\/bias' is not in the weightsManifest/);
  assert.throws(
    () => withConv({}, [{ ...kernel, shape: [3, 3, 4, 3], values: new Array<number>(108).fill(0) }, bias]),
    /weight 'c\/kernel' has shape \[3, 3, 4, 3\], expected \[3, 3, 3, 3\]/,
  );
  assert.throws(
    () => withConv({}, [kernel, bias, { name: 'stray', shape: [1], values: [0] }]),
    /1 weights in the manifest belong to no supported layer \(stray\)/,
  );
  assert.throws(
    () =>
      convert(
        buildModel(
          [
            INPUT,
            {
              className: 'UpSampling2D',
              name: 'up',
              config: { size: [2, 2], interpolation: 'bilinear' },
              inbound: ['LR'],
            },
          ],
          [],
        ),
      ),
    /layer 'up' \(UpSampling2D\): interpolation is "bilinear"; supported: "nearest"/,
  );
  assert.throws(
    () =>
      convert(
        buildModel([INPUT, { className: 'MultiplyBeta', name: 'b', config: { beta: 0.3 }, inbound: ['LR'] }], []),
      ),
    /layer 'b' \(MultiplyBeta\): beta is 0\.3; UpscalerJS's MultiplyBeta always multiplies by 0\.2/,
  );
  assert.throws(
    () =>
      convert(
        buildModel([INPUT, { className: 'PixelShuffle2x', name: 'ps', config: { scale: 2 }, inbound: ['LR'] }], []),
      ),
    /layer 'ps' \(PixelShuffle2x\): 3 input channels are not divisible by 2\^2/,
  );
  assert.throws(
    () =>
      convert(
        buildModel(
          [INPUT, conv('c', 'LR', 3, 3), { className: 'Add', name: 'a', inbound: ['c', 'nowhere'] }],
          [kernel, bias],
        ),
      ),
    /layer 'a' \(Add\): reads 'nowhere', which is not a layer defined before it/,
  );
  assert.throws(
    () =>
      convert(
        buildModel([INPUT, { className: 'Concatenate', name: 'cat', config: { axis: 3 }, inbound: ['LR', 'LR'] }], []),
      ),
    /output layer 'cat' has 6 channels, expected 3 \(RGB\)/,
  );
  assert.throws(
    () => convert(buildModel([{ ...INPUT, config: { batch_input_shape: [null, null, null, 1] } }], [])),
    /layer 'LR' \(InputLayer\): batch_input_shape is \[null,null,null,1\], expected \[batch, height, width, 3\]/,
  );
});
