// What the user typed into "Upscale Image With…" as the target: a scale factor ("4", "4x",
// "×2.5") or an exact size ("1920x1080", "1920x" for the width alone, "x1080" for the
// height alone). Pure, so every accepted and refused spelling is unit-tested.
import type { Target } from '../contract/vocabulary';
import { MAX_SIDE } from '../contract/limits';
import { present } from '../contract/validate';
import { MAX_SCALE } from './config';

export type TargetParse =
  { readonly ok: true; readonly target: Target } | { readonly ok: false; readonly problem: string };

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const PLAIN = new RegExp(`^${NUMBER}$`);
const TRAILING_X = new RegExp(`^${NUMBER}[x×]$`, 'i');
const LEADING_X = new RegExp(`^[x×]${NUMBER}$`, 'i');
const BOTH = /^(\d+)[x×*](\d+)$/i;

function scaleTarget(text: string): TargetParse {
  const value = Number(text);
  if (!(value > 0) || value > MAX_SCALE)
    return { ok: false, problem: `A scale must be more than 0 and at most ${MAX_SCALE}; ${text} is not.` };
  return { ok: true, target: { kind: 'scale', scale: value } };
}

function sizeTarget(width: string | undefined, height: string | undefined): TargetParse {
  for (const [what, text] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SIDE)
      return {
        ok: false,
        problem: `The ${what} must be a whole number of pixels from 1 to ${MAX_SIDE}; ${text} is not.`,
      };
  }
  return {
    ok: true,
    target: {
      kind: 'size',
      ...present({
        width: width === undefined ? undefined : Number(width),
        height: height === undefined ? undefined : Number(height),
      }),
    },
  };
}

/** The number a one-group pattern captured. */
function captured(m: RegExpExecArray): string {
  const text = m[1];
  if (text === undefined) throw new Error(`"${m[0]}": the pattern captured no number`);
  return text;
}

/**
 * "4", "4x", "x4" and "2.5x" are scales. A number with an x that is too large to be a
 * scale is a side: "1920x" is a width and "x1080" a height, as in ImageMagick geometry.
 */
export function parseTarget(input: string): TargetParse {
  const text = input.trim().replace(/\s+/g, '');
  if (text === '')
    return { ok: false, problem: 'Type a scale such as 4 or 2.5x, or a size such as 1920x1080, 1920x or x1080.' };
  let m: RegExpExecArray | null;
  if ((m = PLAIN.exec(text))) return scaleTarget(captured(m));
  if ((m = BOTH.exec(text))) return sizeTarget(m[1], m[2]);
  if ((m = TRAILING_X.exec(text))) {
    const n = Number(m[1]);
    return n > MAX_SCALE && Number.isInteger(n) ? sizeTarget(m[1], undefined) : scaleTarget(captured(m));
  }
  if ((m = LEADING_X.exec(text))) {
    const n = Number(m[1]);
    return n > MAX_SCALE && Number.isInteger(n) ? sizeTarget(undefined, m[1]) : scaleTarget(captured(m));
  }
  return { ok: false, problem: `"${input.trim()}" is neither a scale (4, 2.5x) nor a size (1920x1080, 1920x, x1080).` };
}

export function describeTarget(target: Target): string {
  if (target.kind === 'scale') return `${target.scale}x`;
  if (target.width !== undefined && target.height !== undefined) return `${target.width}×${target.height}`;
  return target.width !== undefined ? `${target.width} px wide` : `${target.height ?? 0} px high`;
}
