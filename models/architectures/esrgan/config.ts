// RRDBNet's configuration in the three key layouts that store it: BasicSR / Real-ESRGAN
// (`conv_first`, `body.N.rdbK.convJ`, `conv_body`, `conv_upN`, `conv_hr`, `conv_last`),
// ESRGAN's 2019 re-release, also BSRGAN's and pre-1.0 BasicSR's (`RRDB_trunk.N.RDBk.convJ`,
// `trunk_conv`, `upconvN`, `HRconv`), and the 2018 release's flattened nn.Sequential
// (`model.0`, `model.1.sub.N.RDBk.convJ.0`, `model.3`, …). The network is the same; a layout
// only supplies key names, so the checks below are written once. The class takes any image
// channel count (grey and RGBA models exist) and, in ESRGAN+ (2018 keys only), a bias-free
// 1×1 conv beside the dense convs of every residual dense block.
import type { StateDict } from '../../weights/state-dict';
import { WeightError } from '../../weights/tensors';
import { dimOf, rejectOtherTensors, requireConv } from '../../weights/shapes';

/** Which naming a checkpoint uses; decides every key name in {@link rrdbKeys}. */
export type RrdbLayout = 'basicsr' | 'esrgan-2019' | 'esrgan-2018';

/** Everything the graph needs besides the weights; all of it is read from the weights. */
export interface RrdbNetConfig {
  readonly layout: RrdbLayout;
  /** Image channels in and out (3 RGB, 1 grey, 4 RGBA), before any pixel_unshuffle. */
  readonly inChannels: number;
  readonly outChannels: number;
  /** ESRGAN+: every residual dense block adds conv1x1(x) to its second conv and that to its fourth. */
  readonly plus: boolean;
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
  /**
   * ESRGAN+'s bias-free 1×1 conv of a residual dense block. Only the 2018 layout has them:
   * ESRGAN+ was released in it, and spandrel reads them nowhere else.
   */
  readonly plusConv: ((block: number, rdb: number) => string) | null;
  readonly trunkConv: string;
  readonly upConvs: readonly string[];
  readonly hrConv: string;
  readonly lastConv: string;
}

/** The RRDB dense blocks always have three residual dense blocks of five convs each. */
export const RDBS_PER_BLOCK = 3;
export const CONVS_PER_RDB = 5;

export function rrdbKeys(layout: RrdbLayout, numBlock: number, upsampleStages: number): RrdbKeys {
  if (layout === 'basicsr') {
    return {
      firstConv: 'conv_first',
      denseConv: (b, r, c) => `body.${b}.rdb${r}.conv${c}`,
      plusConv: null,
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
      plusConv: null,
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
    plusConv: (b, r) => `model.1.sub.${b}.RDB${r}.conv1x1`,
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

/** The widths of an RRDB trunk, which every conv of it is checked against. */
export interface RrdbWidths {
  /** Input channels of the first conv (image channels × unshuffle factor²). */
  readonly firstIn: number;
  readonly outChannels: number;
  readonly numFeat: number;
  readonly numGrowCh: number;
  readonly numBlock: number;
  readonly plus: boolean;
}

/**
 * Checks every conv of an RRDBNet trunk in `keys`' names: the first conv, the dense blocks
 * (with ESRGAN+'s bias-free 1×1 convs when `plus` and the layout has them), the trunk conv, the upsample convs, the
 * HR conv and the last; all but the 1×1 are 3×3 with bias. Returns the keys it checked.
 */
export function requireRrdbTrunk(sd: StateDict, keys: RrdbKeys, w: RrdbWidths): Set<string> {
  const known = new Set<string>();
  const check = (prefix: string, out: number, inChannels: number): void => {
    requireConv(sd, prefix, { out, in: inChannels, kernel: 3 });
    known.add(`${prefix}.weight`).add(`${prefix}.bias`);
  };
  check(keys.firstConv, w.numFeat, w.firstIn);
  for (let b = 0; b < w.numBlock; b++) {
    for (let r = 1; r <= RDBS_PER_BLOCK; r++) {
      for (let c = 1; c <= CONVS_PER_RDB; c++) {
        const out = c === CONVS_PER_RDB ? w.numFeat : w.numGrowCh;
        check(keys.denseConv(b, r, c), out, w.numFeat + (c - 1) * w.numGrowCh);
      }
      if (w.plus && keys.plusConv) {
        requireConv(sd, keys.plusConv(b, r), { out: w.numGrowCh, in: w.numFeat, kernel: 1, bias: 'none' });
        known.add(`${keys.plusConv(b, r)}.weight`);
      }
    }
  }
  check(keys.trunkConv, w.numFeat, w.numFeat);
  for (const up of keys.upConvs) check(up, w.numFeat, w.numFeat);
  check(keys.hrConv, w.numFeat, w.numFeat);
  check(keys.lastConv, w.outChannels, w.numFeat);
  return known;
}

/**
 * The pixel_unshuffle factor a first conv of `firstIn` channels implies for `outChannels`
 * image channels out, as spandrel reads it: 2 or 4 when the first conv takes 4 or 16 times
 * the output's channels (Real-ESRGAN x2 and x1), else none. A grey x2 model and an RGBA
 * model with grey output look alike; like spandrel, this takes the unshuffled grey one.
 */
export function unshuffleFactorOf(firstIn: number, outChannels: number): number {
  return [2, 4].find((f) => firstIn === outChannels * f * f) ?? 1;
}

/**
 * Reads image channels and feature widths from the first, a dense and the last conv, then
 * checks every tensor the network will use against them, and that no other tensor is
 * present (an extra tensor means a variant this graph would silently get wrong).
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
  const outChannels = dimOf(sd, `${keys.lastConv}.weight`, 4, 0, 'the last conv');
  const unshuffleFactor = unshuffleFactorOf(firstIn, outChannels);
  const numGrowCh = dimOf(sd, `${keys.denseConv(0, 1, 1)}.weight`, 4, 0, 'a dense conv');
  const plus = keys.plusConv !== null && sd.has(`${keys.plusConv(0, 1)}.weight`);

  const known = requireRrdbTrunk(sd, keys, { firstIn, outChannels, numFeat, numGrowCh, numBlock, plus });
  rejectOtherTensors(
    sd,
    known,
    `the ${known.size} conv weights and biases of a ${numBlock}-block RRDBNet${plus ? '+' : ''} with ${upsampleStages} upsample stages`,
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
  const inChannels = firstIn / unshuffleFactor ** 2;
  return {
    layout,
    inChannels,
    outChannels,
    plus,
    numFeat,
    numBlock,
    numGrowCh,
    unshuffleFactor,
    upsampleStages,
    upsampleFactor,
    scale,
  };
}
