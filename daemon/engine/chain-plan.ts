// The model passes of a combination of models, in the order they run. Pure.
//
// A chain runs its models one after another: each runs once, at the size the one before it
// left, except the main model (the last that upscales), whose passes reach the target as
// one model's would (plan.ts). A blend runs its own passes to the same target from what
// the main model starts from; its result is resized to the content and mixed in at the end.
import type { Target } from '../../contract/vocabulary';
import { containRect, planPasses, targetSize, type PassPlan, type Size } from './plan';

/** Which result a pass feeds: the output, or the blend mixed into it. */
export type Branch = 'main' | 'blend';

export interface Stage<M> {
  readonly model: M;
  readonly branch: Branch;
  readonly input: Size;
  readonly output: Size;
}

export interface Combination<M> {
  /** Run once each, in order, before the main model. */
  readonly before: readonly M[];
  /** Runs the passes that reach the target. */
  readonly main: M;
  /** Run once each, in order, after the main model's passes. */
  readonly after: readonly M[];
  /** Run to the same target from the main model's input, then mixed into the result. */
  readonly blend: M | null;
}

function grown(size: Size, scale: number): Size {
  return {
    width: Math.max(1, Math.round(size.width * scale)),
    height: Math.max(1, Math.round(size.height * scale)),
  };
}

/** A target as the size it asks of `input`, to be reached from another size (a chain's intermediate). */
function absolute(input: Size, target: Target): Target {
  const { width, height } = targetSize(input, target);
  return { kind: 'size', width, height, fit: target.kind === 'size' ? (target.fit ?? 'cover') : 'fill' };
}

/**
 * The passes in the order they run (the chain's models before the main one, the blend's
 * passes, the main model's, the chain's after it) and the geometry of the output: its
 * `passSizes` are the sizes of the output's own branch.
 */
export function planStages<M extends { readonly scale: number }>(
  input: Size,
  target: Target,
  models: Combination<M>,
): { readonly geometry: PassPlan; readonly stages: readonly Stage<M>[] } {
  const stages: Stage<M>[] = [];
  let size: Size = input;
  const run = (model: M, branch: Branch, output: Size) => {
    stages.push({ model, branch, input: size, output });
    size = output;
  };
  for (const model of models.before) run(model, 'main', grown(size, model.scale));
  const start = size;
  const sameSize = start.width === input.width && start.height === input.height;
  const mainTarget = sameSize ? target : absolute(input, target);
  const main = planPasses(start, models.main.scale, mainTarget);
  if (models.blend) {
    for (const output of planPasses(start, models.blend.scale, mainTarget).passSizes)
      run(models.blend, 'blend', output);
    size = start;
  }
  for (const output of main.passSizes) run(models.main, 'main', output);
  for (const model of models.after) run(model, 'main', grown(size, model.scale));
  const { final, fit } = main;
  const content =
    fit === 'contain' ? containRect(input, final) : { x: 0, y: 0, width: final.width, height: final.height };
  return {
    stages,
    geometry: {
      passSizes: stages.filter((s) => s.branch === 'main').map((s) => s.output),
      final,
      fit,
      content,
      resize: size.width !== content.width || size.height !== content.height,
    },
  };
}
