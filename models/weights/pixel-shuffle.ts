// The scale and output channels a pixel-shuffle head implies: a conv with x output channels
// followed by PixelShuffle(scale) gives x / scale² channels. Both are unknown, so as
// spandrel's get_scale_and_output_channels does, the candidates are tried in order: the
// input's channel count, then RGB, RGBA and grey.
import type { StateDict } from './state-dict';
import { WeightError } from './tensors';
import { dimOf } from './shapes';

export interface ShuffleHead {
  readonly scale: number;
  readonly outputChannels: number;
}

/** Scale and output channels for a conv of `convOutput` channels before the shuffle, or null. */
export function scaleAndOutputChannels(convOutput: number, inputChannels: number): ShuffleHead | null {
  for (const channels of [inputChannels, 3, 4, 1]) {
    if (convOutput % channels !== 0) continue;
    const scale = Math.round(Math.sqrt(convOutput / channels));
    if (scale * scale * channels === convOutput) return { scale, outputChannels: channels };
  }
  return null;
}

/** The head read from the conv weight `key` ([out, in, kh, kw]); an error naming it when no scale fits. */
export function shuffleHeadOf(sd: StateDict, key: string, inputChannels: number): ShuffleHead {
  const out = dimOf(sd, key, 4, 0, 'the conv before a pixel shuffle');
  const head = scaleAndOutputChannels(out, inputChannels);
  if (!head) {
    throw new WeightError(
      key,
      `tensor '${key}' has ${out} output channels, expected scale² × channels (channels ${inputChannels}, 3, 4 or 1)`,
    );
  }
  return head;
}
