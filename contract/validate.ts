// Parameter validation at the protocol boundary: every field is checked for type and
// range, and every rejection names the field, the value received and what was expected.
import { DaemonError } from './errors';

type Params = Record<string, unknown>;

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

function invalid(method: string, field: string, value: unknown, expected: string): never {
  throw new DaemonError('InvalidParams', `${method}: '${field}' is ${show(value)}; expected ${expected}`);
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

export function requiredString(method: string, params: Params, field: string, maxLength = 4096): string {
  const v = params[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    invalid(method, field, v, `a non-empty string of at most ${maxLength} characters`);
  }
  return v;
}

export function optionalString(method: string, params: Params, field: string, maxLength = 4096): string | undefined {
  return params[field] === undefined ? undefined : requiredString(method, params, field, maxLength);
}

export function optionalNumber(
  method: string,
  params: Params,
  field: string,
  range: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean },
): number | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (range.exclusiveMin ? v > range.min : v >= range.min) &&
    v <= range.max &&
    (!range.integer || Number.isInteger(v));
  if (!ok) {
    const kind = range.integer ? 'an integer' : 'a number';
    const low = range.exclusiveMin ? `greater than ${range.min}` : `from ${range.min}`;
    invalid(method, field, v, `${kind} ${low} up to ${range.max}`);
  }
  return v;
}

export function optionalBoolean(method: string, params: Params, field: string): boolean | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') invalid(method, field, v, 'true or false');
  return v;
}

export function optionalEnum<T extends string>(
  method: string,
  params: Params,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const v = params[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    invalid(method, field, v, `one of ${allowed.join(', ')}`);
  return v as T;
}

export function requestId(method: string, params: Params, field: string): number | string {
  const v = params[field];
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v.length > 0 && v.length <= 256) return v;
  return invalid(method, field, v, 'a request id (integer or non-empty string)');
}
