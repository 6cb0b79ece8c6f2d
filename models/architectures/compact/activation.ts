// Which activation a SRVGGNetCompact runs, and who decided it. PReLU keeps a slope per
// channel in the weights; ReLU and LeakyReLU keep nothing, so their weights look alike and
// the user must say which, or ReLU is assumed (what other loaders assume too). A LeakyReLU
// model read as ReLU runs, but its output is off by a relative L2 of 3e-2 to 8e-2, so the
// assumption is recorded and announced rather than made silently. Pure.
import * as path from 'node:path';
import type { Activation, ActivationSource } from '../../../contract/vocabulary';
import type { ActivationChoice } from '../types';

const WHY = 'SRVGGNetCompact';

/**
 * The activation to build: the weights' PReLU when they hold slopes, else the requested one,
 * else ReLU, assumed. Throws when the request contradicts the weights.
 */
export function resolveActivation(hasSlopes: boolean, requested: Activation | undefined): ActivationChoice {
  if (hasSlopes) {
    if (requested === undefined || requested === 'prelu') return { activation: 'prelu', source: 'weights' };
    throw new Error(
      `${WHY}: activation '${requested}' was asked for, but the weights hold PReLU slopes (body.1.weight, body.3.weight, ...), ` +
        'so the model was trained with PReLU; leave the activation out',
    );
  }
  if (requested === 'prelu') {
    throw new Error(
      `${WHY}: activation 'prelu' was asked for, but the weights hold no PReLU slopes (PReLU keeps them in body.1.weight, ` +
        'body.3.weight, ...); the model was trained with ReLU or LeakyReLU: choose relu or leakyrelu',
    );
  }
  return requested === undefined
    ? { activation: 'relu', source: 'assumed' }
    : { activation: requested, source: 'user' };
}

/** How each way in takes the choice again: the warning reaches the CLI and VS Code alike. */
const REDO = {
  import:
    'import it again choosing LeakyReLU (upscale models import FILE --activation leakyrelu; in VS Code, Import Model… asks)',
  convert: 'convert it again with --activation leakyrelu',
} as const;

/** What to tell the user about `file`'s activation: nothing unless it was assumed. */
export function activationWarnings(
  file: string,
  source: ActivationSource | undefined,
  redo: keyof typeof REDO,
): string[] {
  if (source !== 'assumed') return [];
  return [
    `${path.basename(file)}: ${WHY} weights do not say which activation was trained; assuming ReLU. ` +
      `If the model was trained with LeakyReLU or the output looks wrong, ${REDO[redo]}.`,
  ];
}
