// Checked reads. With noUncheckedIndexedAccess every `a[i]` may be undefined. Per-sample
// loops read typed arrays inline and throw `outside(...)` on undefined: V8 folds that check
// away, where a shared accessor function was inlined or not from run to run (the quantise
// loop ran level with an unchecked read, or 1.6 times slower). Everything else reads
// with `item`.

/** The error for a read outside an array, which is a bug in the caller. */
export function outside(where: string, index: number): RangeError {
  return new RangeError(`${where}: index ${index} is outside the array`);
}

/** An element of a plain array, or a RangeError naming the index. */
export function item<T>(a: readonly T[], i: number): T {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} is outside 0..${a.length - 1}`);
  return v;
}
