// Reading SeemoRe's hyper-parameters (spandrel's SeemoRe/__init__.py and
// SeemoRe/__arch/seemore_arch.py). The experts' widths grow by one of three rules, read
// from the first experts as spandrel's loader reads them; use_shuffle and recursive are not
// in the weights, and spandrel takes them from the released sizes: the Large model (16
// layers of 48 channels) has neither, every other configuration both.
import type { StateDict } from '../../weights/state-dict';
import { CheckedTensors } from '../../weights/checked';
import { dimOf } from '../../weights/shapes';
import { countNumbered } from '../../weights/sequences';
import { WeightError } from '../../weights/tensors';

export type LrSpace = 'linear' | 'double' | 'exp';

export interface SeemoReConfig {
  readonly embedDim: number;
  readonly numLayers: number;
  /** Each expert's low-rank width, by the growth rule. */
  readonly expertWidths: readonly number[];
  readonly lrSpace: LrSpace;
  readonly globalKernel: number;
  readonly scale: number;
  /** Whether the MoE block's first projection is channel-shuffled before it is split. */
  readonly useShuffle: boolean;
  /** How many times the calibration's 4 × 4 strided aggregation is applied. */
  readonly recursive: number;
}

/** The class subtracts an RGB mean, so the image has three channels. */
export const IMAGE_CHANNELS = 3;

const GROWTH: Readonly<Record<LrSpace, (i: number) => number>> = {
  linear: (i) => i + 2,
  double: (i) => 2 * i + 2,
  exp: (i) => 2 ** (i + 1),
};

const EXPERTS = 'body.0.local_block.block.moe_layer.experts';

/** spandrel's _get_lr_space: the third expert's width decides, else the second's. */
function readLrSpace(sd: StateDict): LrSpace {
  const width = (i: number): number | undefined =>
    sd.has(`${EXPERTS}.${i}.conv_1.weight`) ? dimOf(sd, `${EXPERTS}.${i}.conv_1.weight`, 4, 0, 'an expert') : undefined;
  const third = width(2);
  const second = width(1);
  const known: Readonly<Record<number, LrSpace>> =
    third !== undefined ? { 4: 'linear', 6: 'double', 8: 'exp' } : { 3: 'linear', 4: 'double' };
  const seen = third ?? second;
  if (seen === undefined) return 'linear';
  const space = known[seen];
  if (space === undefined) {
    const i = third !== undefined ? 2 : 1;
    throw new WeightError(
      `${EXPERTS}.${i}.conv_1.weight`,
      `expert ${i} has width ${seen}, which none of the linear, double and exp growth rules gives`,
    );
  }
  return space;
}

function checkStripedConv(check: CheckedTensors, prefix: string, channels: number, kernel: number): void {
  check.conv(`${prefix}.conv.0`, { out: channels, in: 1, kernel: [1, kernel] });
  check.conv(`${prefix}.conv.1`, { out: channels, in: 1, kernel: [kernel, 1] });
}

function checkGatedFfn(check: CheckedTensors, prefix: string, e: number): void {
  check.conv(`${prefix}.fn_1.0`, { out: 2 * e, in: e, kernel: 1 });
  check.conv(`${prefix}.fn_2.0`, { out: e, in: e, kernel: 1 });
  check.conv(`${prefix}.gate`, { out: e, in: 1, kernel: 3 });
}

export function readSeemoReConfig(sd: StateDict): SeemoReConfig {
  const check = new CheckedTensors(sd);
  const embedDim = dimOf(sd, 'conv_1.weight', 4, 0, 'the first conv');
  const inChannels = dimOf(sd, 'conv_1.weight', 4, 1, 'the first conv');
  if (inChannels !== IMAGE_CHANNELS) {
    throw new WeightError(
      'conv_1.weight',
      `'conv_1.weight' takes ${inChannels} channels; SeemoRe subtracts an RGB mean from a 3-channel image`,
    );
  }
  const numLayers = countNumbered(sd, 'body');
  const numExperts = countNumbered(sd, EXPERTS);
  if (numLayers === 0 || numExperts === 0)
    throw new WeightError(`${EXPERTS}.0`, `the weights have no '${EXPERTS}.0.*'`);
  const lrSpace = readLrSpace(sd);
  const expertWidths = Array.from({ length: numExperts }, (_, i) => GROWTH[lrSpace](i));
  const globalKernel = dimOf(sd, 'body.0.global_block.block.attn.conv.0.weight', 4, 3, 'the striped conv');
  const upsampled = dimOf(sd, 'upsampler.0.weight', 4, 0, 'the pixel-shuffle conv');
  const scale = Math.round(Math.sqrt(upsampled / IMAGE_CHANNELS));
  if (scale < 1 || scale * scale * IMAGE_CHANNELS !== upsampled) {
    throw new WeightError(
      'upsampler.0.weight',
      `'upsampler.0.weight' has ${upsampled} output channels, expected 3 × scale²`,
    );
  }
  const large = numLayers === 16 && embedDim === 48;

  const e = embedDim;
  check.conv('conv_1', { out: e, in: IMAGE_CHANNELS, kernel: 3 });
  for (let l = 0; l < numLayers; l++) {
    const local = `body.${l}.local_block`;
    const moe = `${local}.block`;
    check.norm(`${local}.norm_1`, e);
    check.norm(`${local}.norm_2`, e);
    check.conv(`${moe}.conv_1.0`, { out: e, in: e, kernel: 3 });
    check.conv(`${moe}.conv_1.2`, { out: 2 * e, in: e, kernel: 1 });
    check.conv(`${moe}.agg_conv.0`, { out: e, in: 1, kernel: 4 });
    check.conv(`${moe}.conv.0`, { out: e, in: 1, kernel: 3 });
    check.conv(`${moe}.conv.1`, { out: e, in: e, kernel: 1 });
    checkStripedConv(check, `${moe}.conv_2.0`, e, 3);
    expertWidths.forEach((low, i) => {
      const p = `${moe}.moe_layer.experts.${i}`;
      check.conv(`${p}.conv_1`, { out: low, in: e, kernel: 1 });
      check.conv(`${p}.conv_2`, { out: low, in: e, kernel: 1 });
      check.conv(`${p}.conv_3`, { out: e, in: low, kernel: 1 });
    });
    check.linear(`${moe}.moe_layer.gate.body.2`, numExperts, e, 'none');
    check.conv(`${moe}.proj`, { out: e, in: e, kernel: 1 });
    checkGatedFfn(check, `${local}.ffn`, e);

    const global = `body.${l}.global_block`;
    check.norm(`${global}.norm_1`, e);
    check.norm(`${global}.norm_2`, e);
    check.conv(`${global}.block.proj`, { out: e, in: e, kernel: 1 });
    check.conv(`${global}.block.to_qv.0`, { out: 2 * e, in: e, kernel: 1 });
    checkStripedConv(check, `${global}.block.attn`, e, globalKernel);
    checkGatedFfn(check, `${global}.ffn`, e);
  }
  check.norm('norm', e);
  check.conv('conv_2', { out: e, in: e, kernel: 3 });
  check.conv('upsampler.0', { out: upsampled, in: e, kernel: 3 });
  check.rejectOthers(`the tensors of a ${numLayers}-layer SeemoRe with ${numExperts} experts`);
  return {
    embedDim,
    numLayers,
    expertWidths,
    lrSpace,
    globalKernel,
    scale,
    useShuffle: !large,
    recursive: large ? 1 : 2,
  };
}
