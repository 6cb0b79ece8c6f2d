// A restricted unpickler for weights files. Python's pickle is a small stack machine whose
// GLOBAL + REDUCE opcodes can call any importable function (os.system, builtins.eval...), so
// a .pth file is a program. This interpreter never imports or runs anything: a GLOBAL must be
// on the caller's explicit allow-list, and "calling" an allowed global runs a plain TypeScript
// function the caller supplied. Everything else the machine does (building tuples, lists and
// dicts, the memo) is plain data handling, bounded so that hostile input fails quickly.

/** The Python values that can be dict keys here; tuple or object keys never occur in weights. */
export type PickleKey = string | number | bigint | boolean | null;

/** A Python tuple, kept apart from lists because APPEND on a tuple is malformed. */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python dict or collections.OrderedDict; both keep insertion order, as Map does. */
export class PickleDict {
  readonly entries = new Map<PickleKey, PickleValue>();
  /** The object's __dict__ when BUILD gave it one (torch stores `_metadata` there). */
  attributes: PickleValue = null;
  constructor(readonly typeName: 'dict' | 'collections.OrderedDict') {}
}

/** Runs when an allowed global is called by REDUCE or NEWOBJ. It must only build data. */
export type PickleConstructor = (args: readonly PickleValue[]) => PickleValue;

export interface AllowedGlobal {
  readonly module: string;
  readonly name: string;
  /** Absent for globals that are only markers (torch's storage types) and are never called. */
  readonly construct?: PickleConstructor;
}

/** A reference to an allowed global, as pushed by GLOBAL. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly construct: PickleConstructor | undefined,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * Base of the values that allowed constructors build (tensors, storage references). The
 * unpickler passes them through untouched; BUILD on one is refused unless it says otherwise.
 */
export abstract class PickleObject {
  abstract readonly typeName: string;
  /** Applies a BUILD state; objects that never receive one refuse it. */
  applyState(_state: PickleValue): void {
    throw new Error(`BUILD on a ${this.typeName} is not supported`);
  }
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleGlobal
  | PickleObject;

export interface UnpickleOptions {
  /** The only globals the pickle may name; any other GLOBAL is an error. */
  readonly allowedGlobals: readonly AllowedGlobal[];
  /** Resolves BINPERSID/PERSID ids (torch's storages); without it they are an error. */
  readonly persistentLoad?: (id: PickleValue) => PickleValue;
}

export interface UnpickleResult {
  readonly value: PickleValue;
  /** Offset just past the STOP opcode, where a following pickle would start. */
  readonly end: number;
}

// Bounds for hostile input. Real state dicts nest a few levels deep and memoize at most a
// few entries per tensor, so these are far above anything legitimate.
const MAX_MARK_DEPTH = 1000;
const MAX_STACK_SIZE = 1_000_000;
const MAX_MEMO_ENTRIES = 10_000_000;
/** Python ints in weights files are sizes and counters; a longer LONG is not one of those. */
const MAX_LONG_BYTES = 64;

/** Short type name of a value, for error messages (never its contents, which may be huge). */
export function describePickleValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'string') return 'str';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  if (value instanceof PickleTuple) return 'tuple';
  if (value instanceof PickleDict) return value.typeName;
  if (value instanceof PickleGlobal) return `global ${value.qualifiedName}`;
  if (value instanceof PickleObject) return value.typeName;
  return typeof value;
}

function isPickleKey(value: PickleValue): value is PickleKey {
  return value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/** Every opcode of pickle protocols 0-5, by name; only some are interpreted below. */
const OP = {
  MARK: 0x28,
  EMPTY_TUPLE: 0x29,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  FLOAT: 0x46,
  BINFLOAT: 0x47,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

const OPCODE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(OP).map(([name, byte]) => [byte, name]));

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Python's little-endian two's-complement LONG encoding as a bigint. */
function decodeLong(bytes: Uint8Array): bigint {
  let result = 0n;
  for (const b of [...bytes].reverse()) result = (result << 8n) | BigInt(b);
  const last = bytes.at(-1);
  if (last !== undefined && (last & 0x80) !== 0) result -= 1n << BigInt(8 * bytes.length);
  return result;
}

/** Ints that fit a double exactly stay numbers, so callers can use them as sizes directly. */
function normalizeInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Runs one pickle starting at `start` and returns the value STOP left, refusing any global not in
 * `options.allowedGlobals`. `label` names the file in errors.
 */
export function unpickle(bytes: Uint8Array, label: string, options: UnpickleOptions, start = 0): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;
  let opcodeOffset = start;
  let opcode = 0;

  const fail = (problem: string): never => {
    const name = opcode < 0 ? '' : ` (opcode ${OPCODE_NAMES.get(opcode) ?? 'unknown'})`;
    throw new Error(`${label}: malformed pickle at offset ${opcodeOffset}${name}: ${problem}`);
  };
  const take = (length: number): Uint8Array => {
    if (length < 0 || pos + length > bytes.length) {
      fail(`needs ${length} bytes but the data ends ${bytes.length - pos} bytes later (truncated file?)`);
    }
    const out = bytes.subarray(pos, pos + length);
    pos += length;
    return out;
  };
  const takeUint8 = (): number => {
    take(1);
    return view.getUint8(pos - 1);
  };
  const takeUint32 = (): number => {
    take(4);
    return view.getUint32(pos - 4, true);
  };
  const takeLength64 = (): number => {
    take(8);
    const length = view.getBigUint64(pos - 8, true);
    if (length > BigInt(bytes.length - pos)) fail(`declares ${length} bytes but only ${bytes.length - pos} remain`);
    return Number(length);
  };
  const takeLine = (): string => {
    const newline = bytes.indexOf(0x0a, pos);
    if (newline < 0) fail('a text argument has no terminating newline');
    const line = Buffer.from(bytes.subarray(pos, newline)).toString('latin1');
    pos = newline + 1;
    return line;
  };
  const decodeText = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const push = (value: PickleValue): void => {
    if (stack.length >= MAX_STACK_SIZE) fail(`the stack grew past ${MAX_STACK_SIZE} entries`);
    stack.push(value);
  };
  /** What the caller's persistentLoad makes of a persistent id (tensor storage in a .pth). */
  const persistent = (id: PickleValue): PickleValue => {
    const load = options.persistentLoad;
    if (!load) return fail('a persistent id appears, but this file cannot have external data');
    try {
      return load(id);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  // Not `??`: a pickled None is null, a value like any other.
  const pop = (): PickleValue => {
    const v = stack.pop();
    return v === undefined ? fail('pops an empty stack') : v;
  };
  const top = (): PickleValue => {
    const v = stack.at(-1);
    return v === undefined ? fail('needs a value but the stack is empty') : v;
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const previous = marks.pop();
    if (previous === undefined) fail('no MARK to pop to');
    stack = previous as PickleValue[];
    return items;
  };
  const memoPut = (index: number): void => {
    if (!memo.has(index) && memo.size >= MAX_MEMO_ENTRIES) fail(`the memo grew past ${MAX_MEMO_ENTRIES} entries`);
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    if (!memo.has(index)) fail(`memo entry ${index} was never stored`);
    push(memo.get(index) as PickleValue);
  };
  const resolveGlobal = (module: string, name: string): void => {
    const allowed = options.allowedGlobals.find((g) => g.module === module && g.name === name);
    if (!allowed) {
      const permitted = options.allowedGlobals.map((g) => `${g.module}.${g.name}`).join(', ');
      throw new Error(
        `${label}: the pickle refers to the global '${module}.${name}', which is not allowed in a weights file ` +
          `(only ${permitted || 'no globals'} may appear; the file may contain code rather than just weights)`,
      );
    }
    push(new PickleGlobal(module, name, allowed.construct));
  };
  const call = (callable: PickleValue, args: PickleValue): PickleValue => {
    if (!(callable instanceof PickleGlobal))
      return fail(`calls a ${describePickleValue(callable)}, which is not callable`);
    if (!(args instanceof PickleTuple))
      return fail(`calls ${callable.qualifiedName} with a ${describePickleValue(args)} instead of an argument tuple`);
    if (!callable.construct) return fail(`calls ${callable.qualifiedName}, which may only be referred to, not called`);
    try {
      return callable.construct(args.items);
    } catch (e) {
      return fail(`${callable.qualifiedName}: ${(e as Error).message}`);
    }
  };
  const setItems = (dict: PickleValue, items: readonly PickleValue[]): void => {
    if (!(dict instanceof PickleDict)) return fail(`sets items on a ${describePickleValue(dict)}, not a dict`);
    if (items.length % 2 !== 0) return fail(`has ${items.length} values for key/value pairs`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      const value = items[i + 1];
      if (key === undefined || value === undefined) return fail(`has no value for key ${i / 2}`);
      if (!isPickleKey(key)) return fail(`uses a ${describePickleValue(key)} as a dict key`);
      dict.entries.set(key, value);
    }
  };
  const appendItems = (list: PickleValue, items: readonly PickleValue[]): void => {
    if (!Array.isArray(list)) return fail(`appends to a ${describePickleValue(list)}, not a list`);
    if (list.length + items.length > MAX_STACK_SIZE) return fail(`a list grew past ${MAX_STACK_SIZE} items`);
    for (const item of items) list.push(item);
  };

  for (;;) {
    opcodeOffset = pos;
    if (pos >= bytes.length) {
      opcode = -1;
      fail('the data ends before the STOP opcode (truncated file?)');
    }
    opcode = takeUint8();
    switch (opcode) {
      case OP.PROTO: {
        const protocol = takeUint8();
        if (protocol > 5) fail(`protocol ${protocol} is newer than 5, the latest this reader knows`);
        break;
      }
      case OP.FRAME: // a size hint for buffered readers; the opcodes follow inline.
        take(8);
        break;
      case OP.STOP: {
        const value = pop();
        if (marks.length > 0) fail('a MARK is still open');
        return { value, end: pos };
      }
      case OP.MARK:
        if (marks.length >= MAX_MARK_DEPTH) fail(`MARKs nest deeper than ${MAX_MARK_DEPTH}`);
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT:
        take(4);
        push(view.getInt32(pos - 4, true));
        break;
      case OP.BININT1:
        push(takeUint8());
        break;
      case OP.BININT2:
        take(2);
        push(view.getUint16(pos - 2, true));
        break;
      case OP.LONG1: {
        const length = takeUint8();
        if (length > MAX_LONG_BYTES) fail(`an integer of ${length} bytes is longer than the ${MAX_LONG_BYTES} allowed`);
        push(normalizeInt(decodeLong(take(length))));
        break;
      }
      case OP.LONG4: {
        const length = takeUint32();
        if (length > MAX_LONG_BYTES) fail(`an integer of ${length} bytes is longer than the ${MAX_LONG_BYTES} allowed`);
        push(normalizeInt(decodeLong(take(length))));
        break;
      }
      case OP.INT: {
        // text form; protocol 0 writes True/False as "01"/"00"
        const text = takeLine();
        if (text === '01' || text === '00') push(text === '01');
        else if (/^[-+]?\d{1,30}$/.test(text)) push(normalizeInt(BigInt(text)));
        else fail(`'${text.slice(0, 40)}' is not an integer`);
        break;
      }
      case OP.LONG: {
        // text form, with an optional trailing L
        const text = takeLine().replace(/L$/, '');
        if (!/^[-+]?\d{1,30}$/.test(text)) fail(`'${text.slice(0, 40)}' is not an integer`);
        push(normalizeInt(BigInt(text)));
        break;
      }
      case OP.BINFLOAT:
        take(8);
        push(view.getFloat64(pos - 8, false));
        break; // big-endian
      case OP.BINUNICODE:
        push(decodeText(take(takeUint32())));
        break;
      case OP.SHORT_BINUNICODE:
        push(decodeText(take(takeUint8())));
        break;
      case OP.BINUNICODE8:
        push(decodeText(take(takeLength64())));
        break;
      // Python 2 byte strings: torch's legacy files written under Python 2 use them for keys.
      case OP.BINSTRING:
        push(decodeText(take(takeUint32())));
        break;
      case OP.SHORT_BINSTRING:
        push(decodeText(take(takeUint8())));
        break;
      case OP.BINBYTES:
        push(new Uint8Array(take(takeUint32())));
        break;
      case OP.SHORT_BINBYTES:
        push(new Uint8Array(take(takeUint8())));
        break;
      case OP.BINBYTES8:
        push(new Uint8Array(take(takeLength64())));
        break;
      case OP.EMPTY_TUPLE:
        push(new PickleTuple([]));
        break;
      case OP.TUPLE:
        push(new PickleTuple(popMark()));
        break;
      case OP.TUPLE1: {
        const a = pop();
        push(new PickleTuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop();
        const a = pop();
        push(new PickleTuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PickleTuple([a, b, c]));
        break;
      }
      case OP.EMPTY_LIST:
        push([]);
        break;
      case OP.LIST:
        push(popMark());
        break;
      case OP.APPEND: {
        const item = pop();
        appendItems(top(), [item]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case OP.EMPTY_DICT:
        push(new PickleDict('dict'));
        break;
      case OP.DICT: {
        const dict = new PickleDict('dict');
        setItems(dict, popMark());
        push(dict);
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.BINPUT:
        memoPut(takeUint8());
        break;
      case OP.LONG_BINPUT:
        memoPut(takeUint32());
        break;
      case OP.MEMOIZE:
        memoPut(memo.size);
        break;
      case OP.BINGET:
        memoGet(takeUint8());
        break;
      case OP.LONG_BINGET:
        memoGet(takeUint32());
        break;
      case OP.PUT: {
        // text form
        const text = takeLine();
        if (!/^\d{1,10}$/.test(text)) fail(`'${text.slice(0, 40)}' is not a memo index`);
        memoPut(Number(text));
        break;
      }
      case OP.GET: {
        // text form
        const text = takeLine();
        if (!/^\d{1,10}$/.test(text)) fail(`'${text.slice(0, 40)}' is not a memo index`);
        memoGet(Number(text));
        break;
      }
      case OP.GLOBAL: {
        const module = takeLine();
        const name = takeLine();
        resolveGlobal(module, name);
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('module and name are not strings');
        resolveGlobal(module as string, name as string);
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        push(call(callable, args));
        break;
      }
      case OP.NEWOBJ: {
        // cls.__new__(cls, *args); our constructors do both steps at once.
        const args = pop();
        const cls = pop();
        push(call(cls, args));
        break;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PickleDict) || kwargs.entries.size > 0) fail('keyword arguments are not supported');
        push(call(cls, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const target = top();
        if (target instanceof PickleDict) {
          target.attributes = state;
        } else if (target instanceof PickleObject) {
          try {
            target.applyState(state);
          } catch (e) {
            fail((e as Error).message);
          }
        } else {
          fail(`sets the state of a ${describePickleValue(target)}`);
        }
        break;
      }
      case OP.BINPERSID:
        push(persistent(pop()));
        break;
      case OP.PERSID: // text form
        push(persistent(takeLine()));
        break;
      default: {
        const name = OPCODE_NAMES.get(opcode);
        throw new Error(
          `${label}: the pickle uses opcode 0x${opcode.toString(16).padStart(2, '0')}` +
            `${name ? ` (${name})` : ''} at offset ${opcodeOffset}, which a weights file does not need; ` +
            'expected only the opcodes torch.save writes',
        );
      }
    }
  }
}
