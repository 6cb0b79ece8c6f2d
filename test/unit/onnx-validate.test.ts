// Validation of users' ONNX files: structure checks read from the protobuf alone, external
// data confined to the model's folder, and probing for the scale, the input multiple and
// non-finite output. Models are built here, small enough to run in milliseconds.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import {
  MAX_OPSET,
  MIN_OPSET,
  decodeOnnx,
  firstNonFinite,
  inspectOnnx,
  scaleOf,
  unsafeLocationReason,
  validateOnnx,
  validateOnnxFile,
} from '../../models/onnx/validate';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-onnx-validate-'));
let fileCounter = 0;
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** Writes `bytes` as a fresh .onnx file in its own folder and returns its path. */
function writeModel(bytes: Uint8Array, name = 'model.onnx'): string {
  const dir = path.join(TMP, `m${++fileCounter}`);
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** input -> nearest-neighbour resize by `scale`: the simplest honest upscaler. */
function nearestUpscaler(scale: number): Uint8Array {
  const g = new GraphBuilder('nearest');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const y = g.op('Resize', [x, '', g.f32('scales', [1, 1, scale, scale])], { mode: attr.string('nearest') });
  g.output(y, 'output', [1, 3, 'oh', 'ow']);
  return g.toBytes();
}

interface RawValue {
  readonly name: string;
  readonly elemType?: number;
  readonly dims: readonly (number | string)[];
}

/** A model written field by field, for the shapes GraphBuilder deliberately cannot make. */
function rawModel(options: {
  opset?: number;
  inputs?: readonly RawValue[];
  outputs?: readonly RawValue[];
  nodes?: onnx.INodeProto[];
  initializers?: onnx.ITensorProto[];
}): Uint8Array {
  const value = (v: RawValue): onnx.IValueInfoProto => ({
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType ?? onnx.TensorProto.DataType.FLOAT,
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const inputs = options.inputs ?? [{ name: 'input', dims: [1, 3, 'h', 'w'] }];
  const outputs = options.outputs ?? [{ name: 'output', dims: [1, 3, 'h', 'w'] }];
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    graph: {
      name: 'raw',
      node: options.nodes ?? [
        { opType: 'Identity', input: [inputs[0]?.name ?? 'input'], output: [outputs[0]?.name ?? 'output'] },
      ],
      initializer: options.initializers ?? [],
      input: inputs.map(value),
      output: outputs.map(value),
    },
  }).finish();
}

const inspect = (bytes: Uint8Array): ReturnType<typeof inspectOnnx> =>
  inspectOnnx(decodeOnnx(bytes, 'm.onnx'), 'm.onnx');

// ---------------------------------------------------------------------------------------------
// Structure

test('a well-formed model reports its opset and input/output names', () => {
  const s = inspect(nearestUpscaler(2));
  assert.equal(s.opset, 17);
  assert.deepEqual(s.io, { input: 'input', output: 'output', layout: 'nchw', element: 'float32' });
});

test('garbage and truncated files fail naming the file', () => {
  const garbage = Uint8Array.from({ length: 256 }, (_, i) => (i * 73 + 11) & 0xff);
  assert.throws(() => decodeOnnx(garbage, 'junk.onnx'), {
    message: /^junk\.onnx: not (a valid ONNX file|an ONNX model)/,
  });
  const whole = nearestUpscaler(2);
  assert.throws(() => decodeOnnx(whole.subarray(0, whole.length - 7), 'cut.onnx'), {
    message: /^cut\.onnx: not a valid ONNX file \(truncated or damaged\?\)/,
  });
  assert.throws(() => decodeOnnx(Buffer.from('hello, this is a text file\n'), 'text.onnx'), {
    message: /^text\.onnx: not (a valid ONNX file|an ONNX model)/,
  });
  assert.throws(() => decodeOnnx(new Uint8Array(0), 'empty.onnx'), { message: /^empty\.onnx: not an ONNX model/ });
});

test(`opsets outside ${MIN_OPSET}..${MAX_OPSET} are refused with the range in the message`, () => {
  for (const opset of [6, MAX_OPSET + 1]) {
    assert.throws(
      () => inspect(rawModel({ opset })),
      (e: Error) => {
        assert.ok(e.message.startsWith(`m.onnx: the model uses ONNX opset ${opset}; `), e.message);
        assert.ok(e.message.includes(`opsets ${MIN_OPSET} to ${MAX_OPSET}`), e.message);
        return true;
      },
    );
  }
  assert.equal(inspect(rawModel({ opset: MAX_OPSET })).opset, MAX_OPSET);
});

test('inputs and outputs must be one float image, NCHW or NHWC', () => {
  const cases: Array<[Parameters<typeof rawModel>[0], RegExp]> = [
    [
      {
        inputs: [
          { name: 'a', dims: [1, 3, 'h', 'w'] },
          { name: 'b', dims: [1] },
        ],
      },
      /not an image-to-image model: it has 2 inputs \('a', 'b'\); expected exactly one image input/,
    ],
    [{ inputs: [{ name: 'input', dims: [3, 'h', 'w'] }] }, /input 'input' has rank 3 \[3, h, w\]; expected rank 4/],
    [
      { inputs: [{ name: 'input', dims: [1, 1, 'h', 'w'] }] },
      /input 'input' takes 1 channels \[1, 1, h, w\]; expected 3 \(RGB\)/,
    ],
    [{ inputs: [{ name: 'input', dims: [2, 3, 'h', 'w'] }] }, /fixed batch of 2/],
    [{ inputs: [{ name: 'input', dims: [1, 3, 64, 'w'] }] }, /fixes one side but not the other \[1, 3, 64, w\]/],
    [
      { inputs: [{ name: 'input', elemType: onnx.TensorProto.DataType.UINT8, dims: [1, 3, 'h', 'w'] }] },
      /input 'input' is uint8; expected a float32 or float16 image tensor/,
    ],
    [
      { inputs: [{ name: 'frames', dims: [1, 5, 3, 'h', 'w'] }] },
      /not an image-to-image model: input 'frames' has rank 5 \[1, 5, 3, h, w\], a stack of frames/,
    ],
    [
      {
        outputs: [
          { name: 'x', dims: [1, 3, 'h', 'w'] },
          { name: 'y', dims: [1, 3, 'h', 'w'] },
        ],
      },
      /has 2 outputs \('x', 'y'\)/,
    ],
    [
      { outputs: [{ name: 'output', dims: ['n', 'm'] }] },
      /not an image-to-image model: output 'output' has rank 2 \[n, m\], which is not an image/,
    ],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => inspect(rawModel(options)),
      (e: Error) => {
        assert.ok(e.message.startsWith('m.onnx: '), e.message);
        assert.match(e.message, message);
        return true;
      },
    );
  }
  // Symbolic batch and channels are fine; so is an old-IR model listing its initializers as inputs.
  assert.equal(inspect(rawModel({ inputs: [{ name: 'input', dims: ['n', 'c', 'h', 'w'] }] })).io.layout, 'nchw');
  const oldStyle = rawModel({
    inputs: [
      { name: 'input', dims: [1, 3, 'h', 'w'] },
      { name: 'w', dims: [1] },
    ],
    initializers: [{ name: 'w', dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1] }],
    nodes: [{ opType: 'Mul', input: ['input', 'w'], output: ['output'] }],
  });
  assert.equal(inspect(oldStyle).io.input, 'input');
});

// ---------------------------------------------------------------------------------------------
// Pure helpers

test('scaleOf accepts only the same whole multiple on both axes with 3 channels', () => {
  assert.equal(scaleOf(16, 24, [1, 3, 64, 96], 'm'), 4);
  assert.equal(scaleOf(16, 16, [1, 3, 16, 16], 'm'), 1);
  assert.throws(
    () => scaleOf(16, 24, [1, 3, 32, 72], 'm'),
    /not the same whole multiple k >= 1 of the input on both axes/,
  );
  assert.throws(() => scaleOf(16, 16, [1, 3, 15, 15], 'm'), /\[1, 3, 15, 15\] for input \[1, 3, 16, 16\]/);
  assert.throws(() => scaleOf(16, 16, [1, 3, 8, 8], 'm'), /not the same whole multiple/);
  assert.throws(() => scaleOf(16, 16, [1, 1, 32, 32], 'm'), /expected \[1, 3, k\*height, k\*width\]/);
  assert.throws(() => scaleOf(16, 16, [1, 3, 32], 'm'), /expected \[1, 3, k\*height, k\*width\]/);
});

test('firstNonFinite finds NaN and infinities', () => {
  assert.equal(firstNonFinite(Float32Array.from([0, 1, -2])), null);
  assert.deepEqual(firstNonFinite(Float32Array.from([0, NaN, Infinity])), { index: 1, kind: 'NaN' });
  assert.deepEqual(firstNonFinite(Float32Array.from([0, 1, -Infinity])), { index: 2, kind: 'Inf' });
});

test('unsafeLocationReason refuses absolute paths and any ..', () => {
  assert.equal(unsafeLocationReason('weights.bin'), null);
  assert.equal(unsafeLocationReason('data/weights.bin'), null);
  assert.match(unsafeLocationReason('/etc/passwd') ?? '', /absolute/);
  assert.match(unsafeLocationReason('C:\\Windows\\win.ini') ?? '', /absolute/);
  assert.match(unsafeLocationReason('../../etc/passwd') ?? '', /'\.\.'/);
  assert.match(unsafeLocationReason('data/../../x') ?? '', /'\.\.'/);
  assert.match(unsafeLocationReason('data\\..\\..\\x') ?? '', /'\.\.'/);
  assert.match(unsafeLocationReason('') ?? '', /no file/);
});

// ---------------------------------------------------------------------------------------------
// Probing

test('validateOnnx probes the scale of a nearest-neighbour x2 and x3 model', async () => {
  assert.deepEqual(await validateOnnx(writeModel(nearestUpscaler(2))), {
    scale: 2,
    inputMultiple: 1,
    opset: 17,
    io: { input: 'input', output: 'output', layout: 'nchw', element: 'float32' },
  });
  assert.equal((await validateOnnx(writeModel(nearestUpscaler(3)))).scale, 3);
});

test('a model that needs a multiple of 8 is probed to inputMultiple 8', async () => {
  // SpaceToDepth then DepthToSpace is the identity, but only on sizes divisible by the block.
  const g = new GraphBuilder('needs8');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const packed = g.op('SpaceToDepth', [x], { blocksize: attr.int(8) });
  const unpacked = g.op('DepthToSpace', [packed], { blocksize: attr.int(8), mode: attr.string('CRD') });
  const y = g.op('Resize', [unpacked, '', g.f32('scales', [1, 1, 2, 2])], { mode: attr.string('nearest') });
  g.output(y, 'output', [1, 3, 'oh', 'ow']);
  assert.deepEqual(await validateOnnx(writeModel(g.toBytes())), {
    scale: 2,
    inputMultiple: 8,
    opset: 17,
    io: { input: 'input', output: 'output', layout: 'nchw', element: 'float32' },
  });
});

test('a model whose output is cropped, not k times the input, is refused', async () => {
  const g = new GraphBuilder('crop');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const y = g.op('Slice', [x, g.i64('starts', [1, 1]), g.i64('ends', [1 << 30, 1 << 30]), g.i64('axes', [2, 3])]);
  g.output(y, 'output', [1, 3, 'oh', 'ow']);
  const file = writeModel(g.toBytes());
  await assert.rejects(validateOnnx(file), (e: Error) => {
    assert.ok(
      e.message.startsWith(
        `${file}: the model's output [1, 3, 15, 15] for input [1, 3, 16, 16] is not the same whole multiple`,
      ),
      e.message,
    );
    return true;
  });
});

test('a model producing NaN or Inf is refused with the value named', async () => {
  for (const [constant, kind] of [
    [-1, 'NaN'],
    [0, 'Inf'],
  ] as const) {
    const g = new GraphBuilder('broken');
    const x = g.input('input', [1, 3, 'height', 'width']);
    const y = g.op('Add', [x, g.op('Log', [g.f32('c', [constant])])]);
    g.output(y, 'output', [1, 3, 'height', 'width']);
    const file = writeModel(g.toBytes());
    await assert.rejects(validateOnnx(file), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: the model produces ${kind} `), e.message);
      return true;
    });
  }
});

test('a model that fails on every probe size says so with the runtime error', async () => {
  const g = new GraphBuilder('fixed');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const y = g.op('Reshape', [x, g.i64('shape', [1, 3, 10, 10])]);
  g.output(y, 'output', [1, 3, 10, 10]);
  const file = writeModel(g.toBytes());
  await assert.rejects(validateOnnx(file), (e: Error) => {
    assert.ok(e.message.startsWith(`${file}: the model fails on every test image size (16x16: `), e.message);
    return true;
  });
});

test('onnxruntime refusing to load the graph is reported with the file', async () => {
  const file = writeModel(rawModel({ nodes: [{ opType: 'NoSuchOperator', input: ['input'], output: ['output'] }] }));
  await assert.rejects(validateOnnx(file), {
    message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: onnxruntime cannot load the model: `),
  });
});

// ---------------------------------------------------------------------------------------------
// External data

/** x * w where w's one float lives in an external file at `location`. */
function externalWeightModel(location: string, extra: Record<string, string> = {}): Uint8Array {
  return rawModel({
    initializers: [
      {
        name: 'w',
        dims: [1],
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          ...Object.entries(extra).map(([key, value]) => ({ key, value })),
        ],
      },
    ],
    nodes: [{ opType: 'Mul', input: ['input', 'w'], output: ['output'] }],
  });
}

const f32Bytes = (values: number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);

test('external data inside the model folder is read and embedded', async () => {
  const file = writeModel(externalWeightModel('weights.bin', { offset: '4', length: '4' }));
  fs.writeFileSync(path.join(path.dirname(file), 'weights.bin'), f32Bytes([7, 1]));
  const validated = await validateOnnxFile(file);
  assert.equal(validated.scale, 1);
  const embedded = onnx.ModelProto.decode(validated.bytes).graph?.initializer?.[0];
  assert.equal(embedded?.dataLocation, onnx.TensorProto.DataLocation.DEFAULT);
  assert.deepEqual([...new Float32Array(Uint8Array.from(embedded?.rawData ?? []).buffer)], [1]);

  const sub = writeModel(externalWeightModel('data/weights.bin'));
  fs.mkdirSync(path.join(path.dirname(sub), 'data'));
  fs.writeFileSync(path.join(path.dirname(sub), 'data', 'weights.bin'), f32Bytes([2]));
  assert.equal((await validateOnnx(sub)).scale, 1);
});

test('external data that escapes the model folder is refused before anything runs', async () => {
  const outside = path.join(TMP, 'outside-secret.bin');
  fs.writeFileSync(outside, f32Bytes([1]));
  const cases: Array<[string, RegExp]> = [
    ['../../etc/passwd', /'\.\.\/\.\.\/etc\/passwd', which is refused: it climbs out with '\.\.'/],
    ['/etc/passwd', /'\/etc\/passwd', which is refused: it is an absolute path/],
    [outside, /which is refused: it is an absolute path/],
    ['missing.bin', /'missing\.bin', which is refused: the file does not exist/],
  ];
  for (const [location, message] of cases) {
    const file = writeModel(externalWeightModel(location));
    await assert.rejects(validateOnnx(file), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: initializer 'w' keeps its data in external file`), e.message);
      assert.match(e.message, message);
      assert.match(e.message, /must be a file inside the model's folder/);
      return true;
    });
  }

  // A symlink inside the folder that points outside is caught by realpath.
  const linked = writeModel(externalWeightModel('weights.bin'));
  fs.symlinkSync(outside, path.join(path.dirname(linked), 'weights.bin'));
  await assert.rejects(
    validateOnnx(linked),
    /'weights\.bin', which is refused: it resolves to '.*outside-secret\.bin', outside the model's folder/,
  );

  // Asking for more bytes than the file has.
  const short = writeModel(externalWeightModel('w.bin', { offset: '0', length: '400' }));
  fs.writeFileSync(path.join(path.dirname(short), 'w.bin'), f32Bytes([1]));
  await assert.rejects(validateOnnx(short), /asks for bytes 0\.\.400 but the file has 4/);
});

test('external data hidden in a node attribute is checked too', async () => {
  const bytes = rawModel({
    nodes: [
      {
        opType: 'Constant',
        output: ['w'],
        attribute: [
          {
            name: 'value',
            type: onnx.AttributeProto.AttributeType.TENSOR,
            t: {
              name: 'w',
              dims: [1],
              dataType: onnx.TensorProto.DataType.FLOAT,
              dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
              externalData: [{ key: 'location', value: '../../etc/passwd' }],
            },
          },
        ],
      },
      { opType: 'Mul', input: ['input', 'w'], output: ['output'] },
    ],
  });
  await assert.rejects(
    validateOnnx(writeModel(bytes)),
    /attribute 'value' of node 'Constant' keeps its data in external file '\.\.\/\.\.\/etc\/passwd', which is refused/,
  );
});
