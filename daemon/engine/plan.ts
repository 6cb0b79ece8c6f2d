// The pass plan: how many model passes reach a target, and the final resize. Pure.
import type { Fit, Target } from '../../contract/vocabulary';

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const MAX_PASSES = 3;

export interface PassPlan {
  /** Size after each model pass. */
  readonly passSizes: readonly Size[];
  /** The exact output size. */
  readonly final: Size;
  /** How the last pass's output is fitted to `final` (only matters when both sides were given). */
  readonly fit: Fit;
  /** Whether a Lanczos resize follows the passes (to `content`'s size). */
  readonly resize: boolean;
  /**
   * Where the picture sits in the output: all of it, except with fit 'contain', where it is
   * the largest rectangle of the input's aspect inside `final`, centred; the rest is padding.
   */
  readonly content: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/** The centred rectangle of the input's aspect that fits inside `final` (fit 'contain'). */
export function containRect(input: Size, final: Size): { x: number; y: number; width: number; height: number } {
  const f = Math.min(final.width / input.width, final.height / input.height);
  const width = Math.min(final.width, Math.max(1, Math.round(input.width * f)));
  const height = Math.min(final.height, Math.max(1, Math.round(input.height * f)));
  return { x: Math.floor((final.width - width) / 2), y: Math.floor((final.height - height) / 2), width, height };
}

/** The output size a target asks for, given the input size. */
export function targetSize(input: Size, target: Target): Size {
  if (target.kind === 'scale') {
    return {
      width: Math.max(1, Math.round(input.width * target.scale)),
      height: Math.max(1, Math.round(input.height * target.scale)),
    };
  }
  const { width, height } = target;
  if (width !== undefined && height !== undefined) return { width, height };
  if (width !== undefined) return { width, height: Math.max(1, Math.round((input.height * width) / input.width)) };
  if (height !== undefined) return { width: Math.max(1, Math.round((input.width * height) / input.height)), height };
  throw new RangeError('a size target needs a width, a height or both');
}

/**
 * Passes repeat while the image is smaller than the target (at most MAX_PASSES, and
 * never again once a pass stops growing it), then Lanczos takes it to the exact size.
 * There is always at least one pass: a target below the model's scale is one pass,
 * then Lanczos down.
 */
export function planPasses(input: Size, modelScale: number, target: Target): PassPlan {
  if (!(modelScale > 0)) throw new RangeError(`model scale must be positive, got ${modelScale}`);
  const final = targetSize(input, target);
  const fit: Fit = target.kind === 'size' ? (target.fit ?? 'cover') : 'fill';
  // The factor the content must reach: cover fills both sides, contain fits inside.
  const rx = final.width / input.width;
  const ry = final.height / input.height;
  const needed = fit === 'contain' ? Math.min(rx, ry) : Math.max(rx, ry);

  const passSizes: Size[] = [];
  let current = input;
  let reached = 1;
  do {
    const next = { width: Math.round(current.width * modelScale), height: Math.round(current.height * modelScale) };
    const grew = next.width > current.width || next.height > current.height;
    passSizes.push(next);
    current = next;
    reached *= modelScale;
    if (!grew) break;
  } while (reached < needed - 1e-9 && passSizes.length < MAX_PASSES);

  // `current` is the last pass's size.
  const content =
    fit === 'contain' ? containRect(input, final) : { x: 0, y: 0, width: final.width, height: final.height };
  return {
    passSizes,
    final,
    fit,
    content,
    resize: current.width !== content.width || current.height !== content.height,
  };
}
