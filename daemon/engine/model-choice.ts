// Which model runs when the request names none. Pure.
//
// The rule (README, "Which model"): the default model runs unless the target is a plain
// scale factor that the default does not have natively and an installed model has exactly
// that scale. Then, among the models of exactly that scale, prefer
//   1. the default's own family (e.g. 'real-esrgan'),
//   2. then its lineage: families sharing the architecture line; 'real-esrgan' and 'esrgan'
//      are both ESRGAN (Real-ESRGAN is ESRGAN retrained on synthetic degradations),
//   3. then any other family,
// and within a tier the model whose ONNX size is nearest the default's (the default was
// picked for its speed, so a model of similar cost keeps the job's cost predictable), then
// built-in before user models, then by id. A native 2x is better than 4x-then-Lanczos-down:
// it is one pass at a quarter of the output pixels, and no resampling blur.

import { item } from '../image/checked';

export interface CandidateModel {
  readonly id: string;
  readonly family: string;
  readonly scale: number;
  readonly sizeBytes: number;
  readonly source: 'builtin' | 'user';
}

export interface ModelChoice {
  readonly id: string;
  readonly reason: string;
}

/** The architecture line a family belongs to: 'real-esrgan' and 'esrgan' are both 'esrgan'. */
export function lineage(family: string): string {
  const f = family.toLowerCase();
  if (f === 'real-esrgan' || f === 'realesrgan' || f === 'esrgan') return 'esrgan';
  return f;
}

export function chooseModel(
  models: readonly CandidateModel[],
  requested: string | undefined,
  defaultId: string,
  targetScale: number | undefined,
): ModelChoice {
  if (requested !== undefined) return { id: requested, reason: 'named in the request' };
  const def = models.find((m) => m.id === defaultId);
  if (!def) return { id: defaultId, reason: 'the default model' };
  if (targetScale === undefined || targetScale === def.scale) return { id: defaultId, reason: 'the default model' };
  const exact = models.filter((m) => m.scale === targetScale);
  if (exact.length === 0)
    return { id: defaultId, reason: `the default model (no installed model is natively x${targetScale})` };
  const tier = (m: CandidateModel) => (m.family === def.family ? 0 : lineage(m.family) === lineage(def.family) ? 1 : 2);
  const ranked = [...exact].sort(
    (a, b) =>
      tier(a) - tier(b) ||
      Math.abs(a.sizeBytes - def.sizeBytes) - Math.abs(b.sizeBytes - def.sizeBytes) ||
      (a.source === b.source ? 0 : a.source === 'builtin' ? -1 : 1) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const best = item(ranked, 0);
  const why = ['the default family', `the ${lineage(def.family).toUpperCase()} line`, 'another family'][tier(best)];
  return {
    id: best.id,
    reason: `native x${targetScale} model of ${why} (${best.family}), preferred over ${defaultId} (x${def.scale}) for an x${targetScale} target`,
  };
}
