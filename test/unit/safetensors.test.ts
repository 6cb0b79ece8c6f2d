// The safetensors reader: values of every dtype decode exactly, and each kind of damaged or
// hostile header is a clear error naming the file.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readSafetensors } from '../../models/readers/safetensors';

interface EntrySpec {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data_offsets: readonly [number, number];
}

/** Assembles a file: u64 header length, JSON header padded with spaces to 8 bytes, data. */
function safetensorsFile(
  header: Record<string, EntrySpec | Record<string, string>>,
  data: Uint8Array,
  rawHeader?: string,
): Uint8Array {
  let json = rawHeader ?? JSON.stringify(header);
  while (json.length % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  return new Uint8Array(Buffer.concat([length, headerBytes, Buffer.from(data)]));
}

const bytesOf = (array: Float32Array | Uint16Array | BigInt64Array): Uint8Array => new Uint8Array(array.buffer);

test('F32, F16, BF16 and I64 tensors decode to the exact values', () => {
  const f32 = Float32Array.from([1.5, -2.25, 3.4028234663852886e38, -0]);
  // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), 6.1035156e-5 (smallest normal), -inf, 0.333251953125
  const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0400, 0xfc00, 0x3555]);
  // 1, -3, 3.140625, 2^-126 (smallest normal float32), -0
  const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x4049, 0x0080, 0x8000]);
  const i64 = BigInt64Array.from([-1n, 2n ** 40n, 0n]);
  const data = Buffer.concat([bytesOf(f32), bytesOf(f16), bytesOf(bf16), Buffer.alloc(6), bytesOf(i64)]);
  let at = 0;
  const span = (bytes: number): [number, number] => [at, (at += bytes)];
  const header = {
    __metadata__: { format: 'pt' },
    'body.0.weight': { dtype: 'F32', shape: [2, 2], data_offsets: span(16) },
    half: { dtype: 'F16', shape: [8], data_offsets: span(16) },
    brain: { dtype: 'BF16', shape: [5, 1], data_offsets: span(10) },
    gap: { dtype: 'F16', shape: [3], data_offsets: span(6) },
    index: { dtype: 'I64', shape: [3], data_offsets: span(24) },
  } as const;
  const sd = readSafetensors(safetensorsFile(header, data), 'values.safetensors');
  assert.deepEqual([...sd.keys()], ['body.0.weight', 'half', 'brain', 'gap', 'index']);
  assert.deepEqual(sd.get('body.0.weight'), { shape: [2, 2], data: f32 });
  assert.deepEqual(sd.get('half'), {
    shape: [8],
    data: Float32Array.from([1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, -Infinity, 0.333251953125]),
  });
  assert.deepEqual(sd.get('brain'), { shape: [5, 1], data: Float32Array.from([1, -3, 3.140625, 2 ** -126, -0]) });
  assert.ok(Object.is(sd.get('brain')?.data[4], -0), 'bfloat16 keeps the sign of zero');
  assert.deepEqual(sd.get('index'), { shape: [3], data: i64 });
});

test('scalars, empty tensors and unaligned data offsets read correctly', () => {
  // One stray byte first, so the F32 tensor starts at an odd offset in the file.
  const data = Buffer.concat([Buffer.from([0xaa]), bytesOf(Float32Array.from([7.5]))]);
  const sd = readSafetensors(
    safetensorsFile(
      {
        pad: { dtype: 'F16', shape: [0], data_offsets: [0, 0] },
        scalar: { dtype: 'F32', shape: [], data_offsets: [1, 5] },
      },
      data,
    ),
    'odd.safetensors',
  );
  assert.deepEqual(sd.get('scalar'), { shape: [], data: Float32Array.from([7.5]) });
  assert.deepEqual(sd.get('pad'), { shape: [0], data: new Float32Array(0) });
});

test('a header length past the end of the file is refused', () => {
  const file = safetensorsFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
  const view = new DataView(file.buffer);
  view.setBigUint64(0, BigInt(file.length), true);
  assert.throws(
    () => readSafetensors(file, 'long.safetensors'),
    /^Error: long\.safetensors: not a valid safetensors file: the header claims \d+ bytes but the file holds \d+/,
  );
  view.setBigUint64(0, 2n ** 63n, true);
  assert.throws(
    () => readSafetensors(file, 'huge.safetensors'),
    /huge\.safetensors: .*the header claims 9223372036854775808 bytes/,
  );
  assert.throws(
    () => readSafetensors(new Uint8Array(5), 'tiny.safetensors'),
    /tiny\.safetensors: .*5 bytes long, shorter than the 8-byte header length/,
  );
});

test('data offsets past the end of the data section are refused', () => {
  const file = safetensorsFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(12));
  assert.throws(
    () => readSafetensors(file, 'short.safetensors'),
    /short\.safetensors: .*tensor 'w' spans bytes 0\.\.16 but the data section is 12 bytes/,
  );
  const reversed = safetensorsFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, new Uint8Array(12));
  assert.throws(
    () => readSafetensors(reversed, 'reversed.safetensors'),
    /reversed\.safetensors: .*tensor 'w' spans bytes 8\.\.4/,
  );
});

test('overlapping data offsets are refused', () => {
  const file = safetensorsFile(
    {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    },
    new Uint8Array(12),
  );
  assert.throws(
    () => readSafetensors(file, 'overlap.safetensors'),
    /overlap\.safetensors: .*tensors 'a' and 'b' overlap/,
  );
  const nested = safetensorsFile(
    {
      outer: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      inner: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    },
    new Uint8Array(16),
  );
  assert.throws(
    () => readSafetensors(nested, 'nested.safetensors'),
    /nested\.safetensors: .*tensors 'outer' and 'inner' overlap/,
  );
});

test('an overlap hidden behind a zero-length tensor is refused', () => {
  const file = safetensorsFile(
    {
      outer: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      empty: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      inner: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    },
    new Uint8Array(16),
  );
  assert.throws(() => readSafetensors(file, 'hidden.safetensors'), /hidden\.safetensors: .*overlap/);
});

test('a shape that disagrees with the byte span is refused', () => {
  const file = safetensorsFile({ w: { dtype: 'F16', shape: [3, 3], data_offsets: [0, 16] } }, new Uint8Array(16));
  assert.throws(
    () => readSafetensors(file, 'shape.safetensors'),
    /shape\.safetensors: .*tensor 'w' has shape \[3, 3\] \(18 bytes\) but spans 16 bytes/,
  );
});

test('a header that is not JSON, or not an object, is refused', () => {
  const notJson = safetensorsFile({}, new Uint8Array(0), '{"w": {"dtype": "F32",');
  assert.throws(
    () => readSafetensors(notJson, 'garbled.safetensors'),
    /garbled\.safetensors: not a valid safetensors file: the header is not JSON/,
  );
  const array = safetensorsFile({}, new Uint8Array(0), '[1, 2, 3]');
  assert.throws(
    () => readSafetensors(array, 'array.safetensors'),
    /array\.safetensors: .*the header is not a JSON object/,
  );
  const binary = new Uint8Array(16);
  binary[0] = 8;
  binary.fill(0xff, 8);
  assert.throws(() => readSafetensors(binary, 'binary.safetensors'), /binary\.safetensors: .*not JSON/);
});

test('entries without a valid dtype, shape and offsets, or with an unknown dtype, are refused', () => {
  const missing = safetensorsFile({}, new Uint8Array(4), '{"w": {"dtype": "F32", "shape": [1]}}');
  assert.throws(
    () => readSafetensors(missing, 'missing.safetensors'),
    /missing\.safetensors: .*tensor 'w' has no valid dtype, shape and data_offsets/,
  );
  const negative = safetensorsFile(
    {},
    new Uint8Array(4),
    '{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}',
  );
  assert.throws(
    () => readSafetensors(negative, 'negative.safetensors'),
    /negative\.safetensors: .*tensor 'w' has no valid/,
  );
  const unknown = safetensorsFile({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4));
  assert.throws(
    () => readSafetensors(unknown, 'fp8.safetensors'),
    /fp8\.safetensors: .*tensor 'w' has dtype F8_E4M3; expected one of F32, F16, BF16, I64/,
  );
});

test('U8 buffers (FDAT and MoESR keep one) read as integers', () => {
  const header = { meta: { dtype: 'U8', shape: [3], data_offsets: [0, 3] } } as const;
  const sd = readSafetensors(safetensorsFile(header, Buffer.from([0, 4, 255])), 'u8.safetensors');
  assert.deepEqual(sd.get('meta'), { shape: [3], data: BigInt64Array.from([0n, 4n, 255n]) });
});
