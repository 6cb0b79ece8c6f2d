// The RRDB network (ESRGAN's generator) as one emitter shared by every key layout that
// stores it: BasicSR/Real-ESRGAN (`conv_first`, `body.N.rdbK.convJ`, ...), the 2018 ESRGAN
// release (`model.0`, `model.1.sub.N.RDBk.convj.0`, ...) and ESRGAN's 2019 re-release, also
// used by BSRGAN and pre-1.0 BasicSR (`RRDB_trunk.N.RDBk.convj`, `trunk_conv`, `upconvN`,
// `HRconv`). The computation is identical, so a layout only supplies key names, and the
// shape check and the ONNX emission below are written once.
import { GraphBuilder, attr } from '../onnx/graph';
import { LayerBuilder } from '../onnx/layers';
import type { StateDict } from '../readers/state-dict';

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
   * Nearest-neighbour factor of each stage. Detection always says 2: ESRGAN-2018 x3 models
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

/** Upstream scales every residual branch by 0.2 before adding it back. */
const RESIDUAL_SCALE = 0.2;
const LEAKY_SLOPE = 0.2;
const IMAGE_CHANNELS = 3;

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

/** Throws unless `key` exists with exactly `expected` as its shape; `why` says what the layer is. */
export function requireShape(sd: StateDict, key: string, expected: readonly number[], why: string): void {
  const t = sd.get(key);
  if (!t) throw new Error(`${why}: the weights have no tensor '${key}' (expected shape [${expected.join(', ')}])`);
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${why}: tensor '${key}' has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

/** Checks a 3x3 conv with bias, as every RRDBNet conv is. */
function requireConv(sd: StateDict, prefix: string, outCh: number, inCh: number, why: string): void {
  requireShape(sd, `${prefix}.weight`, [outCh, inCh, 3, 3], why);
  requireShape(sd, `${prefix}.bias`, [outCh], why);
}

/** The shape of a key the caller relies on before it can check anything else. */
function shapeOf(sd: StateDict, key: string, why: string): readonly number[] {
  const t = sd.get(key);
  if (!t) throw new Error(`${why}: the weights have no tensor '${key}'`);
  return t.shape;
}

/**
 * Reads feature widths from the first conv and the first dense conv, then checks every
 * tensor the network will use against them, and that no other tensor is present (an
 * extra tensor means a variant this emitter would silently get wrong).
 */
export function readRrdbConfig(
  sd: StateDict,
  layout: RrdbLayout,
  numBlock: number,
  upsampleStages: number,
  why: string,
): RrdbNetConfig {
  if (numBlock < 1) throw new Error(`${why}: no RRDB blocks found (expected at least one)`);
  const keys = rrdbKeys(layout, numBlock, upsampleStages);

  const first = shapeOf(sd, `${keys.firstConv}.weight`, why);
  if (first.length !== 4) {
    throw new Error(
      `${why}: tensor '${keys.firstConv}.weight' has shape [${first.join(', ')}], expected a 4-d conv weight`,
    );
  }
  const numFeat = first[0] as number;
  const firstIn = first[1] as number;
  const unshuffleFactor = [1, 2, 4].find((f) => IMAGE_CHANNELS * f * f === firstIn);
  if (unshuffleFactor === undefined) {
    throw new Error(
      `${why}: tensor '${keys.firstConv}.weight' has ${firstIn} input channels, expected 3 (RGB), ` +
        '12 (pixel_unshuffle 2, x2 models) or 48 (pixel_unshuffle 4, x1 models)',
    );
  }
  const grow = shapeOf(sd, `${keys.denseConv(0, 1, 1)}.weight`, why);
  const numGrowCh = grow[0] as number;

  requireConv(sd, keys.firstConv, numFeat, firstIn, why);
  for (let b = 0; b < numBlock; b++) {
    for (let r = 1; r <= RDBS_PER_BLOCK; r++) {
      for (let c = 1; c <= CONVS_PER_RDB; c++) {
        const outCh = c === CONVS_PER_RDB ? numFeat : numGrowCh;
        requireConv(sd, keys.denseConv(b, r, c), outCh, numFeat + (c - 1) * numGrowCh, `${why} (${numBlock} blocks)`);
      }
    }
  }
  requireConv(sd, keys.trunkConv, numFeat, numFeat, why);
  for (const up of keys.upConvs) requireConv(sd, up, numFeat, numFeat, why);
  requireConv(sd, keys.hrConv, numFeat, numFeat, why);
  requireConv(sd, keys.lastConv, IMAGE_CHANNELS, numFeat, why);

  // first, trunk, HR and last conv, the upsample convs and the dense convs, each weight + bias
  const expectedCount = 2 * (4 + upsampleStages + numBlock * RDBS_PER_BLOCK * CONVS_PER_RDB);
  if (sd.size !== expectedCount) {
    const known = new Set<string>();
    const prefixes = [keys.firstConv, keys.trunkConv, ...keys.upConvs, keys.hrConv, keys.lastConv];
    for (let b = 0; b < numBlock; b++) {
      for (let r = 1; r <= RDBS_PER_BLOCK; r++)
        for (let c = 1; c <= CONVS_PER_RDB; c++) prefixes.push(keys.denseConv(b, r, c));
    }
    for (const p of prefixes) {
      known.add(`${p}.weight`);
      known.add(`${p}.bias`);
    }
    const extra = [...sd.keys()].filter((k) => !known.has(k));
    throw new Error(
      `${why}: unexpected tensor${extra.length > 1 ? 's' : ''} ${extra
        .slice(0, 5)
        .map((k) => `'${k}'`)
        .join(', ')}` +
        `${extra.length > 5 ? ` and ${extra.length - 5} more` : ''} (expected only the ${expectedCount} conv weights and biases ` +
        `of a ${numBlock}-block RRDBNet with ${upsampleStages} upsample stages)`,
    );
  }

  const upsampleFactor = 2;
  const scale = upsampleFactor ** upsampleStages / unshuffleFactor;
  if (!Number.isInteger(scale)) {
    throw new Error(
      `${why}: ${upsampleStages} x2 upsample stage(s) after pixel_unshuffle ${unshuffleFactor} give scale ${scale}, ` +
        'expected a whole scale (unshuffled models need at least as many upsample stages)',
    );
  }
  return { layout, numFeat, numBlock, numGrowCh, unshuffleFactor, upsampleStages, upsampleFactor, scale };
}

/** One residual dense block: five convs, each seeing the concatenation of all earlier outputs. */
function residualDenseBlock(lb: LayerBuilder, x: string, convPrefix: (conv: number) => string): string {
  const g = lb.g;
  const features = [x];
  for (let c = 1; c < CONVS_PER_RDB; c++) {
    const joined = features.length === 1 ? x : g.op('Concat', features, { axis: attr.int(1) });
    features.push(lb.leakyRelu(lb.conv2d(joined, convPrefix(c)), LEAKY_SLOPE));
  }
  const last = lb.conv2d(g.op('Concat', features, { axis: attr.int(1) }), convPrefix(CONVS_PER_RDB));
  return lb.add(lb.mul(last, lb.scalar(RESIDUAL_SCALE)), x);
}

function rrdb(lb: LayerBuilder, x: string, keys: RrdbKeys, block: number): string {
  let y = x;
  for (let r = 1; r <= RDBS_PER_BLOCK; r++) y = residualDenseBlock(lb, y, (c) => keys.denseConv(block, r, c));
  return lb.add(lb.mul(y, lb.scalar(RESIDUAL_SCALE)), x);
}

/**
 * The [H, W] of `x` (int64) and `x` reflect-padded at the bottom and right to multiples
 * of `multiple`, as Real-ESRGAN's inference wrapper pads before pixel_unshuffle; doing it
 * in the graph lets any input size through.
 */
function padToMultiple(lb: LayerBuilder, x: string, multiple: number): { padded: string; hw: string } {
  const g = lb.g;
  const hw = g.op('Shape', [x], { start: attr.int(2), end: attr.int(4) }, 'input_hw');
  const m = lb.ints([multiple]);
  const padHw = g.op('Mod', [g.op('Sub', [m, g.op('Mod', [hw, m])]), m], {}, 'pad_hw');
  // ONNX pads list every axis' begin, then every axis' end: only H and W get an end pad.
  const pads = g.op('Concat', [lb.ints([0, 0, 0, 0, 0, 0]), padHw], { axis: attr.int(0) }, 'pads');
  const padded = g.op('Pad', [x, pads], { mode: attr.string('reflect') }, 'input_padded');
  return { padded, hw };
}

export function buildRrdbNet(sd: StateDict, config: RrdbNetConfig, graphName: string): Uint8Array {
  const g = new GraphBuilder(graphName);
  const lb = new LayerBuilder(g, sd);
  const keys = rrdbKeys(config.layout, config.numBlock, config.upsampleStages);
  const input = g.input('input', [1, IMAGE_CHANNELS, 'height', 'width']);

  let inputHw: string | undefined;
  let x = input;
  if (config.unshuffleFactor > 1) {
    const { padded, hw } = padToMultiple(lb, input, config.unshuffleFactor);
    inputHw = hw;
    x = lb.pixelUnshuffle(padded, config.unshuffleFactor, IMAGE_CHANNELS);
  }

  const feat = lb.conv2d(x, keys.firstConv);
  let body = feat;
  for (let b = 0; b < config.numBlock; b++) body = rrdb(lb, body, keys, b);
  let y = lb.add(feat, lb.conv2d(body, keys.trunkConv));

  for (const up of keys.upConvs) {
    y = lb.leakyRelu(lb.conv2d(lb.upsampleNearest(y, config.upsampleFactor), up), LEAKY_SLOPE);
  }
  let out = lb.conv2d(lb.leakyRelu(lb.conv2d(y, keys.hrConv), LEAKY_SLOPE), keys.lastConv);

  if (inputHw !== undefined) {
    // Drop the rows and columns that came from the reflect padding.
    const outHw = g.op('Mul', [inputHw, lb.ints([config.scale])], {}, 'output_hw');
    out = g.op('Slice', [out, lb.ints([0, 0]), outHw, lb.ints([2, 3])], {}, 'output_cropped');
  }
  g.output(out, 'output', [1, IMAGE_CHANNELS, 'out_height', 'out_width']);
  return g.toBytes(`RRDBNet (${config.layout} keys) x${config.scale}`);
}

/** Blocks are numbered from 0; the highest index present says how many there must be. */
export function countBlocks(keys: Iterable<string>, denseConv: RegExp): number {
  let highest = -1;
  for (const k of keys) {
    const m = denseConv.exec(k);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest + 1;
}
