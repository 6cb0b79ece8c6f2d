// Numbered children in a state dict (`layers.0.*`, `layers.1.*`, ...): how many there are,
// and which indices are present, as spandrel's get_seq_len reads nn.Sequential and
// nn.ModuleList from key names.
import type { StateDict } from './state-dict';
import { WeightError } from './tensors';

/** The indices N for which some key starts with `${prefix}.N.`, ascending. */
export function numberedIndices(sd: StateDict, prefix: string): number[] {
  const start = `${prefix}.`;
  const seen = new Set<number>();
  for (const key of sd.keys()) {
    if (!key.startsWith(start)) continue;
    const m = /^(\d+)\./.exec(key.slice(start.length));
    if (m) seen.add(Number(m[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * How many children `${prefix}.0`, `${prefix}.1`, ... have tensors. They must be numbered
 * without gaps: child 2 without child 1 means incomplete weights.
 */
export function countNumbered(sd: StateDict, prefix: string): number {
  const indices = numberedIndices(sd, prefix);
  indices.forEach((index, position) => {
    if (index !== position) {
      throw new WeightError(
        `${prefix}.${position}`,
        `the weights have '${prefix}.${index}.*' but no '${prefix}.${position}.*' (children must be numbered from 0 without gaps)`,
      );
    }
  });
  return indices.length;
}
