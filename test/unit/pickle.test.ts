// The restricted unpickler: it must decode the data opcodes torch.save writes and refuse,
// without running anything, every global not on the caller's allow-list.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describePickleValue,
  unpickle,
  PickleDict,
  PickleTuple,
  type AllowedGlobal,
  type PickleValue,
} from '../../models/readers/pickle';

const ORDERED_DICT_ONLY: AllowedGlobal[] = [
  { module: 'collections', name: 'OrderedDict', construct: () => new PickleDict('collections.OrderedDict') },
];

const ascii = (text: string): number[] => [...Buffer.from(text, 'latin1')];
const u32le = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const binunicode = (text: string): number[] => {
  const raw = [...Buffer.from(text, 'utf8')];
  return [0x58, ...u32le(raw.length), ...raw];
};
const load = (bytes: number[] | Uint8Array, allowedGlobals: AllowedGlobal[] = ORDERED_DICT_ONLY): PickleValue =>
  unpickle(Uint8Array.from(bytes), 'test.pkl', { allowedGlobals }).value;

function dictOf(value: PickleValue): Map<unknown, PickleValue> {
  assert.ok(value instanceof PickleDict, `expected a dict, got ${describePickleValue(value)}`);
  return value.entries;
}

test('decodes a protocol 2 pickle written by CPython (ints, floats, None, bools, str, long, tuple, OrderedDict)', () => {
  // pickle.dumps({'a': [1, -2, 3.5, None, True, False, 'é', 2**70, -300, 70000, -(2**40)],
  //               't': (1, 'two', (3,)), 'od': OrderedDict([('k', 1)])}, protocol=2)
  const hex =
    '80027d71002858010000006171015d7102284b014afeffffff47400c0000000000004e88895802000000c3a971038a090000000000000000404ad4feffff4a701101008a060000000000ff6558010000007471044b01580300000074776f71054b0385710687710758020000006f64710863636f6c6c656374696f6e730a4f726465726564446963740a71092952710a58010000006b710b4b0173752e';
  const top = dictOf(load(Buffer.from(hex, 'hex')));
  assert.deepEqual([...top.keys()], ['a', 't', 'od']);
  assert.deepEqual(top.get('a'), [1, -2, 3.5, null, true, false, 'é', 2n ** 70n, -300, 70000, -(2 ** 40)]);
  const t = top.get('t');
  assert.ok(t instanceof PickleTuple);
  assert.equal(t.items[0], 1);
  assert.equal(t.items[1], 'two');
  assert.ok(t.items[2] instanceof PickleTuple);
  assert.deepEqual(t.items[2].items, [3]);
  const od = top.get('od');
  assert.ok(od instanceof PickleDict);
  assert.equal(od.typeName, 'collections.OrderedDict');
  assert.deepEqual([...od.entries], [['k', 1]]);
});

test('decodes a protocol 4 pickle (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, shared memo references, bytes)', () => {
  // x = [1, 2]; pickle.dumps({'shared': [x, x], 'float': -0.25, 'big': 2**64, 'b': b'xy',
  //                           'od': OrderedDict([('k', 1)])}, protocol=4)
  const hex =
    '80049574000000000000007d94288c06736861726564945d94285d94284b014b02656803658c05666c6f61749447bfd00000000000008c03626967948a090000000000000000018c01629443027879948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b0173752e';
  const top = dictOf(load(Buffer.from(hex, 'hex')));
  const shared = top.get('shared') as PickleValue[];
  assert.deepEqual(shared, [
    [1, 2],
    [1, 2],
  ]);
  assert.equal(shared[0], shared[1], 'both list entries are the same memoized object');
  assert.equal(top.get('float'), -0.25);
  assert.equal(top.get('big'), 2n ** 64n);
  assert.deepEqual(top.get('b'), Uint8Array.from([0x78, 0x79]));
  assert.ok(top.get('od') instanceof PickleDict);
});

test('returns the end offset so that back-to-back pickles can be read in turn', () => {
  const first = [0x80, 0x02, 0x4b, 0x07, 0x2e];
  const second = [0x80, 0x02, ...binunicode('next'), 0x2e];
  const bytes = Uint8Array.from([...first, ...second]);
  const a = unpickle(bytes, 'x', { allowedGlobals: [] });
  assert.equal(a.value, 7);
  assert.equal(a.end, first.length);
  const b = unpickle(bytes, 'x', { allowedGlobals: [] }, a.end);
  assert.equal(b.value, 'next');
  assert.equal(b.end, bytes.length);
});

test('passes persistent ids to persistentLoad and refuses them when there is none', () => {
  const bytes = [0x80, 0x02, ...binunicode('storage-7'), 0x51, 0x2e];
  const seen: PickleValue[] = [];
  const value = unpickle(Uint8Array.from(bytes), 'x', {
    allowedGlobals: [],
    persistentLoad: (id) => {
      seen.push(id);
      return 42;
    },
  }).value;
  assert.equal(value, 42);
  assert.deepEqual(seen, ['storage-7']);
  assert.throws(() => load(bytes), /test\.pkl.*persistent id/);
});

// Each of these is what a malicious checkpoint uses to run a shell command on load.
const MARKER_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-pickle-'));
const HOSTILE_GLOBALS: Array<[string, string]> = [
  ['os', 'system'],
  ['posix', 'system'],
  ['nt', 'system'],
  ['builtins', 'eval'],
  ['builtins', 'exec'],
  ['__builtin__', 'eval'],
  ['subprocess', 'Popen'],
  ['builtins', 'getattr'],
  ['torch', 'load'],
  ['collections', 'OrderedDict.fromkeys'],
];

for (const [module, name] of HOSTILE_GLOBALS) {
  test(`refuses GLOBAL ${module}.${name} + REDUCE, naming the global, and runs nothing`, () => {
    const marker = path.join(MARKER_DIR, `${module}-${name}`);
    const command = `touch ${marker}`;
    // c<module>\n<name>\n (X<command> t) R .
    const viaGlobal = [
      0x80,
      0x02,
      0x63,
      ...ascii(`${module}\n${name}\n`),
      0x28,
      ...binunicode(command),
      0x74,
      0x52,
      0x2e,
    ];
    assert.throws(
      () => load(viaGlobal),
      (e: Error) => {
        assert.match(e.message, /^test\.pkl: /);
        assert.ok(e.message.includes(`'${module}.${name}'`), e.message);
        assert.match(e.message, /not allowed in a weights file/);
        return true;
      },
    );
    // The same through protocol 4's STACK_GLOBAL.
    const viaStackGlobal = [
      0x80,
      0x04,
      ...binunicode(module),
      ...binunicode(name),
      0x93,
      ...binunicode(command),
      0x85,
      0x52,
      0x2e,
    ];
    assert.throws(
      () => load(viaStackGlobal),
      (e: Error) => e.message.includes(`'${module}.${name}'`),
    );
    assert.equal(fs.existsSync(marker), false, 'the command must not have run');
  });
}

test('refuses protocol 0 INST/OBJ, which instantiate classes, naming the opcode and offset', () => {
  const inst = [0x80, 0x02, 0x28, ...binunicode('touch x'), 0x69, ...ascii('os\nsystem\n'), 0x2e];
  assert.throws(() => load(inst), /opcode 0x69 \(INST\) at offset 15/);
  const obj = [0x80, 0x02, 0x28, 0x4b, 0x01, 0x6f, 0x2e];
  assert.throws(() => load(obj), /opcode 0x6f \(OBJ\) at offset 5/);
});

test('refuses an unknown opcode, naming its byte and offset', () => {
  assert.throws(() => load([0x80, 0x02, 0x4b, 0x01, 0xff, 0x2e]), /test\.pkl: .*opcode 0xff at offset 4/);
  // EXT1 refers to the copyreg extension registry, i.e. to arbitrary globals.
  assert.throws(() => load([0x80, 0x02, 0x82, 0x01, 0x2e]), /opcode 0x82 \(EXT1\) at offset 2/);
});

test('a global on the list but without a constructor can be referred to but not called', () => {
  const marker: AllowedGlobal[] = [{ module: 'torch', name: 'FloatStorage' }];
  const referred = load([0x80, 0x02, 0x63, ...ascii('torch\nFloatStorage\n'), 0x2e], marker);
  assert.equal((referred as { qualifiedName: string }).qualifiedName, 'torch.FloatStorage');
  assert.throws(
    () => load([0x80, 0x02, 0x63, ...ascii('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e], marker),
    /torch\.FloatStorage, which may only be referred to, not called/,
  );
});

test('REDUCE on something that is not a global is refused', () => {
  assert.throws(
    () => load([0x80, 0x02, ...binunicode('os.system'), 0x29, 0x52, 0x2e]),
    /calls a str, which is not callable/,
  );
});

test('a truncated pickle is a clear error', () => {
  const whole = [0x80, 0x02, ...binunicode('conv_first.weight'), 0x2e];
  for (const cut of [1, 3, 6, 10, whole.length - 1]) {
    assert.throws(() => load(whole.slice(0, cut)), /test\.pkl: malformed pickle .*truncated/, `cut at ${cut}`);
  }
  assert.throws(() => load([]), /truncated/);
});

test('lengths are checked against the data before anything is allocated', () => {
  // BINUNICODE claiming 4 GiB in a 12-byte file.
  assert.throws(() => load([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0xff, 0x41, 0x2e]), /needs 4294967295 bytes/);
  // BINBYTES8 claiming 2^62 bytes.
  assert.throws(() => load([0x80, 0x04, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x2e]), /declares 4611686018427387904 bytes/);
  // LONG4 with a 1 MB integer.
  assert.throws(() => load([0x80, 0x02, 0x8b, ...u32le(1 << 20), 0x2e]), /longer than the 64 allowed/);
});

test('nesting, memo misuse and malformed structure are refused', () => {
  const deepMarks = [0x80, 0x02, ...new Array<number>(5000).fill(0x28)];
  assert.throws(() => load(deepMarks), /MARKs nest deeper than 1000/);
  assert.throws(() => load([0x80, 0x02, 0x68, 0x05, 0x2e]), /memo entry 5 was never stored/);
  assert.throws(() => load([0x80, 0x02, 0x74, 0x2e]), /no MARK to pop to/);
  assert.throws(() => load([0x80, 0x02, 0x2e]), /pops an empty stack/);
  assert.throws(() => load([0x80, 0x02, 0x28, 0x4b, 0x01, 0x2e]), /a MARK is still open/);
  assert.throws(() => load([0x80, 0x02, 0x29, 0x4b, 0x01, 0x61, 0x2e]), /appends to a tuple, not a list/);
  assert.throws(() => load([0x80, 0x02, 0x7d, 0x5d, 0x4b, 0x01, 0x73, 0x2e]), /uses a list as a dict key/);
  assert.throws(() => load([0x80, 0x06, 0x2e]), /protocol 6 is newer than 5/);
  assert.throws(() => load([0x80, 0x02, 0x58, 0x02, 0, 0, 0, 0xc3, 0x28, 0x2e]), /not valid UTF-8/);
});

test("BUILD sets a dict's attributes (torch's _metadata) and is refused on plain values", () => {
  // OrderedDict() with BUILD {'_metadata': 1}
  const bytes = [
    0x80,
    0x02,
    0x63,
    ...ascii('collections\nOrderedDict\n'),
    0x29,
    0x52,
    0x7d,
    ...binunicode('_metadata'),
    0x4b,
    0x01,
    0x73,
    0x62,
    0x2e,
  ];
  const od = load(bytes);
  assert.ok(od instanceof PickleDict);
  assert.ok(od.attributes instanceof PickleDict);
  assert.equal(od.attributes.entries.get('_metadata'), 1);
  assert.throws(() => load([0x80, 0x02, 0x4b, 0x01, 0x7d, 0x62, 0x2e]), /sets the state of a int/);
});
