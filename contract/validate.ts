// Parameter validation at the protocol boundary, from field tables: each field's kind
// (string, path, number, choice, boolean) and range are written once, and every rejection
// names the field, the value received and what was expected.
import * as path from 'node:path';
import { DaemonError } from './errors';

type Params = Record<string, unknown>;

/** Longest path a field may hold. */
const MAX_PATH = 4096;

/** What a field holds. */
export type Kind =
  | { readonly type: 'string'; readonly maxLength: number }
  /** An absolute path, normalised. */
  | { readonly type: 'path' }
  | {
      readonly type: 'number';
      readonly min: number;
      readonly max: number;
      readonly integer?: boolean;
      readonly exclusiveMin?: boolean;
    }
  | { readonly type: 'choice'; readonly choices: readonly string[] }
  | { readonly type: 'boolean' };

export interface FieldSpec {
  readonly kind: Kind;
  /** One line: what the field is for. */
  readonly doc: string;
  readonly required?: boolean;
  /** A rule beyond the kind: what the value must be instead, as the words after "expected", or null when it is fine. */
  readonly check?: (value: unknown) => string | null;
}

/** The value type of a kind. */
export type ValueOf<K extends Kind> = K extends { readonly type: 'number' }
  ? number
  : K extends { readonly type: 'boolean' }
    ? boolean
    : K extends { readonly type: 'choice'; readonly choices: readonly (infer C)[] }
      ? C
      : string;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The parameters a field table describes: required fields present, the others optional. */
export type FieldValues<T extends Readonly<Record<string, FieldSpec>>> = Simplify<
  { readonly [K in keyof T as T[K] extends { readonly required: true } ? K : never]: ValueOf<T[K]['kind']> } & {
    readonly [K in keyof T as T[K] extends { readonly required: true } ? never : K]?: ValueOf<T[K]['kind']>;
  }
>;

/** What a value of this kind must be, as the words after "expected". */
export function expected(kind: Kind): string {
  switch (kind.type) {
    case 'string':
      return `a non-empty string of at most ${kind.maxLength} characters`;
    case 'path':
      return 'an absolute path';
    case 'number': {
      const what = kind.integer ? 'an integer' : 'a number';
      const low = kind.exclusiveMin ? `greater than ${kind.min}` : `from ${kind.min}`;
      return `${what} ${low} up to ${kind.max}`;
    }
    case 'choice':
      return `one of ${kind.choices.join(', ')}`;
    case 'boolean':
      return 'true or false';
  }
}

/** Whether a number is within a number kind's range. */
export function inRange(kind: Extract<Kind, { type: 'number' }>, v: number): boolean {
  return (
    Number.isFinite(v) &&
    (kind.exclusiveMin ? v > kind.min : v >= kind.min) &&
    v <= kind.max &&
    (!kind.integer || Number.isInteger(v))
  );
}

function show(value: unknown): string {
  let text: string;
  try {
    // A long string is cut before it is quoted: a hostile 10 MB field costs no 10 MB copy.
    text = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : String(JSON.stringify(value) ?? value);
  } catch {
    // Nested too deeply for JSON.stringify (a hostile message): describe, do not echo.
    text = Array.isArray(value) ? 'a deeply nested array' : 'a deeply nested object';
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function invalid(method: string, field: string, value: unknown, expectation: string): never {
  throw new DaemonError('InvalidParams', `${method}: '${field}' is ${show(value)}; expected ${expectation}`);
}

/** The params object, or an error when it is not one. Missing params mean {}. */
export function paramsObject(method: string, params: unknown): Params {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new DaemonError(
      'InvalidParams',
      `${method}: params must be an object with named fields, got ${show(params)}`,
    );
  }
  return params as Params;
}

/** Rejects fields the method does not know, so a typo is not silently ignored. */
export function onlyKnown(method: string, params: Params, known: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      throw new DaemonError(
        'InvalidParams',
        `${method}: unknown field '${key.slice(0, 60)}'; expected one of ${known.join(', ')}`,
      );
    }
  }
}

/** One field's value, checked against its kind and rule; undefined when absent and optional. */
function readField(method: string, params: Params, field: string, spec: FieldSpec): unknown {
  const v = params[field];
  if (v === undefined && !spec.required) return undefined;
  const kind = spec.kind;
  let value: unknown;
  switch (kind.type) {
    case 'string':
      if (typeof v !== 'string' || v.length === 0 || v.length > kind.maxLength)
        invalid(method, field, v, expected(kind));
      value = v;
      break;
    case 'path':
      if (typeof v !== 'string' || v.length === 0 || v.length > MAX_PATH)
        invalid(method, field, v, expected({ type: 'string', maxLength: MAX_PATH }));
      if (!path.isAbsolute(v))
        throw new DaemonError(
          'InvalidParams',
          `${method}: '${field}' is "${v.slice(0, 80)}"; expected an absolute path`,
        );
      if (v.includes('\0')) throw new DaemonError('InvalidParams', `${method}: '${field}' contains a NUL character`);
      value = path.normalize(v);
      break;
    case 'number':
      if (typeof v !== 'number' || !inRange(kind, v)) invalid(method, field, v, expected(kind));
      value = v;
      break;
    case 'choice':
      if (typeof v !== 'string' || !kind.choices.includes(v)) invalid(method, field, v, expected(kind));
      value = v;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') invalid(method, field, v, expected(kind));
      value = v;
      break;
  }
  const problem = spec.check?.(value);
  if (problem) invalid(method, field, value, problem);
  return value;
}

/**
 * A method's parameters checked against its field table: unknown fields refused, each field
 * of its kind, in its range and passing its rule. Absent optional fields stay absent.
 */
export function parseFields<T extends Readonly<Record<string, FieldSpec>>>(
  method: string,
  raw: unknown,
  table: T,
): FieldValues<T> {
  const params = paramsObject(method, raw);
  onlyKnown(method, params, Object.keys(table));
  const out: Params = {};
  for (const [field, spec] of Object.entries(table)) {
    const value = readField(method, params, field, spec);
    if (value !== undefined) out[field] = value;
  }
  // Every field was read by the kind that FieldValues<T> derives its type from.
  return out as FieldValues<T>;
}

/** The object without its undefined entries: optional fields absent rather than present and undefined. */
export function present<T extends object>(fields: T): T {
  // The same object type with some optional entries left out.
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

export function requestId(method: string, params: Params, field: string): number | string {
  const v = params[field];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v.length > 0 && v.length <= 256) return v;
  return invalid(method, field, v, 'a request id (integer or non-empty string)');
}
