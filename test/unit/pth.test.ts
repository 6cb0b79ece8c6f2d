// The .pth reader: every fixture checkpoint must read to exactly its safetensors sibling, and
// checkpoints built here (wrapped, strided, legacy, hostile, damaged) must read or fail clearly.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FIXTURES_DIR } from '../fixtures';
import { readPth, readPthBytes } from '../../models/readers/pth';
import { readSafetensors } from '../../models/readers/safetensors';
import { stripModulePrefix, unwrapStateDict } from '../../models/readers/unwrap';
import type { StateDict } from '../../models/weights/state-dict';

// ---------------------------------------------------------------------------------------------
// A small pickle writer (protocol 2, no memo) for the shapes torch.save produces.

type Py =
  | null
  | boolean
  | number
  | string
  | Py[]
  | { readonly tuple: Py[] }
  | { readonly dict: Array<[Py, Py]> }
  | { readonly ordered: Array<[Py, Py]> }
  | { readonly global: [string, string] }
  | { readonly call: Py; readonly args: Py[] }
  | { readonly persistent: Py }
  | { readonly float: number };

class PickleWriter {
  private readonly out: number[] = [];
  bytes(value: Py): Uint8Array {
    this.out.push(0x80, 0x02);
    this.write(value);
    this.out.push(0x2e);
    return Uint8Array.from(this.out);
  }
  private u32(n: number): void {
    this.out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  private write(value: Py): void {
    const out = this.out;
    if (value === null) out.push(0x4e);
    else if (value === true) out.push(0x88);
    else if (value === false) out.push(0x89);
    else if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw new Error('use { float } for floats');
      if (value >= 0 && value < 256) out.push(0x4b, value);
      else if (value >= 0 && value < 65536) out.push(0x4d, value & 0xff, value >> 8);
      else if (value >= -(2 ** 31) && value < 2 ** 31) {
        out.push(0x4a);
        this.u32(value >>> 0);
      } else {
        const le = Buffer.alloc(8);
        le.writeBigInt64LE(BigInt(value));
        out.push(0x8a, 8, ...le);
      }
    } else if (typeof value === 'string') {
      const raw = Buffer.from(value, 'utf8');
      out.push(0x58);
      this.u32(raw.length);
      out.push(...raw);
    } else if (Array.isArray(value)) {
      out.push(0x5d, 0x28);
      for (const item of value) this.write(item);
      out.push(0x65);
    } else if ('tuple' in value) {
      out.push(0x28);
      for (const item of value.tuple) this.write(item);
      out.push(0x74);
    } else if ('dict' in value) {
      out.push(0x7d, 0x28);
      for (const [k, v] of value.dict) {
        this.write(k);
        this.write(v);
      }
      out.push(0x75);
    } else if ('ordered' in value) {
      this.write({ call: { global: ['collections', 'OrderedDict'] }, args: [] });
      out.push(0x28);
      for (const [k, v] of value.ordered) {
        this.write(k);
        this.write(v);
      }
      out.push(0x75);
    } else if ('global' in value) {
      out.push(0x63, ...Buffer.from(`${value.global[0]}\n${value.global[1]}\n`, 'latin1'));
    } else if ('call' in value) {
      this.write(value.call);
      this.write({ tuple: value.args });
      out.push(0x52);
    } else if ('persistent' in value) {
      this.write(value.persistent);
      out.push(0x51);
    } else {
      const be = Buffer.alloc(8);
      be.writeDoubleBE(value.float);
      out.push(0x47, ...be);
    }
  }
}

const pickle = (value: Py): Uint8Array => new PickleWriter().bytes(value);

/** What torch.save writes for one tensor: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
function tensor(
  storageKey: string,
  storageType: string,
  numel: number,
  offset: number,
  size: number[],
  stride?: number[],
): Py {
  const contiguous: number[] = [];
  for (let d = size.length - 1, s = 1; d >= 0; d--) {
    contiguous[d] = s;
    s *= size[d] as number;
  }
  return {
    call: { global: ['torch._utils', '_rebuild_tensor_v2'] },
    args: [
      { persistent: { tuple: ['storage', { global: ['torch', storageType] }, storageKey, 'cpu', numel] } },
      offset,
      { tuple: size },
      { tuple: stride ?? contiguous },
      false,
      { ordered: [] },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// A small zip writer (stored or deflated entries, 32-bit offsets).

interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
  readonly method?: number;
}

/**
 * With `zip64`, the central directory saturates sizes and offsets at 0xffffffff and gives the
 * real values in zip64 extra fields, and a zip64 end record is added, as large torch files have.
 */
function zip(entries: readonly ZipInput[], options: { zip64?: boolean } = {}): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const method = entry.method ?? 0;
    const stored = method === 8 ? zlib.deflateRawSync(entry.data) : Buffer.from(entry.data);
    const name = Buffer.from(entry.name, 'utf8');
    const crc = zlib.crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const extra = Buffer.alloc(options.zip64 ? 28 : 0);
    if (options.zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(entry.data.length), 4);
      extra.writeBigUInt64LE(BigInt(stored.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(45, 4);
    header.writeUInt16LE(45, 6);
    header.writeUInt16LE(method, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : stored.length, 20);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    central.push(header, name, extra);
    parts.push(local, name, stored);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(central);
  const trailer: Buffer[] = [];
  if (options.zip64) {
    const end64 = Buffer.alloc(56);
    end64.writeUInt32LE(0x06064b50, 0);
    end64.writeBigUInt64LE(44n, 4);
    end64.writeUInt16LE(45, 12);
    end64.writeUInt16LE(45, 14);
    end64.writeBigUInt64LE(BigInt(entries.length), 24);
    end64.writeBigUInt64LE(BigInt(entries.length), 32);
    end64.writeBigUInt64LE(BigInt(directory.length), 40);
    end64.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    trailer.push(end64, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(options.zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  return new Uint8Array(Buffer.concat([...parts, directory, ...trailer, end]));
}

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** A torch.save-style zip around one pickled object and its storages. */
function checkpoint(
  object: Py,
  storages: Record<string, Uint8Array>,
  options: { method?: number; archive?: string; zip64?: boolean } = {},
): Uint8Array {
  const archive = options.archive ?? 'archive';
  return zip(
    [
      { name: `${archive}/data.pkl`, data: pickle(object) },
      ...Object.entries(storages).map(([key, data]) => ({
        name: `${archive}/data/${key}`,
        data,
        method: options.method ?? 0,
      })),
      { name: `${archive}/version`, data: Buffer.from('3\n') },
    ],
    { zip64: options.zip64 },
  );
}

function assertSameStateDict(actual: StateDict, expected: StateDict, label: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()], `${label}: keys and order`);
  for (const [key, want] of expected) {
    const got = actual.get(key);
    assert.ok(got, `${label}: ${key} missing`);
    assert.deepEqual(got.shape, want.shape, `${label}: ${key} shape`);
    assert.equal(got.data.constructor, want.data.constructor, `${label}: ${key} dtype`);
    assert.deepEqual(got.data, want.data, `${label}: ${key} values`);
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const ARCH_DIR = path.join(FIXTURES_DIR, 'arch');
const fixtureCases = fs.existsSync(ARCH_DIR)
  ? fs.readdirSync(ARCH_DIR).filter((name) => fs.existsSync(path.join(ARCH_DIR, name, `${name}.pth`)))
  : [];

test('the fixture folder holds .pth checkpoints to compare', () => {
  assert.ok(fixtureCases.length >= 8, `found ${fixtureCases.length} cases under ${ARCH_DIR}`);
});

for (const name of fixtureCases) {
  test(`${name}.pth reads to exactly the tensors of ${name}.safetensors`, async () => {
    const folder = path.join(ARCH_DIR, name);
    const fromPth = await readPth(path.join(folder, `${name}.pth`));
    const fromSafetensors = readSafetensors(fs.readFileSync(path.join(folder, `${name}.safetensors`)), name);
    assertSameStateDict(fromPth, fromSafetensors, name);
  });
}

test('a truncated fixture checkpoint is a clear error', () => {
  const name = fixtureCases[0] as string;
  const whole = fs.readFileSync(path.join(ARCH_DIR, name, `${name}.pth`));
  for (const keep of [whole.length - 10, Math.floor(whole.length / 2), 100, 3]) {
    assert.throws(
      () => readPthBytes(whole.subarray(0, keep), 'cut.pth'),
      /^Error: cut\.pth: .*(truncated|not a PyTorch checkpoint)/,
      `kept ${keep}`,
    );
  }
  assert.throws(
    () => readPthBytes(new Uint8Array(0), 'empty.pth'),
    /empty\.pth: not a PyTorch checkpoint.*\(empty file\)/,
  );
});

test('a damaged storage is caught by its CRC', () => {
  const name = fixtureCases[0] as string;
  const bytes = new Uint8Array(fs.readFileSync(path.join(ARCH_DIR, name, `${name}.pth`)));
  // Flip a byte in the middle of the data section, far from the headers.
  const at = bytes.length >> 1;
  bytes[at] = (bytes[at] as number) ^ 0xff;
  assert.throws(() => readPthBytes(bytes, 'damaged.pth'), /damaged\.pth: .*(CRC-32|malformed|not a valid)/);
});

// ---------------------------------------------------------------------------------------------
// Unwrapping

const convWeight = [0.5, -1, 2, 0.25];
const convBias = [3, -4];

function plainStateDict(key: (name: string) => string): Py {
  return {
    ordered: [
      [key('conv.weight'), tensor('0', 'FloatStorage', 4, 0, [2, 2])],
      [key('conv.bias'), tensor('1', 'FloatStorage', 2, 0, [2])],
      [key('bn.num_batches_tracked'), tensor('2', 'LongStorage', 1, 0, [])],
    ],
  };
}

const plainStorages = (scale: number): Record<string, Uint8Array> => ({
  '0': f32Bytes(convWeight.map((v) => v * scale)),
  '1': f32Bytes(convBias.map((v) => v * scale)),
  '2': new Uint8Array(BigInt64Array.from([7n]).buffer),
});

test('a plain OrderedDict state dict reads with shapes, float32 and int64 values', () => {
  const sd = readPthBytes(
    checkpoint(
      plainStateDict((k) => k),
      plainStorages(1),
    ),
    'plain.pth',
  );
  assert.deepEqual([...sd.keys()], ['conv.weight', 'conv.bias', 'bn.num_batches_tracked']);
  assert.deepEqual(sd.get('conv.weight'), { shape: [2, 2], data: Float32Array.from(convWeight) });
  assert.deepEqual(sd.get('conv.bias'), { shape: [2], data: Float32Array.from(convBias) });
  assert.deepEqual(sd.get('bn.num_batches_tracked'), { shape: [], data: BigInt64Array.from([7n]) });
});

test('params_ema is preferred over params, whichever comes first', () => {
  // Both wrappers share storages in a real BasicSR file; here they differ so we can tell them apart.
  const params: Py = { ordered: [['w', tensor('0', 'FloatStorage', 2, 0, [2])]] };
  const ema: Py = { ordered: [['w', tensor('1', 'FloatStorage', 2, 0, [2])]] };
  const storages = { '0': f32Bytes([1, 2]), '1': f32Bytes([10, 20]) };
  for (const order of [
    [
      ['params', params],
      ['params_ema', ema],
    ],
    [
      ['params_ema', ema],
      ['params', params],
    ],
  ] as Array<Array<[Py, Py]>>) {
    const sd = readPthBytes(checkpoint({ dict: order }, storages), 'basicsr.pth');
    assert.deepEqual(sd.get('w')?.data, Float32Array.from([10, 20]));
  }
  const onlyParams = readPthBytes(checkpoint({ dict: [['params', params]] }, storages), 'p.pth');
  assert.deepEqual(onlyParams.get('w')?.data, Float32Array.from([1, 2]));
});

test('nested wrappers, the DataParallel module. prefix and non-tensor entries are handled', () => {
  const inner = plainStateDict((k) => `module.${k}`);
  const wrapped: Py = {
    dict: [
      ['epoch', 12],
      ['optimizer', { dict: [['lr', { float: 0.001 }]] }],
      ['state_dict', { dict: [['model', inner]] }],
    ],
  };
  const sd = readPthBytes(checkpoint(wrapped, plainStorages(2)), 'trainer.pth');
  assert.deepEqual([...sd.keys()], ['conv.weight', 'conv.bias', 'bn.num_batches_tracked']);
  assert.deepEqual(sd.get('conv.bias')?.data, Float32Array.from([6, -8]));

  // Non-tensor values inside the state dict itself are skipped.
  const mixed: Py = {
    ordered: [
      ['w', tensor('0', 'FloatStorage', 4, 0, [4])],
      ['note', 'trained on DIV2K'],
      ['steps', 1000],
      ['nothing', null],
    ],
  };
  assert.deepEqual([...readPthBytes(checkpoint(mixed, { '0': f32Bytes([1, 2, 3, 4]) }), 'm.pth').keys()], ['w']);
});

test('a wrapper holding only configuration is passed over for one holding weights', () => {
  const wrapped: Py = {
    dict: [
      [
        'model',
        {
          dict: [
            ['arch', 'RRDBNet'],
            ['scale', 4],
          ],
        },
      ],
      ['weights', { dict: [['net', { ordered: [['w', tensor('0', 'FloatStorage', 1, 0, [1])]] }]] }],
    ],
  };
  const sd = readPthBytes(checkpoint(wrapped, { '0': f32Bytes([9]) }), 'config.pth');
  assert.deepEqual([...sd.keys()], ['w']);
});

test('tensors of a wrapper that is not chosen are never decoded', () => {
  // 'params' points at a storage whose view is out of range: reading it would throw.
  const broken: Py = { ordered: [['w', tensor('0', 'FloatStorage', 2, 5, [2])]] };
  const good: Py = { ordered: [['w', tensor('0', 'FloatStorage', 2, 0, [2])]] };
  const sd = readPthBytes(
    checkpoint(
      {
        dict: [
          ['params', broken],
          ['params_ema', good],
        ],
      },
      { '0': f32Bytes([1, 2]) },
    ),
    'lazy.pth',
  );
  assert.deepEqual(sd.get('w')?.data, Float32Array.from([1, 2]));
});

test('a wrapper that contains itself ends in an error, not a loop', () => {
  // d = {}; d['params'] = d  ->  EMPTY_DICT BINPUT 0 MARK 'params' BINGET 0 SETITEMS STOP
  const selfReferencing = Uint8Array.from([
    0x80,
    0x02,
    0x7d,
    0x71,
    0x00,
    0x28,
    0x58,
    6,
    0,
    0,
    0,
    ...Buffer.from('params'),
    0x68,
    0x00,
    0x75,
    0x2e,
  ]);
  const bytes = zip([{ name: 'archive/data.pkl', data: selfReferencing }]);
  assert.throws(
    () => readPthBytes(bytes, 'cycle.pth'),
    /cycle\.pth: the top-level object has no tensors, and no wrapper key .* leads to any \(its keys: 'params'\)/,
  );
});

test('stripModulePrefix strips only when every key has the prefix', () => {
  const t = { shape: [1], data: Float32Array.from([1]) };
  assert.deepEqual(
    [
      ...stripModulePrefix(
        new Map([
          ['module.a', t],
          ['module.b.c', t],
        ]),
      ).keys(),
    ],
    ['a', 'b.c'],
  );
  assert.deepEqual(
    [
      ...stripModulePrefix(
        new Map([
          ['module.a', t],
          ['b', t],
        ]),
      ).keys(),
    ],
    ['module.a', 'b'],
  );
  assert.deepEqual([...stripModulePrefix(new Map()).keys()], []);
});

test('objects that are not state dicts are clear errors', () => {
  assert.throws(
    () => readPthBytes(checkpoint(tensor('0', 'FloatStorage', 1, 0, [1]), { '0': f32Bytes([1]) }), 'single.pth'),
    /single\.pth: the top-level object is a single tensor; expected a dict of tensors/,
  );
  assert.throws(
    () =>
      readPthBytes(
        checkpoint(
          {
            dict: [
              ['epoch', 3],
              ['lr', 1],
            ],
          },
          {},
        ),
        'meta.pth',
      ),
    /meta\.pth: the top-level object has no tensors, .*\(its keys: 'epoch', 'lr'\); expected a state dict/,
  );
  assert.throws(
    () => readPthBytes(checkpoint({ dict: [['params', { dict: [['x', 1]] }]] }, {}), 'empty.pth'),
    /empty\.pth: the top-level object has no tensors, and no wrapper key .* leads to any \(its keys: 'params'\)/,
  );
  assert.throws(() => readPthBytes(checkpoint([1, 2], {}), 'list.pth'), /list\.pth: the top-level object is a list/);
  assert.throws(
    () => unwrapStateDict(undefined, 'x'),
    /x: the top-level object is nothing; expected a dict of tensors/,
  );
});

// ---------------------------------------------------------------------------------------------
// Storage types and views

test('float16, bfloat16, float64, int32 and uint8 storages decode to float32 / int64', () => {
  const halves = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001]); // 1, -2, 0.5, 65504, 2^-24
  const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x4049]); // 1, -3, 3.140625
  const sd = readPthBytes(
    checkpoint(
      {
        ordered: [
          ['half', tensor('h', 'HalfStorage', 5, 0, [5])],
          ['bf16', tensor('b', 'BFloat16Storage', 3, 0, [3])],
          ['double', tensor('d', 'DoubleStorage', 2, 0, [2])],
          ['int', tensor('i', 'IntStorage', 2, 0, [2])],
          ['byte', tensor('u', 'ByteStorage', 2, 0, [2])],
        ],
      },
      {
        h: new Uint8Array(halves.buffer),
        b: new Uint8Array(bf16.buffer),
        d: new Uint8Array(Float64Array.from([0.1, -1e300]).buffer),
        i: new Uint8Array(Int32Array.from([-5, 2 ** 31 - 1]).buffer),
        u: Uint8Array.from([0, 255]),
      },
    ),
    'dtypes.pth',
  );
  assert.deepEqual(sd.get('half')?.data, Float32Array.from([1, -2, 0.5, 65504, 2 ** -24]));
  assert.deepEqual(sd.get('bf16')?.data, Float32Array.from([1, -3, 3.140625]));
  assert.deepEqual(sd.get('double')?.data, Float32Array.from([0.1, -Infinity]));
  assert.deepEqual(sd.get('int')?.data, BigInt64Array.from([-5n, 2n ** 31n - 1n]));
  assert.deepEqual(sd.get('byte')?.data, BigInt64Array.from([0n, 255n]));
});

test('storage offsets and non-contiguous strides give the same values torch would', () => {
  const storage = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const sd = readPthBytes(
    checkpoint(
      {
        ordered: [
          // rows 1..2 of a 3x4 matrix
          ['rows', tensor('0', 'FloatStorage', 12, 4, [2, 4])],
          // the transpose of the 3x4 matrix: shape 4x3, stride (1, 4)
          ['transposed', tensor('0', 'FloatStorage', 12, 0, [4, 3], [1, 4])],
          // every other column of row 0..2: shape 3x2, stride (4, 2), offset 1
          ['sliced', tensor('0', 'FloatStorage', 12, 1, [3, 2], [4, 2])],
          // a broadcast row: stride 0
          ['expanded', tensor('0', 'FloatStorage', 12, 8, [2, 3], [0, 1])],
          // a 3-d permute of a 2x2x3 block: shape (3, 2, 2), stride (1, 6, 3)
          ['permuted', tensor('0', 'FloatStorage', 12, 0, [3, 2, 2], [1, 6, 3])],
          ['scalar', tensor('0', 'FloatStorage', 12, 11, [])],
          ['empty', tensor('0', 'FloatStorage', 12, 0, [0, 3])],
        ],
      },
      { '0': storage },
    ),
    'views.pth',
  );
  assert.deepEqual(sd.get('rows'), { shape: [2, 4], data: Float32Array.from([4, 5, 6, 7, 8, 9, 10, 11]) });
  assert.deepEqual(sd.get('transposed'), {
    shape: [4, 3],
    data: Float32Array.from([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]),
  });
  assert.deepEqual(sd.get('sliced'), { shape: [3, 2], data: Float32Array.from([1, 3, 5, 7, 9, 11]) });
  assert.deepEqual(sd.get('expanded'), { shape: [2, 3], data: Float32Array.from([8, 9, 10, 8, 9, 10]) });
  assert.deepEqual(sd.get('permuted'), {
    shape: [3, 2, 2],
    data: Float32Array.from([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]),
  });
  assert.deepEqual(sd.get('scalar'), { shape: [], data: Float32Array.from([11]) });
  assert.deepEqual(sd.get('empty'), { shape: [0, 3], data: new Float32Array(0) });
  // Tensors never share memory with each other or with the file.
  assert.notEqual(sd.get('rows')?.data.buffer, sd.get('transposed')?.data.buffer);
});

test('a half-precision view with strides decodes through the strided path', () => {
  const halves = Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400]); // 1, 2, 3, 4
  const sd = readPthBytes(
    checkpoint(
      { ordered: [['t', tensor('0', 'HalfStorage', 4, 0, [2, 2], [1, 2])]] },
      { '0': new Uint8Array(halves.buffer) },
    ),
    'half-t.pth',
  );
  assert.deepEqual(sd.get('t')?.data, Float32Array.from([1, 3, 2, 4]));
});

test('views that reach past their storage, and storages of the wrong size, are refused', () => {
  const outOfRange = checkpoint(
    { ordered: [['w', tensor('0', 'FloatStorage', 4, 1, [2, 2])]] },
    { '0': f32Bytes([1, 2, 3, 4]) },
  );
  assert.throws(
    () => readPthBytes(outOfRange, 'view.pth'),
    /view\.pth: a tensor of shape \[2, 2\] .* reaches element 4 of storage '0', which holds 4/,
  );
  const shortStorage = checkpoint(
    { ordered: [['w', tensor('0', 'FloatStorage', 4, 0, [4])]] },
    { '0': f32Bytes([1, 2, 3]) },
  );
  assert.throws(
    () => readPthBytes(shortStorage, 'short.pth'),
    /short\.pth: entry 'archive\/data\/0' holds 12 bytes; expected 16 \(4 elements of FloatStorage\)/,
  );
  const missing = checkpoint({ ordered: [['w', tensor('9', 'FloatStorage', 1, 0, [1])]] }, {});
  assert.throws(
    () => readPthBytes(missing, 'missing.pth'),
    /missing\.pth: storage '9' has no entry 'archive\/data\/9'/,
  );
  const badSize: Py = {
    ordered: [
      [
        'w',
        {
          call: { global: ['torch._utils', '_rebuild_tensor_v2'] },
          args: [
            { persistent: { tuple: ['storage', { global: ['torch', 'FloatStorage'] }, '0', 'cpu', 1] } },
            0,
            { tuple: [-1] },
            { tuple: [1] },
            false,
            null,
          ],
        },
      ],
    ],
  };
  assert.throws(
    () => readPthBytes(checkpoint(badSize, { '0': f32Bytes([1]) }), 'neg.pth'),
    /neg\.pth \(archive\/data\.pkl\): .*_rebuild_tensor_v2: expected size and stride to be tuples of non-negative integers/,
  );
});

test('many broadcast views of a small storage cannot blow up memory', () => {
  const entries: Array<[Py, Py]> = [];
  for (let i = 0; i < 40; i++) entries.push([`w${i}`, tensor('0', 'FloatStorage', 1, 0, [1024, 1024], [0, 0])]);
  assert.throws(
    () => readPthBytes(checkpoint({ ordered: entries }, { '0': f32Bytes([1]) }), 'bomb.pth'),
    /bomb\.pth: the tensors expand to far more data/,
  );
});

test('nn.Parameter (_rebuild_parameter) unwraps to its tensor', () => {
  const parameter: Py = {
    call: { global: ['torch._utils', '_rebuild_parameter'] },
    args: [tensor('0', 'FloatStorage', 2, 0, [2]), true, { ordered: [] }],
  };
  const sd = readPthBytes(checkpoint({ ordered: [['p', parameter]] }, { '0': f32Bytes([5, 6]) }), 'param.pth');
  assert.deepEqual(sd.get('p')?.data, Float32Array.from([5, 6]));
});

test('zip64 sizes and offsets (extra fields and the zip64 end record) are read', () => {
  const bytes = checkpoint(
    plainStateDict((k) => k),
    plainStorages(1),
    { zip64: true },
  );
  const sd = readPthBytes(bytes, 'zip64.pth');
  assert.deepEqual(sd.get('conv.weight')?.data, Float32Array.from(convWeight));
  assert.deepEqual(sd.get('bn.num_batches_tracked')?.data, BigInt64Array.from([7n]));
});

test('deflated entries and other archive names are read too', () => {
  const sd = readPthBytes(
    checkpoint(
      plainStateDict((k) => k),
      plainStorages(1),
      { method: 8, archive: 'my_model' },
    ),
    'deflated.pth',
  );
  assert.deepEqual(sd.get('conv.weight')?.data, Float32Array.from(convWeight));
});

// ---------------------------------------------------------------------------------------------
// Hostile and malformed archives

const MARKER_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-pth-'));

for (const [module, name] of [
  ['os', 'system'],
  ['posix', 'system'],
  ['builtins', 'eval'],
  ['subprocess', 'Popen'],
  ['torch', 'load'],
] as const) {
  test(`a checkpoint whose data.pkl calls ${module}.${name} is refused and runs nothing`, () => {
    const marker = path.join(MARKER_DIR, `${module}-${name}`);
    const payload: Py = { call: { global: [module, name] }, args: [`touch ${marker}`] };
    const zipped = checkpoint({ dict: [['params', payload]] }, {});
    assert.throws(
      () => readPthBytes(zipped, 'evil.pth'),
      (e: Error) => {
        assert.match(e.message, /^evil\.pth \(archive\/data\.pkl\): /);
        assert.ok(e.message.includes(`'${module}.${name}'`), e.message);
        assert.match(e.message, /not allowed in a weights file/);
        return true;
      },
    );
    // A bare pickle (what a legacy-format file starts with) is refused the same way.
    assert.throws(
      () => readPthBytes(pickle(payload), 'evil-legacy.pth'),
      (e: Error) => e.message.includes(`'${module}.${name}'`),
    );
    assert.equal(fs.existsSync(marker), false);
  });
}

test('a whole pickled module (a global outside the allow-list) is refused by name', () => {
  const model: Py = { call: { global: ['basicsr.archs.rrdbnet_arch', 'RRDBNet'] }, args: [] };
  assert.throws(
    () => readPthBytes(checkpoint(model, {}), 'model.pth'),
    /'basicsr\.archs\.rrdbnet_arch\.RRDBNet', which is not allowed in a weights file/,
  );
});

test('zip entries that escape their folder are refused', () => {
  for (const evil of ['archive/../../evil', '../evil', '/etc/passwd', 'archive\\..\\evil', 'C:/evil']) {
    const bytes = zip([
      { name: 'archive/data.pkl', data: pickle({ ordered: [] }) },
      { name: evil, data: Uint8Array.from([1]) },
    ]);
    assert.throws(
      () => readPthBytes(bytes, 'escape.pth'),
      (e: Error) => {
        assert.ok(e.message.startsWith('escape.pth: '), e.message);
        assert.ok(e.message.includes(`'${evil}' escapes its folder`), e.message);
        return true;
      },
    );
  }
});

test('duplicate, overlapping, unsupported and out-of-range zip entries are refused', () => {
  const dataPkl = { name: 'archive/data.pkl', data: pickle({ ordered: [] }) };
  assert.throws(
    () => readPthBytes(zip([dataPkl, dataPkl]), 'dup.pth'),
    /dup\.pth: .*entry 'archive\/data\.pkl' appears twice/,
  );

  // Central directory pointing the second entry at the first one's bytes.
  const twoEntries = zip([dataPkl, { name: 'archive/data/0', data: f32Bytes([1]) }]);
  const view = new DataView(twoEntries.buffer);
  const directoryOffset = view.getUint32(twoEntries.length - 6, true);
  const secondCentral = directoryOffset + 46 + 'archive/data.pkl'.length;
  const overlapping = twoEntries.slice();
  new DataView(overlapping.buffer).setUint32(secondCentral + 42, 0, true);
  assert.throws(() => readPthBytes(overlapping, 'overlap.pth'), /overlap\.pth: .*(local name|overlap)/);

  const pastEnd = twoEntries.slice();
  new DataView(pastEnd.buffer).setUint32(secondCentral + 42, 0x7fffffff, true);
  assert.throws(
    () => readPthBytes(pastEnd, 'past.pth'),
    /past\.pth: .*points to offset 2147483647, where there is no local header/,
  );

  const hugeSize = twoEntries.slice();
  new DataView(hugeSize.buffer).setUint32(secondCentral + 20, 1 << 30, true);
  new DataView(hugeSize.buffer).setUint32(secondCentral + 24, 1 << 30, true);
  assert.throws(() => readPthBytes(hugeSize, 'size.pth'), /size\.pth: .*runs past the end of the entries/);

  const bzip2 = twoEntries.slice();
  new DataView(bzip2.buffer).setUint16(secondCentral + 10, 12, true);
  assert.throws(
    () => readPthBytes(bzip2, 'bzip.pth'),
    /bzip\.pth: .*compression method 12; expected stored \(0\) or deflate \(8\)/,
  );
});

test('zips without a state dict pickle are explained', () => {
  const torchScript = zip([
    { name: 'model/data.pkl', data: pickle({ call: { global: ['__torch__', 'RRDBNet'] }, args: [] }) },
    { name: 'model/constants.pkl', data: pickle([]) },
    { name: 'model/code/__torch__.py', data: Buffer.from('x') },
  ]);
  assert.throws(() => readPthBytes(torchScript, 'script.pt'), /script\.pt: this is a TorchScript archive/);
  const other = zip([{ name: 'readme.txt', data: Buffer.from('hi') }]);
  assert.throws(
    () => readPthBytes(other, 'other.zip'),
    /other\.zip: the zip holds no '<archive>\/data\.pkl'.*readme\.txt/,
  );
});

test('a truncated synthetic checkpoint is a clear error at every cut', () => {
  const whole = checkpoint(
    plainStateDict((k) => k),
    plainStorages(1),
  );
  for (let keep = 0; keep < whole.length; keep += 7) {
    assert.throws(
      () => readPthBytes(whole.subarray(0, keep), 'cut.pth'),
      /^Error: cut\.pth: /,
      `kept ${keep} of ${whole.length}`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Legacy (pre-1.6) format

/** magic, protocol, sys info, the object, the storage keys, then each storage as int64 count + data. */
function legacyCheckpoint(object: Py, storages: Array<[string, number, Uint8Array]>): Uint8Array {
  const magic = Uint8Array.from([
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
  ]);
  const parts: Uint8Array[] = [
    magic,
    pickle(1001),
    pickle({
      dict: [
        ['protocol_version', 1001],
        ['little_endian', true],
        [
          'type_sizes',
          {
            dict: [
              ['short', 2],
              ['int', 4],
              ['long', 8],
            ],
          },
        ],
      ],
    }),
    pickle(object),
    pickle(storages.map(([key]) => key)),
  ];
  for (const [, count, data] of storages) {
    parts.push(new Uint8Array(BigInt64Array.from([BigInt(count)]).buffer), data);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function legacyTensor(key: string, numel: number, offset: number, size: number[], view: Py = null): Py {
  return {
    call: { global: ['torch._utils', '_rebuild_tensor_v2'] },
    args: [
      { persistent: { tuple: ['storage', { global: ['torch', 'FloatStorage'] }, key, 'cuda:0', numel, view] } },
      offset,
      { tuple: size },
      { tuple: size.length === 2 ? [size[1] as number, 1] : [1] },
      false,
      { ordered: [] },
    ],
  };
}

test('the legacy (pre-1.6) format reads, including storage views', () => {
  const bytes = legacyCheckpoint(
    {
      dict: [
        [
          'params_ema',
          {
            ordered: [
              ['module.a', legacyTensor('94', 6, 0, [2, 3])],
              ['module.b', legacyTensor('17', 2, 0, [2])],
              // a view into storage 94 starting at element 4 (16 bytes), 2 elements long
              ['module.c', legacyTensor('94', 6, 0, [2], { tuple: ['94_view', 4, 8] })],
            ],
          },
        ],
      ],
    },
    [
      ['17', 2, f32Bytes([7, 8])],
      ['94', 6, f32Bytes([1, 2, 3, 4, 5, 6])],
    ],
  );
  const sd = readPthBytes(bytes, 'legacy.pth');
  assert.deepEqual([...sd.keys()], ['a', 'b', 'c']);
  assert.deepEqual(sd.get('a'), { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual(sd.get('b'), { shape: [2], data: Float32Array.from([7, 8]) });
  assert.deepEqual(sd.get('c'), { shape: [2], data: Float32Array.from([5, 6]) });

  for (let keep = 0; keep < bytes.length; keep += 5) {
    assert.throws(
      () => readPthBytes(bytes.subarray(0, keep), 'legacy-cut.pth'),
      /^Error: legacy-cut\.pth: /,
      `kept ${keep}`,
    );
  }
});

test('a legacy file whose storage count disagrees with its tensors is refused', () => {
  const bytes = legacyCheckpoint({ ordered: [['w', legacyTensor('1', 2, 0, [2])]] }, [['1', 3, f32Bytes([1, 2, 3])]]);
  assert.throws(
    () => readPthBytes(bytes, 'count.pth'),
    /count\.pth: storage '1' holds 3 elements; its tensors expect 2/,
  );
});

test("a pickle that is not torch's magic number is not a checkpoint", () => {
  assert.throws(
    () => readPthBytes(pickle({ dict: [] }), 'plain.pkl'),
    /plain\.pkl: not a PyTorch checkpoint: .*magic number/,
  );
});
