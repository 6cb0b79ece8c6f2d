// RRDBNet's configuration in the three key layouts that store it: BasicSR / Real-ESRGAN
// (`conv_first`, `body.N.rdbK.convJ`, `conv_body`, `conv_upN`, `conv_hr`, `conv_last`),
// ESRGAN's 2019 re-release, also BSRGAN's and pre-1.0 BasicSR's (`RRDB_trunk.N.RDBk.convJ`,
// `trunk_conv`, `upconvN`, `HRconv`), and the 2018 release's flattened nn.Sequential
// (`model.0`, `model.1.sub.N.RDBk.convJ.0`, `model.3`, …). The network is the same; a layout
// only supplies key names, so the checks below are written once.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, rejectOtherTensors, requireConv } from '../../weights/shapes';

/** Which naming a checkpoint uses; decides every key name in {@link rrdbKeys}. */
export type RrdbLayout = 'basicsr' | 'esrgan-2019' | 'esrgan-2018';

/** Everything the graph needs besides the weights; all of it is read from the weights. */
export interface RrdbNetConfig {
  readonly layout: RrdbLayout;
  readonly numFeat: number;
  readonly numBlock: number;
  readonly numGrowCh: number;
  /** pixel_unshuffle factor applied to the input first (Real-ESRGAN x2: 2, x1: 4), else 1. */
  readonly unshuffleFactor: number;
  /** Number of nearest-upsample + conv + LeakyReLU stages. */
  readonly upsampleStages: number;
  /**
   * Nearest-neighbour factor of each stage. Reading always says 2: ESRGAN-2018 x3 models
   * use one stage of 3, which has the same keys as x2, so a caller that knows a model is x3
   * may set this to 3 (and scale to 3) before building.
   */
  readonly upsampleFactor: number;
  /** upsampleFactor ** upsampleStages / unshuffleFactor. */
  readonly scale: number;
}

/** Prefixes (without `.weight` / `.bias`) of every convolution, in one layout's names. */
export interface RrdbKeys {
  readonly firstConv: string;
  denseConv(block: number, rdb: number, conv: number): string;
  readonly trunkConv: string;
  readonly upConvs: readonly string[];
  readonly hrConv: string;
  readonly lastConv: string;
}

/** The RRDB dense blocks always have three residual dense blocks of five convs each. */
export const RDBS_PER_BLOCK = 3;
export const CONVS_PER_RDB = 5;
export const IMAGE_CHANNELS = 3;

export function rrdbKeys(layout: RrdbLayout, numBlock: number, upsampleStages: number): RrdbKeys {
  if (layout === 'basicsr') {
    return {
      firstConv: 'conv_first',
      denseConv: (b, r, c) => `body.${b}.rdb${r}.conv${c}`,
      trunkConv: 'conv_body',
      upConvs: Array.from({ length: upsampleStages }, (_, i) => `conv_up${i + 1}`),
      hrConv: 'conv_hr',
      lastConv: 'conv_last',
    };
  }
  if (layout === 'esrgan-2019') {
    return {
      firstConv: 'conv_first',
      denseConv: (b, r, c) => `RRDB_trunk.${b}.RDB${r}.conv${c}`,
      trunkConv: 'trunk_conv',
      upConvs: Array.from({ length: upsampleStages }, (_, i) => `upconv${i + 1}`),
      hrConv: 'HRconv',
      lastConv: 'conv_last',
    };
  }
  // ESRGAN 2018 flattens its nn.Sequential: every upsample stage is (Upsample, conv,
  // LeakyReLU), so its convs sit at 3, 6, 9, ...; the HR conv and its LeakyReLU follow,
  // then the last conv.
  const hrIndex = 3 * upsampleStages + 2;
  return {
    firstConv: 'model.0',
    denseConv: (b, r, c) => `model.1.sub.${b}.RDB${r}.conv${c}.0`,
    trunkConv: `model.1.sub.${numBlock}`,
    upConvs: Array.from({ length: upsampleStages }, (_, i) => `model.${3 + 3 * i}`),
    hrConv: `model.${hrIndex}`,
    lastConv: `model.${hrIndex + 2}`,
  };
}

/** Blocks are numbered from 0; the highest index `denseConv` captures says how many there must be. */
export function countBlocks(keys: Iterable<string>, denseConv: RegExp): number {
  let highest = -1;
  for (const k of keys) {
    const m = denseConv.exec(k);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest + 1;
}

const MIN_UPSAMPLE_STAGES = 2;

/**
 * Upsample convs (BasicSR and 2019 layouts) must be numbered 1, 2, ... without gaps. Both
 * upstreams always build at least two (x2 and x1 models get there through
 * pixel_unshuffle), so fewer means a truncated file, not a smaller scale.
 */
export function countUpsampleStages(keys: Iterable<string>, upConv: RegExp, upName: (stage: number) => string): number {
  const present = new Set<number>();
  for (const k of keys) {
    const m = upConv.exec(k);
    if (m) present.add(Number(m[1]));
  }
  const highest = Math.max(MIN_UPSAMPLE_STAGES, ...present);
  for (let i = 1; i <= highest; i++) {
    if (!present.has(i)) {
      const key = `${upName(i)}.weight`;
      throw new WeightError(
        key,
        `the weights have no tensor '${key}' (expected upsample convs ${upName(1)}..${upName(highest)})`,
      );
    }
  }
  return highest;
}

const TOP_LEVEL_CONV = /^model\.(\d+)\.(weight|bias)$/;

/**
 * The 2018 layout's flattened nn.Sequential puts upsample convs at 3, 6, 9, ... (each
 * stage is Upsample, conv, LeakyReLU), then the HR conv, its LeakyReLU and the last conv;
 * so the indices after model.1 fix the number of stages: x4 is 3, 6, 8, 10, x2 is 3, 5, 7,
 * x8 is 3, 6, 9, 11, 13 and x1 is 2, 4.
 */
export function countOldUpsampleStages(keys: Iterable<string>): number {
  const indices = new Set<number>();
  for (const k of keys) {
    const m = TOP_LEVEL_CONV.exec(k);
    if (m && m[1] !== '0') indices.add(Number(m[1]));
  }
  const found = [...indices].sort((a, b) => a - b);
  const stages = found.length - 2;
  const expected: number[] = [];
  for (let i = 0; i < stages; i++) expected.push(3 + 3 * i);
  expected.push(3 * stages + 2, 3 * stages + 4);
  if (stages < 0 || found.some((v, i) => v !== expected[i])) {
    throw new WeightError(
      'model',
      `top-level convs at ${found.map((i) => `model.${i}`).join(', ') || 'none'} after model.1, ` +
        'expected upsample convs at model.3, model.6, ... then the HR conv and the last conv two apart ' +
        '(x4: model.3, model.6, model.8, model.10)',
    );
  }
  return stages;
}

/** A 3x3 conv with bias, as every RRDBNet conv is. */
function requireConv3(sd: StateDict, prefix: string, out: number, inChannels: number): void {
  requireConv(sd, prefix, { out, in: inChannels, kernel: 3 });
}

/**
 * Reads feature widths from the first conv and the first dense conv, then checks every
 * tensor the network will use against them, and that no other tensor is present (an
 * extra tensor means a variant this graph would silently get wrong).
 */
export function readRrdbConfig(
  sd: StateDict,
  layout: RrdbLayout,
  numBlock: number,
  upsampleStages: number,
): RrdbNetConfig {
  if (numBlock < 1) throw new WeightError('body', 'no RRDB blocks found (expected at least one)');
  const keys = rrdbKeys(layout, numBlock, upsampleStages);

  const firstKey = `${keys.firstConv}.weight`;
  const numFeat = dimOf(sd, firstKey, 4, 0, 'the first conv');
  const firstIn = dimOf(sd, firstKey, 4, 1, 'the first conv');
  const unshuffleFactor = [1, 2, 4].find((f) => IMAGE_CHANNELS * f * f === firstIn);
  if (unshuffleFactor === undefined) {
    throw new WeightError(
      firstKey,
      `tensor '${firstKey}' has ${firstIn} input channels, expected 3 (RGB), ` +
        '12 (pixel_unshuffle 2, x2 models) or 48 (pixel_unshuffle 4, x1 models)',
    );
  }
  const numGrowCh = dimOf(sd, `${keys.denseConv(0, 1, 1)}.weight`, 4, 0, 'a dense conv');

  const known = new Set<string>();
  const check = (prefix: string, out: number, inChannels: number): void => {
    requireConv3(sd, prefix, out, inChannels);
    known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  };
  check(keys.firstConv, numFeat, firstIn);
  for (let b = 0; b < numBlock; b++) {
    for (let r = 1; r <= RDBS_PER_BLOCK; r++) {
      for (let c = 1; c <= CONVS_PER_RDB; c++) {
        check(keys.denseConv(b, r, c), c === CONVS_PER_RDB ? numFeat : numGrowCh, numFeat + (c - 1) * numGrowCh);
      }
    }
  }
  check(keys.trunkConv, numFeat, numFeat);
  for (const up of keys.upConvs) check(up, numFeat, numFeat);
  check(keys.hrConv, numFeat, numFeat);
  check(keys.lastConv, IMAGE_CHANNELS, numFeat);
  rejectOtherTensors(
    sd,
    known,
    `the ${known.size} conv weights and biases of a ${numBlock}-block RRDBNet with ${upsampleStages} upsample stages`,
  );

  const upsampleFactor = 2;
  const scale = upsampleFactor ** upsampleStages / unshuffleFactor;
  if (!Number.isInteger(scale)) {
    throw new WeightError(
      firstKey,
      `${upsampleStages} x2 upsample stage(s) after pixel_unshuffle ${unshuffleFactor} give scale ${scale}, ` +
        'expected a whole scale (unshuffled models need at least as many upsample stages)',
    );
  }
  return { layout, numFeat, numBlock, numGrowCh, unshuffleFactor, upsampleStages, upsampleFactor, scale };
}
