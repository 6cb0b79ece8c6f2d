// Which precision a model runs at, from the user's choice, the provider, what the provider's
// device can do and whether the architecture is safe in fp16. Pure: the facts come in.
import type { ExecutionProvider, Precision, PrecisionChoice } from '../../contract/vocabulary';

/** fp16 must stay within this of fp32 (8-bit PSNR) on every bench photo for `auto` to use it. */
export const FP16_BAR_DB = 45;

/**
 * fp16 against fp32 on WebGPU (ORT's fp16 kernels accumulate in fp16), worst of the five
 * bench photos (`npm run bench -- --provider webgpu --only precision`; README, "fp16"). An
 * architecture is recognised by its record's architecture id where it has one, else by the
 * start of its variant. RRDBNet falls below the bar (39.6 dB on butterfly, where its dense
 * blocks sum up to 1728 products per output in fp16), although PyTorch runs it in half
 * precision: cuDNN accumulates in fp32.
 */
const MEASURED: readonly {
  readonly architecture?: string;
  readonly variant: RegExp;
  readonly name: string;
  readonly worstDb: number;
}[] = [
  { architecture: 'compact', variant: /^SRVGGNetCompact/, name: 'SRVGGNetCompact', worstDb: 50.4 },
  { variant: /^UpscalerJS ESRGAN slim/, name: 'UpscalerJS ESRGAN slim', worstDb: 50.8 },
  { architecture: 'esrgan', variant: /^RRDBNet/, name: 'RRDBNet', worstDb: 39.6 },
];

/** Transformers whose attention drifts in half precision (spandrel's `supports_half` is false): never fp16 under `auto`. */
const HALF_UNSAFE_FAMILIES: ReadonlySet<string> = new Set(['swinir', 'hat', 'dat']);

/** What a model record tells about fp16: its architecture and, for converted models, its traits. */
export interface Fp16Record {
  readonly family: string;
  readonly variant: string;
  readonly architecture?: string;
  readonly traits?: { readonly fp16: boolean };
}

/** Whether a model may run in fp16: under `auto`, and at all. */
export interface Fp16Safety {
  /** `auto` takes fp16 (the architecture was measured above the bar). */
  readonly safe: boolean;
  /** The architecture itself rules fp16 out (spandrel's `supports_half`): an explicit fp16 is refused too. */
  readonly ruledOut: boolean;
  readonly why: string;
}

/**
 * Whether `auto` may run a model in fp16, and whether fp16 may run at all. The
 * architecture's own trait (spandrel's `supports_half`) rules fp16 out; a model is
 * fp16-safe only where its architecture was measured above the bar.
 */
export function fp16Safety(model: Fp16Record): Fp16Safety {
  if (model.traits?.fp16 === false)
    return { safe: false, ruledOut: true, why: 'its architecture does not support fp16' };
  if (HALF_UNSAFE_FAMILIES.has(model.family))
    return { safe: false, ruledOut: true, why: `${model.family}'s attention is not fp16-safe` };
  const measured = MEASURED.find((m) =>
    model.architecture !== undefined && m.architecture !== undefined
      ? m.architecture === model.architecture
      : m.variant.test(model.variant),
  );
  if (!measured) return { safe: false, ruledOut: false, why: `${model.variant} has no fp16 measurement` };
  return measured.worstDb >= FP16_BAR_DB
    ? {
        safe: true,
        ruledOut: false,
        why: `${measured.name} in fp16 reaches ${measured.worstDb} dB or more against fp32`,
      }
    : {
        safe: false,
        ruledOut: false,
        why: `${measured.name} in fp16 fell to ${measured.worstDb} dB against fp32 (below ${FP16_BAR_DB} dB)`,
      };
}

export interface PrecisionFacts {
  readonly choice: PrecisionChoice;
  readonly provider: ExecutionProvider;
  /** Whether the provider ran the fp16 probe wholly on its device (WebGPU: the adapter has shader-f16). */
  readonly deviceFp16: boolean;
  readonly safety: Fp16Safety;
}

export type PrecisionDecision =
  { readonly precision: Precision; readonly reason: string; readonly warning?: string } | { readonly refused: string };

/**
 * The precision for one model: an explicit choice is honoured or refused (the CPU, a device
 * without fp16, an architecture that rules it out), never changed; `auto` takes fp16 only
 * where the device runs it and the architecture was measured safe.
 */
export function decidePrecision(f: PrecisionFacts): PrecisionDecision {
  if (f.choice === 'fp32') return { precision: 'fp32', reason: 'fp32 was requested' };
  const noDevice =
    f.provider === 'cpu'
      ? 'the cpu provider runs fp32 only'
      : f.provider === 'webgpu'
        ? 'the WebGPU adapter has no shader-f16'
        : `the ${f.provider} provider did not run an fp16 graph on its device`;
  if (f.choice === 'fp16') {
    if (f.provider === 'cpu' || !f.deviceFp16) return { refused: `precision 'fp16' cannot run: ${noDevice}` };
    if (f.safety.ruledOut) return { refused: `precision 'fp16' cannot run: ${f.safety.why}` };
    return f.safety.safe
      ? { precision: 'fp16', reason: 'fp16 was requested' }
      : {
          precision: 'fp16',
          reason: 'fp16 was requested',
          warning: `fp16 was requested although ${f.safety.why}: the output may differ visibly from fp32`,
        };
  }
  if (f.provider === 'cpu' || !f.deviceFp16) return { precision: 'fp32', reason: `auto: ${noDevice}` };
  if (!f.safety.safe) return { precision: 'fp32', reason: `auto: ${f.safety.why}` };
  return { precision: 'fp16', reason: `auto: ${f.safety.why} and ${f.provider} runs fp16` };
}
