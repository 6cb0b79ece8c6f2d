// Which precision a model runs at, from the user's choice, the provider, what the provider's
// device can do and whether the architecture is safe in fp16. Pure: the facts come in.
import type { ExecutionProvider, PrecisionChoice } from '../protocol/protocol';

export type Precision = 'fp32' | 'fp16';

/**
 * Families whose fp16 output stays within the 45 dB bar of their fp32 output (spandrel's
 * `supports_half`: RRDBNet/ESRGAN and SRVGGNetCompact yes; SwinIR, HAT and DAT no, their
 * attention overflows or drifts in half precision). Measured figures: README, "GPU".
 */
const FP16_SAFE_FAMILIES: ReadonlySet<string> = new Set(['real-esrgan', 'esrgan']);

/** What a model record says about fp16: its own `half` trait where it has one, else its family. */
export function fp16Safety(model: { readonly family: string }): { safe: boolean; why: string } {
  if ('half' in model && typeof model.half === 'boolean')
    return { safe: model.half, why: `its architecture ${model.half ? 'supports' : 'does not support'} fp16` };
  const safe = FP16_SAFE_FAMILIES.has(model.family);
  return { safe, why: `${model.family} is ${safe ? '' : 'not '}fp16-safe` };
}

export interface PrecisionFacts {
  readonly choice: PrecisionChoice;
  readonly provider: ExecutionProvider;
  /** Whether the provider ran the fp16 probe wholly on its device (WebGPU: the adapter has shader-f16). */
  readonly deviceFp16: boolean;
  readonly safety: { readonly safe: boolean; readonly why: string };
}

export type PrecisionDecision =
  { readonly precision: Precision; readonly reason: string; readonly warning?: string } | { readonly refused: string };

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
