// The middle of a few noisy runs: less swayed than the mean by one run that landed in a
// busy moment on a shared machine.

/** The item whose `value` is the median (the lower middle for an even count). */
export function medianBy<T>(items: readonly T[], value: (item: T) => number): T {
  if (items.length === 0) throw new RangeError('the median of no runs');
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

export function median(values: readonly number[]): number {
  return medianBy(values, (v) => v);
}
