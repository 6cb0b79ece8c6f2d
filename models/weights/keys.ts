// Key conditions: how an architecture recognises its weights by the names of their
// tensors, in the style of spandrel's KeyCondition.has_all / has_any. Conditions only say
// "these are (probably) mine"; reading the configuration then checks every tensor.

/** A key that must be present, or a nested condition. */
export type KeyTerm = string | KeyCondition;

export type KeyCondition =
  | { readonly kind: 'all'; readonly terms: readonly KeyTerm[] }
  | { readonly kind: 'any'; readonly terms: readonly KeyTerm[] };

/** Every term holds. */
export function hasAll(...terms: KeyTerm[]): KeyCondition {
  return { kind: 'all', terms };
}

/** At least one term holds. */
export function hasAny(...terms: KeyTerm[]): KeyCondition {
  return { kind: 'any', terms };
}

/** Whether the keys of a state dict (anything with `has`) satisfy `condition`. */
export function satisfies(keys: { has(key: string): boolean }, condition: KeyCondition): boolean {
  const holds = (term: KeyTerm): boolean => (typeof term === 'string' ? keys.has(term) : satisfies(keys, term));
  return condition.kind === 'all' ? condition.terms.every(holds) : condition.terms.some(holds);
}

const SIGNATURE_KEYS = 2;

/**
 * A short description of what the condition looks for, for error messages: the first keys
 * of each alternative, e.g. "conv_first.weight + body.0.rdb1.conv1.weight or model.0.weight + …".
 */
export function describeKeys(condition: KeyCondition): string {
  const alternatives = condition.kind === 'any' ? condition.terms : [condition];
  return alternatives
    .map((alternative) => {
      if (typeof alternative === 'string') return alternative;
      const keys = alternative.terms.flatMap((t) => (typeof t === 'string' ? [t] : []));
      const shown = keys.slice(0, SIGNATURE_KEYS).join(' + ');
      return keys.length > SIGNATURE_KEYS ? `${shown} + …` : shown;
    })
    .join(' or ');
}
