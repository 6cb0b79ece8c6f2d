// Checked reads. With noUncheckedIndexedAccess every `a[i]` may be undefined; these read
// it and throw when the index is outside the array, which is a bug in the caller.
//
// One function per typed-array kind, not one generic one: V8 inlines a read only while the
// arrays it has seen share a few shapes, and a shared accessor fed every kind was 4 to 5
// times slower in the quantise loop, where these measured level with an unchecked read.

function outside(length: number, i: number): RangeError {
  return new RangeError(`index ${i} is outside 0..${length - 1}`);
}

export function f32(a: Float32Array, i: number): number {
  const v = a[i];
  if (v === undefined) throw outside(a.length, i);
  return v;
}

export function i32(a: Int32Array, i: number): number {
  const v = a[i];
  if (v === undefined) throw outside(a.length, i);
  return v;
}

/** A Uint8Array (Buffers included) or Uint16Array sample. */
export function sample(a: Uint8Array | Uint16Array, i: number): number {
  const v = a[i];
  if (v === undefined) throw outside(a.length, i);
  return v;
}

/** An element of a plain array (not for hot loops: every caller's element shape meets here). */
export function item<T>(a: readonly T[], i: number): T {
  const v = a[i];
  if (v === undefined) throw outside(a.length, i);
  return v;
}
