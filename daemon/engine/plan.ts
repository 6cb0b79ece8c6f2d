// The pass plan: how many model passes reach a target, and the final resize. Pure.

export interface Size {
  readonly width: number;
  readonly height: number;
}

export type Fit = 'cover' | 'contain' | 'fill';

export type Target =
  | { readonly kind: 'scale'; readonly scale: number }
  | { readonly kind: 'size'; readonly width?: number; readonly height?: number; readonly fit?: Fit };

export const MAX_PASSES = 3;

export interface PassPlan {
  /** Size after each model pass. */
  readonly passSizes: readonly Size[];
  /** The exact output size. */
  readonly final: Size;
  /** How the last pass's output is fitted to `final` (only matters when both sides were given). */
  readonly fit: Fit;
  /** Whether a Lanczos resize follows the passes. */
  readonly resize: boolean;
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

  const last = passSizes[passSizes.length - 1] as Size;
  return { passSizes, final, fit, resize: last.width !== final.width || last.height !== final.height };
}
