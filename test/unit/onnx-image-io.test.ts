// The rules for ONNX files as users download them, without a file or a session: which input
// and output, NCHW or NHWC, float32 or float16, a fixed size; what is refused and why; the
// float16 cast at the boundary; and the tile plan for a fixed-size model.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { imageIo, inputLayout, isOnnxIo, nchwDims, outputImage, type DeclaredValue } from '../../models/onnx/image-io';
import { float16ToFloat32, float32ToFloat16 } from '../../models/readers/half';
import { onnxVariant } from '../../models/import';
import { fixedSizeOverlap, fixedSizeTile } from '../../daemon/engine/tile-size';
import { paddedExtent } from '../../daemon/engine/tiled-pass';

const FLOAT = 1;
const FLOAT16 = 10;
const value = (name: string, dims: (number | string)[] | null, elemType: number | null = FLOAT): DeclaredValue => ({
  name,
  elemType,
  dims,
});
const image = (dims: (number | string)[], elemType = FLOAT): DeclaredValue => value('input', dims, elemType);
const out = value('output', [1, 3, 'h2', 'w2']);

test('chaiNNer-style exports: names, NHWC, float16 and a fixed size are read from the declarations', () => {
  assert.deepEqual(imageIo([image([1, 3, 'height', 'width'])], [out], 'm.onnx'), {
    input: 'input',
    output: 'output',
    layout: 'nchw',
    element: 'float32',
  });
  assert.deepEqual(
    imageIo([value('lr_image', ['batch_size', 3, 'height', 'width'])], [value('sr_image', null)], 'm.onnx'),
    { input: 'lr_image', output: 'sr_image', layout: 'nchw', element: 'float32' },
  );
  assert.deepEqual(imageIo([image([1, 'height', 'width', 3], FLOAT16)], [value('y', [1, 'a', 'b', 3], FLOAT16)], 'm'), {
    input: 'input',
    output: 'y',
    layout: 'nhwc',
    element: 'float16',
  });
  assert.deepEqual(imageIo([image([1, 3, 64, 48])], [out], 'm').fixedSize, { width: 48, height: 64 });
  assert.deepEqual(imageIo([image([1, 64, 48, 3])], [out], 'm').fixedSize, { width: 48, height: 64 });
  // [1, 3, 3, 3] is a 3x3 NCHW image, not NHWC.
  assert.equal(imageIo([image([1, 3, 3, 3])], [out], 'm').layout, 'nchw');
});

test('what is not one image in and one image out is refused, naming the file and the reason', () => {
  const cases: Array<[DeclaredValue[], DeclaredValue[], RegExp]> = [
    [[image([1, 3, 'h', 'w']), value('noise', [1, 1, 'h', 'w'])], [out], /it has 2 inputs \('input', 'noise'\)/],
    [[], [out], /it has 0 inputs \(none\)/],
    [[value('frames', [1, 5, 3, 'h', 'w'])], [out], /rank 5 \[1, 5, 3, h, w\], a stack of frames as video models take/],
    [
      [image([1, 3, 'h', 'w'])],
      [value('scores', [1, 10])],
      /output 'scores' has rank 2 \[1, 10\], which is not an image/,
    ],
    [[image([1, 3, 'h', 'w'])], [out, value('features', [1, 64])], /it has 2 outputs \('output', 'features'\)/],
  ];
  for (const [inputs, outputs, reason] of cases) {
    assert.throws(
      () => imageIo(inputs, outputs, '/models/x.onnx'),
      (e: Error) => e.message.startsWith('/models/x.onnx: not an image-to-image model: ') && reason.test(e.message),
    );
  }
  assert.throws(() => imageIo([image([1, 'h', 'w', 4])], [out], 'm'), /takes 4 channels \[1, h, w, 4\]/);
  assert.throws(() => imageIo([image([1, 3, 'h', 'w'], 16)], [out], 'm'), /input 'input' is bfloat16/);
  assert.throws(() => imageIo([image([1, 3, 'h', 'w'])], [value('output', null, 7)], 'm'), /output 'output' is int64/);
  assert.throws(() => imageIo([value('input', [1, 3, 'h', 'w'], null)], [out], 'm'), /input 'input' is not a tensor/);
});

test('NHWC tensors go to and from planes without moving a value', () => {
  const planar = { width: 3, height: 2, channels: 3, data: Float32Array.from({ length: 18 }, (_, i) => i) };
  assert.deepEqual(inputLayout(planar, 'nchw'), { data: planar.data, dims: [1, 3, 2, 3] });
  const nhwc = inputLayout(planar, 'nhwc');
  assert.deepEqual(nhwc.dims, [1, 2, 3, 3]);
  // Pixel (0, 1): channels 1, 7, 13 of the planes sit together.
  assert.deepEqual(Array.from(nhwc.data.subarray(3, 6)), [1, 7, 13]);
  assert.deepEqual(outputImage(nhwc.dims, nhwc.data, 'nhwc', 'm'), planar);
  assert.deepEqual(nchwDims([1, 8, 6, 3], 'nhwc'), [1, 3, 8, 6]);
  assert.equal(nchwDims([1, 10], 'nchw'), null);
  assert.throws(() => outputImage([1, 10], new Float32Array(10), 'nchw', 'm.onnx'), /m\.onnx: .*shape \[1, 10\]/);
});

test('float32 to float16 rounds to nearest even, keeps signs, subnormals, Inf and NaN', () => {
  const values = [0, -0, 1, -2, 0.5, 65504, 1e-7, 6.1e-5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, -Infinity, NaN];
  const half = float32ToFloat16(Float32Array.from(values));
  assert.deepEqual(
    Array.from(half.subarray(0, 11)),
    [0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0002, 0x03ff, 0x3c00, 0x3c02, 0x7c00],
  );
  assert.equal(half[11], 0xfc00);
  assert.ok(Number.isNaN(float16ToFloat32(half.subarray(12))[0]));
  // Every finite half survives the round trip.
  const all = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
  assert.deepEqual(float32ToFloat16(float16ToFloat32(all)), all);
});

test('a fixed-size model tiles at exactly its size; an explicit tile must fit it, an explicit overlap leave room', () => {
  const fixed = { width: 64, height: 48 };
  assert.deepEqual(fixedSizeTile(fixed, undefined, 500, 300, 16), fixed);
  assert.deepEqual(fixedSizeTile(fixed, 16, 500, 300, 8), { width: 32, height: 32 });
  assert.deepEqual(fixedSizeTile(fixed, 0, 40, 30, 16), { width: 40, height: 30 });
  assert.throws(() => fixedSizeTile(fixed, 0, 500, 300, 16), /'tile' is 0, .*fixed 64x48 input and the whole 500x300/);
  assert.throws(
    () => fixedSizeTile(fixed, 32, 500, 300, 16),
    /\(64 px\) does not fit it; expected a tile of at most 16/,
  );
  assert.equal(fixedSizeOverlap(undefined, fixed, 16), 12);
  assert.equal(fixedSizeOverlap(undefined, { width: 256, height: 256 }, 16), 16);
  assert.equal(fixedSizeOverlap(20, fixed, 16), 20);
  assert.throws(() => fixedSizeOverlap(24, fixed, 16), /'overlap' is 24, .*expected an overlap below 24/);
  assert.deepEqual(paddedExtent({ width: 20, height: 48 }, { inputMultiple: 1, fixedSize: fixed }), fixed);
  assert.deepEqual(paddedExtent({ width: 20, height: 9 }, { inputMultiple: 8 }), { width: 24, height: 16 });
  assert.throws(() => paddedExtent({ width: 65, height: 9 }, { inputMultiple: 1, fixedSize: fixed }), /65x9 tile/);
});

test('records: io read back is checked; the variant says what sets an ONNX file apart', () => {
  assert.ok(
    isOnnxIo({ input: 'a', output: 'b', layout: 'nhwc', element: 'float16', fixedSize: { width: 8, height: 8 } }),
  );
  assert.ok(!isOnnxIo({ input: 'a', output: 'b', layout: 'nhwc', element: 'int8' }));
  assert.ok(!isOnnxIo({ input: 'a', output: 'b', layout: 'nchw', element: 'float32', fixedSize: { width: 0 } }));
  assert.ok(!isOnnxIo(null));
  assert.equal(
    onnxVariant(11, {
      input: 'a',
      output: 'b',
      layout: 'nhwc',
      element: 'float16',
      fixedSize: { width: 64, height: 32 },
    }),
    'ONNX model (opset 11, fp16, NHWC, fixed 64x32 input)',
  );
  assert.equal(
    onnxVariant(17, { input: 'a', output: 'b', layout: 'nchw', element: 'float32' }),
    'ONNX model (opset 17)',
  );
});
