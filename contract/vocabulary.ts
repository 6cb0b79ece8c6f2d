// The words both sides use: providers, precisions, formats, fits, alpha modes, paddings,
// activations, a rectangle, and what an upscale aims at. Pure declarations.

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];
export type ExecutionProvider = Exclude<ExecutionProviderChoice, 'auto'>;

/** fp16 runs weights and arithmetic in half precision on GPU providers (README, "GPU"). */
export const PRECISIONS = ['auto', 'fp32', 'fp16'] as const;
export type PrecisionChoice = (typeof PRECISIONS)[number];
export type Precision = Exclude<PrecisionChoice, 'auto'>;

export const OUTPUT_FORMATS = ['png', 'jpg', 'webp', 'tif', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const FITS = ['cover', 'contain', 'fill'] as const;
export type Fit = (typeof FITS)[number];

export const ALPHA_MODES = ['model', 'lanczos'] as const;
export type AlphaMode = (typeof ALPHA_MODES)[number];

/**
 * What the model sees past the image's borders: nothing added (its own zero padding, so a
 * whole-image run is exactly the model's output), a mirrored border, or the opposite edge
 * (tileable textures). Inner tile edges always get the real neighbouring pixels.
 */
export const PADDINGS = ['none', 'reflect', 'wrap'] as const;
export type Padding = (typeof PADDINGS)[number];
export const DEFAULT_PADDING: Padding = 'none';

/** Test-time augmentation: how many of the image's flips and rotations the model runs on (1: none). */
export const TTA_LEVELS = [2, 4, 8] as const;
export type TtaLevel = 1 | (typeof TTA_LEVELS)[number];

/** SRVGGNetCompact's activations (upstream act_type); LeakyReLU's slope is 0.1, as upstream's. */
export const ACTIVATIONS = ['relu', 'leakyrelu', 'prelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
/** Who decided a model's activation: its weights (PReLU slopes), an assumption (ReLU: the weights cannot tell), or the user. */
export type ActivationSource = 'weights' | 'assumed' | 'user';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * What an upscale aims at: a factor, or an exact size (one side alone keeps the aspect
 * ratio; with both, `fit` says how the picture fills them, default cover). On the wire it
 * is `scale`, or `width`/`height`/`fit` (contract/request.ts: targetOf, targetFields).
 */
export type Target =
  | { readonly kind: 'scale'; readonly scale: number }
  | { readonly kind: 'size'; readonly width?: number; readonly height?: number; readonly fit?: Fit };
