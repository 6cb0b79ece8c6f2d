// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
// mapping names to {dtype, shape, data_offsets}, then the raw tensor bytes. Every offset is
// checked against the file before any tensor is read, so a hostile header cannot make us
// read past the end or alias one tensor's bytes as another's.
import type { StateDict, TensorValues } from '../weights/state-dict';
import { float16ToFloat32, bfloat16ToFloat32 } from './half';

const MAX_HEADER_BYTES = 100 * 1024 * 1024;

// U8: small integer buffers some architectures keep (FDAT's and MoESR's MetaUpsample).
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1 };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function isHeaderEntry(v: unknown): v is HeaderEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.dtype === 'string' &&
    Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    Array.isArray(e.data_offsets) &&
    e.data_offsets.length === 2 &&
    e.data_offsets.every((d) => Number.isInteger(d) && d >= 0)
  );
}

function decode(dtype: string, bytes: Uint8Array, count: number): TensorValues {
  // Copy into an aligned buffer: the data section's alignment is not guaranteed.
  const copy = new Uint8Array(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, count);
    case 'I64':
      return new BigInt64Array(copy.buffer, 0, count);
    case 'F16':
      return float16ToFloat32(new Uint16Array(copy.buffer, 0, count));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(copy.buffer, 0, count));
    case 'U8':
      return BigInt64Array.from(copy.subarray(0, count), (v) => BigInt(v));
    default:
      throw new Error(`unsupported dtype ${dtype}`);
  }
}

/** Parses a whole safetensors file held in memory. `label` names the file in errors. */
export function readSafetensors(file: Uint8Array, label: string): StateDict {
  const fail = (problem: string): never => {
    throw new Error(`${label}: not a valid safetensors file: ${problem}`);
  };
  if (file.byteLength < 8) fail(`it is ${file.byteLength} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, file.byteLength - 8))) {
    fail(`the header claims ${headerLength} bytes but the file holds ${file.byteLength - 8} after the length field`);
  }
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(file.subarray(8, headerEnd)).toString('utf8'));
  } catch (e) {
    fail(`the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const dataLength = file.byteLength - headerEnd;

  const entries: Array<[string, HeaderEntry]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (!isHeaderEntry(value)) fail(`tensor '${name}' has no valid dtype, shape and data_offsets`);
    const entry = value as HeaderEntry;
    const width = DTYPE_BYTES[entry.dtype];
    if (width === undefined)
      fail(`tensor '${name}' has dtype ${entry.dtype}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const [begin, end] = entry.data_offsets;
    if (end < begin || end > dataLength) {
      fail(`tensor '${name}' spans bytes ${begin}..${end} but the data section is ${dataLength} bytes`);
    }
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (count * (width as number) !== end - begin) {
      fail(
        `tensor '${name}' has shape [${entry.shape.join(', ')}] (${count * (width as number)} bytes) but spans ${end - begin} bytes`,
      );
    }
    entries.push([name, entry]);
  }

  // Empty tensors occupy no bytes; among the rest, each must start at or after the
  // furthest end seen so far (checking only adjacent pairs would miss nesting).
  const byOffset = entries
    .filter(([, e]) => e.data_offsets[1] > e.data_offsets[0])
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let coveredUntil = 0;
  let coveringName = '';
  for (const [name, e] of byOffset) {
    if (e.data_offsets[0] < coveredUntil) fail(`tensors '${coveringName}' and '${name}' overlap`);
    if (e.data_offsets[1] > coveredUntil) {
      coveredUntil = e.data_offsets[1];
      coveringName = name;
    }
  }

  const sd: StateDict = new Map();
  for (const [name, entry] of entries) {
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    sd.set(name, {
      shape: entry.shape,
      data: decode(entry.dtype, file.subarray(headerEnd + begin, headerEnd + end), count),
    });
  }
  return sd;
}
