// Reader for PyTorch checkpoints (.pth/.pt/.ckpt). Since torch 1.6, torch.save writes a zip:
// `<archive>/data.pkl` holds the pickled object, in which each tensor is a call to
// torch._utils._rebuild_tensor_v2 on a storage named by a persistent id, and each storage's raw
// bytes sit in `<archive>/data/<key>`. Older torch wrote the "legacy" format: several pickles
// back to back followed by the raw storages. Both are read with the restricted unpickler, so a
// checkpoint can only ever produce tensors and plain data, never run code.
import * as fs from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { halfToFloatTable } from './half';
import {
  unpickle,
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleTuple,
  describePickleValue,
  type AllowedGlobal,
  type PickleValue,
} from './pickle';
import type { StateDict, Tensor, TensorValues } from '../weights/state-dict';
import { PickledTensor, unwrapStateDict } from './unwrap';

// ---------------------------------------------------------------------------------------------
// Zip container

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** Offset of the entry's (possibly compressed) bytes, after the local header. */
  readonly dataOffset: number;
}

const ZIP_LOCAL_HEADER = 0x04034b50;
const ZIP_CENTRAL_HEADER = 0x02014b50;
const ZIP_END_OF_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP_METHOD_STORED = 0;
const ZIP_METHOD_DEFLATE = 8;

/** Where an entry name would land outside the archive folder if extracted, it is hostile. */
function escapesFolder(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return true;
  return name.split(/[\\/]/).some((segment) => segment === '..');
}

function readZipDirectory(bytes: Uint8Array, label: string): Map<string, ZipEntry> {
  const fail = (problem: string): never => {
    throw new Error(`${label}: not a valid PyTorch zip checkpoint: ${problem}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number, what: string): number => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(bytes.length)) fail(`${what} is ${value}, past the end of the ${bytes.length}-byte file`);
    return Number(value);
  };

  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  let endRecord = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === ZIP_END_OF_DIRECTORY && at + 22 + u16(at + 20) === bytes.length) {
      endRecord = at;
      break;
    }
  }
  if (endRecord < 0) fail('no end-of-central-directory record (the file is truncated or not a zip)');
  let entryCount = u16(endRecord + 10);
  let directorySize = u32(endRecord + 12);
  let directoryOffset = u32(endRecord + 16);
  let directoryLimit = endRecord;
  if (endRecord >= 20 && u32(endRecord - 20) === ZIP64_LOCATOR) {
    const zip64Record = u64(endRecord - 20 + 8, 'the zip64 end record offset');
    if (zip64Record + 56 > endRecord || u32(zip64Record) !== ZIP64_END_OF_DIRECTORY) {
      fail(`the zip64 end record at offset ${zip64Record} is missing or damaged`);
    }
    entryCount = u64(zip64Record + 32, 'the zip64 entry count');
    directorySize = u64(zip64Record + 40, 'the zip64 directory size');
    directoryOffset = u64(zip64Record + 48, 'the zip64 directory offset');
    directoryLimit = zip64Record;
  }
  if (directoryOffset + directorySize > directoryLimit) {
    fail(
      `the central directory (offset ${directoryOffset}, ${directorySize} bytes) runs past its end record at ${directoryLimit}`,
    );
  }

  const entries = new Map<string, ZipEntry>();
  let at = directoryOffset;
  for (let i = 0; i < entryCount; i++) {
    if (at + 46 > directoryOffset + directorySize || u32(at) !== ZIP_CENTRAL_HEADER) {
      fail(`central directory entry ${i} of ${entryCount} is missing or damaged at offset ${at}`);
    }
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc32 = u32(at + 16);
    let compressedSize = u32(at + 20);
    let uncompressedSize = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localHeaderOffset = u32(at + 42);
    const recordEnd = at + 46 + nameLength + extraLength + commentLength;
    if (recordEnd > directoryOffset + directorySize) fail(`central directory entry ${i} runs past the directory`);
    const name = Buffer.from(bytes.subarray(at + 46, at + 46 + nameLength)).toString('utf8');

    // Zip64 stores the real values in an extra field for each 32-bit field saturated at 0xffffffff.
    for (let extra = at + 46 + nameLength; extra + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(extra);
      const size = u16(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        const next = (what: string): number => {
          if (field + 8 > Math.min(extra + 4 + size, at + 46 + nameLength + extraLength))
            fail(`entry '${name}' has a short zip64 field`);
          const value = u64(field, `the ${what} of '${name}'`);
          field += 8;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('offset');
      }
      extra += 4 + size;
    }

    if (escapesFolder(name)) fail(`entry '${name}' escapes its folder (absolute path or '..'); refusing the file`);
    if (entries.has(name)) fail(`entry '${name}' appears twice; expected each name once`);
    if (flags & 0x1) fail(`entry '${name}' is encrypted`);
    if (method !== ZIP_METHOD_STORED && method !== ZIP_METHOD_DEFLATE) {
      fail(`entry '${name}' uses compression method ${method}; expected stored (0) or deflate (8)`);
    }
    if (localHeaderOffset + 30 > directoryOffset || u32(localHeaderOffset) !== ZIP_LOCAL_HEADER) {
      fail(`entry '${name}' points to offset ${localHeaderOffset}, where there is no local header`);
    }
    const localNameLength = u16(localHeaderOffset + 26);
    const localExtraLength = u16(localHeaderOffset + 28);
    const localName = Buffer.from(
      bytes.subarray(localHeaderOffset + 30, localHeaderOffset + 30 + localNameLength),
    ).toString('utf8');
    if (localName !== name) fail(`entry '${name}' has the local name '${localName}'; expected the two to agree`);
    const dataOffset = localHeaderOffset + 30 + localNameLength + localExtraLength;
    if (dataOffset + compressedSize > directoryOffset) {
      fail(
        `entry '${name}' (${compressedSize} bytes at offset ${dataOffset}) runs past the end of the entries at ${directoryOffset}`,
      );
    }
    if (method === ZIP_METHOD_STORED && compressedSize !== uncompressedSize) {
      fail(`stored entry '${name}' has ${compressedSize} bytes but claims ${uncompressedSize}`);
    }
    entries.set(name, { name, method, crc32, compressedSize, uncompressedSize, localHeaderOffset, dataOffset });
    at = recordEnd;
  }

  // Overlapping entries would let one byte range be read as two storages (or a zip bomb).
  const byOffset = [...entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (const [i, current] of byOffset.entries()) {
    const previous = byOffset[i - 1];
    if (previous !== undefined && current.localHeaderOffset < previous.dataOffset + previous.compressedSize) {
      fail(`entries '${previous.name}' and '${current.name}' overlap`);
    }
  }
  return entries;
}

function readZipEntry(bytes: Uint8Array, entry: ZipEntry, label: string): Uint8Array {
  const raw = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let data = raw;
  if (entry.method === ZIP_METHOD_DEFLATE) {
    try {
      // maxOutputLength caps a zip bomb at the size the directory declared.
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (e) {
      throw new Error(
        `${label}: zip entry '${entry.name}' does not inflate to its declared ${entry.uncompressedSize} bytes (${(e as Error).message})`,
      );
    }
    if (data.length !== entry.uncompressedSize) {
      throw new Error(
        `${label}: zip entry '${entry.name}' inflates to ${data.length} bytes; expected ${entry.uncompressedSize}`,
      );
    }
  }
  const crc = zlib.crc32(data) >>> 0;
  if (crc !== entry.crc32 >>> 0) {
    throw new Error(
      `${label}: zip entry '${entry.name}' has CRC-32 ${crc.toString(16)}; expected ${(entry.crc32 >>> 0).toString(16)} (the file is damaged)`,
    );
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Storages and tensors

type StorageKind = 'f32' | 'f64' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

interface StorageType {
  readonly kind: StorageKind;
  readonly bytesPerElement: number;
}

/** torch's typed storage classes, as named in persistent ids. */
const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map([
  ['FloatStorage', { kind: 'f32', bytesPerElement: 4 }],
  ['DoubleStorage', { kind: 'f64', bytesPerElement: 8 }],
  ['HalfStorage', { kind: 'f16', bytesPerElement: 2 }],
  ['BFloat16Storage', { kind: 'bf16', bytesPerElement: 2 }],
  ['LongStorage', { kind: 'i64', bytesPerElement: 8 }],
  ['IntStorage', { kind: 'i32', bytesPerElement: 4 }],
  ['ShortStorage', { kind: 'i16', bytesPerElement: 2 }],
  ['CharStorage', { kind: 'i8', bytesPerElement: 1 }],
  ['ByteStorage', { kind: 'u8', bytesPerElement: 1 }],
  ['BoolStorage', { kind: 'bool', bytesPerElement: 1 }],
] as const);

const FLOAT_KINDS: ReadonlySet<StorageKind> = new Set(['f32', 'f64', 'f16', 'bf16']);

/** Raw bytes of one storage, resolved once the file's layout is known. */
class StorageRef extends PickleObject {
  readonly typeName = 'torch storage';
  bytes: Uint8Array | undefined;
  /** The bytes as typed elements, made once and shared by every tensor viewing this storage. */
  elements: StorageElements | undefined;
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly storageTypeName: string,
    readonly elementCount: number,
  ) {
    super();
  }
}

/** A storage as seen by a tensor: legacy files may hand out a window into a larger one. */
class StorageWindow extends PickleObject {
  readonly typeName = 'torch storage';
  constructor(
    readonly storage: StorageRef,
    readonly elementOffset: number,
    readonly elementCount: number,
  ) {
    super();
  }
}

interface TensorView {
  readonly storage: StorageWindow;
  readonly storageOffset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/**
 * Caps what tensor views may materialize, since many views (or zero strides) over one storage
 * would otherwise turn a small hostile file into gigabytes of copies.
 */
class MaterializeBudget {
  private remainingBytes: number;
  constructor(
    storageBytes: number,
    private readonly label: string,
  ) {
    // Decoding to float32/int64 can widen an element up to 8x (int8 -> int64); tied weights
    // legitimately view one storage twice. Anything beyond is not a weights file.
    this.remainingBytes = 16 * storageBytes + 1024 * 1024;
  }
  spend(bytes: number): void {
    this.remainingBytes -= bytes;
    if (this.remainingBytes < 0) {
      throw new Error(
        `${this.label}: the tensors expand to far more data than the file's storages hold; refusing the file`,
      );
    }
  }
}

function isIntegerArray(value: PickleValue): value is PickleTuple {
  return (
    value instanceof PickleTuple && value.items.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  );
}

type StorageElements =
  Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * The storage's elements as a typed array in host byte order: a view of the file's bytes when
 * they are aligned and already in host order, otherwise an aligned (and byte-swapped) copy.
 */
function storageElements(storage: StorageRef, littleEndian: boolean): StorageElements {
  if (storage.elements) return storage.elements;
  const bytes = storage.bytes as Uint8Array;
  const width = storage.type.bytesPerElement;
  let source = bytes;
  if (bytes.byteOffset % width !== 0 || littleEndian !== HOST_IS_LITTLE_ENDIAN) {
    source = new Uint8Array(bytes);
    if (littleEndian !== HOST_IS_LITTLE_ENDIAN && width > 1) {
      for (let at = 0; at < source.length; at += width) source.subarray(at, at + width).reverse();
    }
  }
  const { buffer, byteOffset } = source;
  const count = storage.elementCount;
  const elements: StorageElements = (() => {
    switch (storage.type.kind) {
      case 'f32':
        return new Float32Array(buffer, byteOffset, count);
      case 'f64':
        return new Float64Array(buffer, byteOffset, count);
      case 'f16':
      case 'bf16':
        return new Uint16Array(buffer, byteOffset, count);
      case 'i64':
        return new BigInt64Array(buffer, byteOffset, count);
      case 'i32':
        return new Int32Array(buffer, byteOffset, count);
      case 'i16':
        return new Int16Array(buffer, byteOffset, count);
      case 'i8':
        return new Int8Array(buffer, byteOffset, count);
      case 'u8':
      case 'bool':
        return new Uint8Array(buffer, byteOffset, count);
    }
  })();
  storage.elements = elements;
  return elements;
}

/** Decodes `count` elements starting at element `first`, `step` elements apart, into `out` at `at`. */
function decodeRun(
  source: StorageElements,
  kind: StorageKind,
  first: number,
  step: number,
  count: number,
  out: TensorValues,
  at: number,
): void {
  switch (kind) {
    case 'f32':
    case 'f64': {
      const from = source as Float32Array | Float64Array;
      const to = out as Float32Array;
      for (let k = 0; k < count; k++) {
        const v = from[first + k * step];
        if (v === undefined) throw outsideStorage(first + k * step);
        to[at + k] = v;
      }
      break;
    }
    case 'f16': {
      const from = source as Uint16Array;
      const to = out as Float32Array;
      const table = halfToFloatTable();
      for (let k = 0; k < count; k++) {
        const h = from[first + k * step];
        const v = h === undefined ? undefined : table[h];
        if (v === undefined) throw outsideStorage(first + k * step);
        to[at + k] = v;
      }
      break;
    }
    case 'bf16': {
      // bfloat16 is the top half of a float32: shift the bits into place.
      const from = source as Uint16Array;
      const to = new Uint32Array(out.buffer, out.byteOffset, out.length);
      for (let k = 0; k < count; k++) {
        const h = from[first + k * step];
        if (h === undefined) throw outsideStorage(first + k * step);
        to[at + k] = h << 16;
      }
      break;
    }
    case 'i64': {
      const from = source as BigInt64Array;
      const to = out as BigInt64Array;
      for (let k = 0; k < count; k++) {
        const v = from[first + k * step];
        if (v === undefined) throw outsideStorage(first + k * step);
        to[at + k] = v;
      }
      break;
    }
    default: {
      const from = source as Int32Array | Int16Array | Int8Array | Uint8Array;
      const to = out as BigInt64Array;
      for (let k = 0; k < count; k++) {
        const v = from[first + k * step];
        if (v === undefined) throw outsideStorage(first + k * step);
        to[at + k] = BigInt(v);
      }
      break;
    }
  }
}

/** Axis d of a shape, stride or index; the rebuilt view gives size and stride one rank, so a miss is a bug. */
function axis(values: readonly number[], d: number): number {
  const v = values[d];
  if (v === undefined) throw new RangeError(`axis ${d} is outside a rank-${values.length} tensor view`);
  return v;
}

/** An element index past the storage decodeRun reads: materialize checks the view's reach first, so a bug. */
function outsideStorage(index: number): RangeError {
  return new RangeError(`element ${index} is outside the tensor's storage`);
}

/** A contiguous copy of a tensor view, honouring storage offset, size and stride. */
function materialize(tensor: TensorView, littleEndian: boolean, budget: MaterializeBudget, label: string): Tensor {
  const { storage: window, storageOffset, size, stride } = tensor;
  const { storage } = window;
  const { kind } = storage.type;
  const shape = [...size];
  const count = shape.reduce((a, b) => a * b, 1);
  const isFloat = FLOAT_KINDS.has(kind);
  if (count === 0) return { shape, data: isFloat ? new Float32Array(0) : new BigInt64Array(0) };

  // The view must stay inside its window: the last element it reaches decides.
  let lastElement = storageOffset;
  for (const [d, length] of shape.entries()) lastElement += (length - 1) * axis(stride, d);
  if (lastElement >= window.elementCount) {
    throw new Error(
      `${label}: a tensor of shape [${shape.join(', ')}] with stride [${stride.join(', ')}] at offset ${storageOffset} ` +
        `reaches element ${lastElement} of storage '${storage.key}', which holds ${window.elementCount}`,
    );
  }
  if (!storage.bytes) throw new Error(`${label}: storage '${storage.key}' has no data in the file`);
  budget.spend(count * (isFloat ? 4 : 8));

  const source = storageElements(storage, littleEndian);
  const base = window.elementOffset + storageOffset;
  const out: TensorValues = isFloat ? new Float32Array(count) : new BigInt64Array(count);

  let contiguous = true;
  for (let d = shape.length - 1, expected = 1; d >= 0; d--) {
    const length = axis(shape, d);
    if (length !== 1 && stride[d] !== expected) contiguous = false;
    expected *= length;
  }
  if (contiguous) {
    if (kind === 'f32') (out as Float32Array).set((source as Float32Array).subarray(base, base + count));
    else if (kind === 'i64') (out as BigInt64Array).set((source as BigInt64Array).subarray(base, base + count));
    else decodeRun(source, kind, base, 1, count, out, 0);
    return { shape, data: out };
  }

  // Walk the outer dimensions odometer-style and decode the innermost one as a strided run.
  const rank = shape.length;
  const inner = axis(shape, rank - 1);
  const innerStride = axis(stride, rank - 1);
  const index = new Array<number>(rank - 1).fill(0);
  for (let written = 0; written < count; written += inner) {
    let first = base;
    for (const [d, at] of index.entries()) first += at * axis(stride, d);
    decodeRun(source, kind, first, innerStride, inner, out, written);
    for (let d = rank - 2; d >= 0; d--) {
      const next = axis(index, d) + 1;
      const wrapped = next === axis(shape, d);
      index[d] = wrapped ? 0 : next;
      if (!wrapped) break;
    }
  }
  return { shape, data: out };
}

// ---------------------------------------------------------------------------------------------
// The allow-list

interface TorchContext {
  readonly label: string;
  /** The byte order of the storages (the archive's `byteorder` record; little when absent). */
  readonly littleEndian: boolean;
  readonly budget: MaterializeBudget;
}

function tensorFromArgs(args: readonly PickleValue[], context: TorchContext, minimumArgs: number): PickledTensor {
  if (args.length < minimumArgs) throw new Error(`expected at least ${minimumArgs} arguments, got ${args.length}`);
  const [storage, storageOffset, size, stride] = args;
  if (!(storage instanceof StorageWindow))
    throw new Error(`expected a storage as the first argument, got a ${describePickleValue(storage)}`);
  if (typeof storageOffset !== 'number' || !Number.isSafeInteger(storageOffset) || storageOffset < 0) {
    throw new Error(`expected a non-negative storage offset, got a ${describePickleValue(storageOffset)}`);
  }
  if (!isIntegerArray(size as PickleValue) || !isIntegerArray(stride as PickleValue)) {
    throw new Error('expected size and stride to be tuples of non-negative integers');
  }
  const sizes = (size as PickleTuple).items as number[];
  const strides = (stride as PickleTuple).items as number[];
  if (sizes.length !== strides.length)
    throw new Error(`size has ${sizes.length} dimensions but stride has ${strides.length}`);
  const elementCount = sizes.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elementCount)) throw new Error(`a tensor of shape [${sizes.join(', ')}] is too large`);
  const view: TensorView = { storage, storageOffset, size: sizes, stride: strides };
  return new PickledTensor(() => materialize(view, context.littleEndian, context.budget, context.label));
}

function torchGlobals(context: TorchContext): AllowedGlobal[] {
  const globals: AllowedGlobal[] = [
    {
      module: 'collections',
      name: 'OrderedDict',
      construct: (args) => {
        const dict = new PickleDict('collections.OrderedDict');
        const items = args[0];
        if (args.length > 1) throw new Error('expected at most one argument');
        if (items !== undefined) {
          if (!Array.isArray(items)) throw new Error(`expected a list of pairs, got a ${describePickleValue(items)}`);
          for (const pair of items) {
            if (!(pair instanceof PickleTuple) || pair.items.length !== 2)
              throw new Error('expected (key, value) pairs');
            const [key, value] = pair.items as [PickleValue, PickleValue];
            if (typeof key !== 'string') throw new Error(`expected string keys, got a ${describePickleValue(key)}`);
            dict.entries.set(key, value);
          }
        }
        return dict;
      },
    },
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    { module: 'torch._utils', name: '_rebuild_tensor_v2', construct: (args) => tensorFromArgs(args, context, 4) },
    // torch < 0.4: (storage, storage_offset, size, stride)
    { module: 'torch._utils', name: '_rebuild_tensor', construct: (args) => tensorFromArgs(args, context, 4) },
    // nn.Parameter(data, requires_grad, backward_hooks[, state]): the data is all we need.
    { module: 'torch._utils', name: '_rebuild_parameter', construct: rebuildParameter },
    { module: 'torch._utils', name: '_rebuild_parameter_with_state', construct: rebuildParameter },
  ];
  // Storage classes are only markers inside persistent ids; files from torch < 0.4 may name the
  // CUDA variants.
  for (const storageName of STORAGE_TYPES.keys()) {
    globals.push({ module: 'torch', name: storageName }, { module: 'torch.cuda', name: storageName });
  }
  return globals;
}

function rebuildParameter(args: readonly PickleValue[]): PickleValue {
  const data = args[0];
  if (!(data instanceof PickledTensor)) throw new Error(`expected a tensor, got a ${describePickleValue(data)}`);
  return data;
}

/**
 * Reads a persistent id ('storage', storage_type, key, location, numel[, view_metadata]) into
 * the one StorageRef per key, so that tensors sharing a storage share its bytes.
 */
function storageLoader(storages: Map<string, StorageRef>): (id: PickleValue) => PickleValue {
  return (id) => {
    if (!(id instanceof PickleTuple) || id.items[0] !== 'storage') {
      const first = id instanceof PickleTuple ? id.items[0] : undefined;
      const kind =
        typeof first === 'string' ? `'${first}'` : `a ${describePickleValue(first === undefined ? id : first)}`;
      throw new Error(
        `persistent id ${kind} is not a storage (whole pickled modules are not supported; save model.state_dict())`,
      );
    }
    const [, storageType, key, , elementCount, viewMetadata] = id.items;
    const isStorageClass =
      storageType instanceof PickleGlobal &&
      (storageType.module === 'torch' || storageType.module === 'torch.cuda') &&
      STORAGE_TYPES.has(storageType.name);
    if (!isStorageClass) {
      throw new Error(`storage type ${describePickleValue(storageType)} is not one of torch's storage classes`);
    }
    if (typeof key !== 'string') throw new Error(`storage key is a ${describePickleValue(key)}; expected a string`);
    if (typeof elementCount !== 'number' || !Number.isSafeInteger(elementCount) || elementCount < 0) {
      throw new Error(`storage '${key}' has an element count of type ${describePickleValue(elementCount)}`);
    }
    const storageClass = storageType;
    const type = STORAGE_TYPES.get(storageClass.name) as StorageType;
    let storage = storages.get(key);
    if (!storage) {
      storage = new StorageRef(key, type, storageClass.name, elementCount);
      storages.set(key, storage);
    } else if (storage.type !== type || storage.elementCount !== elementCount) {
      throw new Error(
        `storage '${key}' is used as ${storage.storageTypeName} of ${storage.elementCount} and as ${storageClass.name} of ${elementCount}`,
      );
    }
    if (viewMetadata === undefined || viewMetadata === null) return new StorageWindow(storage, 0, elementCount);
    // Legacy files could save a view of a storage: (view_key, element offset, view size in bytes).
    if (!(viewMetadata instanceof PickleTuple) || viewMetadata.items.length !== 3) {
      throw new Error(
        `storage '${key}' has view metadata of type ${describePickleValue(viewMetadata)}; expected (key, offset, size)`,
      );
    }
    const [, offset, viewBytes] = viewMetadata.items;
    if (
      typeof offset !== 'number' ||
      typeof viewBytes !== 'number' ||
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(viewBytes)
    ) {
      throw new Error(`storage '${key}' has a view with a non-integer offset or size`);
    }
    const viewElements = Math.floor(viewBytes / type.bytesPerElement);
    if (offset < 0 || viewElements < 0 || offset + viewElements > elementCount) {
      throw new Error(
        `a view of storage '${key}' spans elements ${offset}..${offset + viewElements}, outside its ${elementCount}`,
      );
    }
    return new StorageWindow(storage, offset, viewElements);
  };
}

// ---------------------------------------------------------------------------------------------
// The two file formats

function readZipCheckpoint(bytes: Uint8Array, label: string): PickleValue {
  const entries = readZipDirectory(bytes, label);
  const names = [...entries.keys()];
  // TorchScript archives also hold a data.pkl, but it pickles the compiled module's classes.
  if (names.some((name) => /^[^/]+\/constants\.pkl$/.test(name) || /^[^/]+\/code\//.test(name))) {
    throw new Error(
      `${label}: this is a TorchScript archive (torch.jit.save), not a state dict; re-save it with torch.save(model.state_dict())`,
    );
  }
  const pickles = names.filter((name) => /^[^/]+\/data\.pkl$/.test(name) || name === 'data.pkl');
  if (pickles.length === 0) {
    throw new Error(
      `${label}: the zip holds no '<archive>/data.pkl'; expected a torch.save checkpoint (entries: ${names.slice(0, 8).join(', ')})`,
    );
  }
  if (pickles.length > 1)
    throw new Error(`${label}: the zip holds ${pickles.length} data.pkl entries (${pickles.join(', ')}); expected one`);
  const [pickleName] = pickles;
  if (pickleName === undefined) throw new Error(`${label}: the zip holds no data.pkl`);
  const prefix = pickleName.slice(0, pickleName.length - 'data.pkl'.length);

  let littleEndian = true;
  const byteOrderEntry = entries.get(`${prefix}byteorder`);
  if (byteOrderEntry) {
    const order = Buffer.from(readZipEntry(bytes, byteOrderEntry, label))
      .toString('latin1')
      .trim();
    if (order !== 'little' && order !== 'big')
      throw new Error(`${label}: byteorder says '${order.slice(0, 20)}'; expected 'little' or 'big'`);
    littleEndian = order === 'little';
  }

  let storageBytes = 0;
  for (const entry of entries.values()) storageBytes += entry.uncompressedSize;
  const budget = new MaterializeBudget(storageBytes, label);
  const storages = new Map<string, StorageRef>();
  const context: TorchContext = { label, littleEndian, budget };
  const data = readZipEntry(bytes, entries.get(pickleName) as ZipEntry, label);
  const { value } = unpickle(data, `${label} (${pickleName})`, {
    allowedGlobals: torchGlobals(context),
    persistentLoad: storageLoader(storages),
  });

  for (const storage of storages.values()) {
    const entryName = `${prefix}data/${storage.key}`;
    const entry = entries.get(entryName);
    if (!entry) throw new Error(`${label}: storage '${storage.key}' has no entry '${entryName}' in the zip`);
    const expectedBytes = storage.elementCount * storage.type.bytesPerElement;
    if (entry.uncompressedSize !== expectedBytes) {
      throw new Error(
        `${label}: entry '${entryName}' holds ${entry.uncompressedSize} bytes; expected ${expectedBytes} ` +
          `(${storage.elementCount} elements of ${storage.storageTypeName})`,
      );
    }
    storage.bytes = readZipEntry(bytes, entry, label);
  }
  return value;
}

/** torch's legacy files start with this number, pickled. */
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function readLegacyCheckpoint(bytes: Uint8Array, label: string): PickleValue {
  const plain = { allowedGlobals: [] };
  const magic = unpickle(bytes, label, plain, 0);
  if (magic.value !== LEGACY_MAGIC_NUMBER) {
    throw new Error(
      `${label}: not a PyTorch checkpoint: it is neither a zip nor a legacy torch.save file (the first pickle is a ${describePickleValue(magic.value)}, not torch's magic number)`,
    );
  }
  const protocol = unpickle(bytes, label, plain, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    throw new Error(
      `${label}: legacy checkpoint protocol ${typeof protocol.value === 'number' || typeof protocol.value === 'bigint' ? protocol.value : describePickleValue(protocol.value)}; expected ${LEGACY_PROTOCOL_VERSION}`,
    );
  }
  const systemInfo = unpickle(bytes, label, plain, protocol.end);
  if (systemInfo.value instanceof PickleDict && systemInfo.value.entries.get('little_endian') === false) {
    throw new Error(
      `${label}: this legacy checkpoint was written on a big-endian machine; re-save it with torch >= 1.6 on a little-endian one`,
    );
  }

  // Storage data follows all the pickles, so the budget is what remains of the file.
  const budget = new MaterializeBudget(bytes.length - systemInfo.end, label);
  const storages = new Map<string, StorageRef>();
  const context: TorchContext = { label, littleEndian: true, budget };
  const main = unpickle(
    bytes,
    label,
    { allowedGlobals: torchGlobals(context), persistentLoad: storageLoader(storages) },
    systemInfo.end,
  );
  const keys = unpickle(bytes, label, plain, main.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new Error(
      `${label}: the legacy storage key list is a ${describePickleValue(keys.value)}; expected a list of strings`,
    );
  }

  // Each storage: its element count as a little-endian int64, then the raw elements.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const key of keys.value) {
    const storage = storages.get(key);
    if (!storage) throw new Error(`${label}: the legacy storage list names '${key}', which no tensor uses`);
    if (storage.bytes) throw new Error(`${label}: the legacy storage list names '${key}' twice`);
    if (at + 8 > bytes.length) throw new Error(`${label}: the file ends before storage '${key}' (truncated file?)`);
    const elementCount = view.getBigInt64(at, true);
    if (elementCount !== BigInt(storage.elementCount)) {
      throw new Error(
        `${label}: storage '${key}' holds ${elementCount} elements; its tensors expect ${storage.elementCount}`,
      );
    }
    at += 8;
    const length = storage.elementCount * storage.type.bytesPerElement;
    if (at + length > bytes.length) {
      throw new Error(
        `${label}: storage '${key}' needs ${length} bytes at offset ${at} but the file ends at ${bytes.length} (truncated file?)`,
      );
    }
    storage.bytes = bytes.subarray(at, at + length);
    at += length;
  }
  for (const storage of storages.values()) {
    if (!storage.bytes)
      throw new Error(`${label}: storage '${storage.key}' is used by a tensor but missing from the file`);
  }
  return main.value;
}

/**
 * Every check here names the file; this also names it in what slips past them (an allocation
 * failure for a tensor too large for memory, a bounds slip we did not foresee).
 */
function withFileLabel<T>(label: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(label))
      throw new Error(`${label}: unreadable checkpoint: ${e.message}`);
    throw e;
  }
}

function readEitherFormat(bytes: Uint8Array, label: string): PickleValue {
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b) return readZipCheckpoint(bytes, label);
  if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacyCheckpoint(bytes, label);
  if (bytes.length >= 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new Error(
      `${label}: this is a tar checkpoint from torch < 0.4; re-save it with a newer torch (torch.save(model.state_dict()))`,
    );
  }
  throw new Error(
    `${label}: not a PyTorch checkpoint: expected a zip (torch >= 1.6) or a legacy pickle, found bytes ${Buffer.from(bytes.subarray(0, 4)).toString('hex') || '(empty file)'}`,
  );
}

/** Reads a .pth held in memory into its state dict (unwrapped from params_ema etc., 'module.' dropped). */
export function readPthBytes(bytes: Uint8Array, label: string): StateDict {
  return withFileLabel(label, () => unwrapStateDict(readEitherFormat(bytes, label), label));
}

/** Reads a .pth file into its state dict (unwrapped from params_ema etc., 'module.' dropped). */
export async function readPth(path: string): Promise<StateDict> {
  return readPthBytes(await fs.readFile(path), path);
}
