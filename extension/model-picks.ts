// The rows of the model, scale and activation quick picks, as plain data: label,
// description and detail for each choice. The quick pick itself (extension/commands.ts)
// only shows them.
import type { ModelInfo } from '../contract/protocol';
import { TTA_LEVELS, type Activation, type TtaLevel } from '../contract/vocabulary';
import { parseBlend } from '../contract/request';

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

export interface ModelRow {
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly detail: string;
  readonly picked: boolean;
}

/** One row per model; the default first, then built-ins, then the user's, by name. */
export function modelRows(models: readonly ModelInfo[], defaultModel: string): ModelRow[] {
  const rank = (m: ModelInfo) => (m.id === defaultModel ? 0 : m.source === 'builtin' ? 1 : 2);
  return [...models]
    .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
    .map((m) => ({
      id: m.id,
      label: m.id === defaultModel ? `$(star-full) ${m.name}` : m.name,
      description: `${m.family} · x${m.scale} · ${formatBytes(m.sizeBytes)}${m.loaded ? ' · loaded' : ''}`,
      detail: `${m.id} — ${m.source === 'builtin' ? 'built-in' : 'your model'}, ${m.variant}; ${m.license}`,
      picked: m.id === defaultModel,
    }));
}

export interface ScaleRow {
  readonly label: string;
  readonly description: string;
  /** The factor, or 'custom' for "type a factor or size". */
  readonly scale: number | 'custom';
}

export const SCALE_CHOICES = [2, 3, 4, 8] as const;

/**
 * The scale rows for a model of scale `modelScale`; `nameFor` gives the output name for a
 * factor so each row shows where its result will go.
 */
export function scaleRows(modelScale: number, nameFor: (scale: number) => string): ScaleRow[] {
  const rows: ScaleRow[] = SCALE_CHOICES.map((scale) => {
    const passes = passesFor(scale, modelScale);
    const how =
      scale === modelScale
        ? 'one pass'
        : scale < modelScale
          ? 'one pass, then Lanczos down'
          : `${passes} passes${modelScale ** passes === scale ? '' : ' + Lanczos'}`;
    return { label: `${scale}x`, description: `${how} → ${nameFor(scale)}`, scale };
  });
  rows.push({
    label: 'Custom…',
    description: 'a factor such as 2.5, or an exact size such as 1920x1080, 1920x or x1080',
    scale: 'custom',
  });
  return rows;
}

/** Passes of a `modelScale` model to reach `scale` (at most 3, as the daemon does). */
export function passesFor(scale: number, modelScale: number): number {
  if (modelScale <= 1) return 1;
  let passes = 1;
  while (modelScale ** passes < scale && passes < 3) passes++;
  return passes;
}

export interface ActivationRow {
  readonly label: string;
  readonly description: string;
  readonly detail: string;
  readonly activation: Activation;
}

/**
 * Import Model…'s question when the import had to assume the activation (a compact model
 * without PReLU slopes). PReLU is not offered: weights without slopes cannot be PReLU.
 */
export function activationRows(): ActivationRow[] {
  return [
    {
      label: 'ReLU',
      description: 'assumed when you do not choose',
      detail: 'What other loaders assume too',
      activation: 'relu',
    },
    {
      label: 'LeakyReLU (slope 0.1)',
      description: "act_type 'leakyrelu'",
      detail: 'If the model was trained with LeakyReLU, or the output looks wrong with ReLU',
      activation: 'leakyrelu',
    },
  ];
}

/** What Upscale Image With… can add to the chosen model. */
export type Extra = 'restore' | 'blend' | 'tta';

export interface ExtraRow {
  readonly label: string;
  readonly description: string;
  readonly detail: string;
  readonly extra: Extra;
}

/** Upscale Image With…'s extras, none picked: a restoration model first, a second model blended in, TTA. */
export function extraRows(): ExtraRow[] {
  return [
    {
      label: '$(wand) Restoration model first',
      description: 'a 1x model (JPEG artefacts, noise, blur) before the upscaler',
      detail: 'The restored image goes to the upscaler in float',
      extra: 'restore',
    },
    {
      label: '$(layers) Blend a second model',
      description: "mixed in with a weight, as AUTOMATIC1111's Upscaler 2 visibility",
      detail: 'Run to the same size (Lanczos where its scale differs), then (1 - weight) x first + weight x second',
      extra: 'blend',
    },
    {
      label: '$(sync) TTA',
      description: 'test-time augmentation: the image flipped and turned, the results averaged',
      detail: 'Smoother, steadier detail at 2, 4 or 8 times the work',
      extra: 'tta',
    },
  ];
}

export interface TtaRow {
  readonly label: string;
  readonly description: string;
  readonly level: TtaLevel;
}

export function ttaRows(): TtaRow[] {
  return TTA_LEVELS.map((level) => ({
    label: `×${level}`,
    description: {
      2: 'the image and its mirror image',
      4: 'also upside down and turned half way',
      8: 'every flip and quarter turn',
    }[level],
    level,
  }));
}

/** The blend weight typed for `model`, or the problem with it (the request's own rule). */
export function blendWeight(
  model: string,
  text: string,
): { ok: true; weight: number } | { ok: false; problem: string } {
  const spec = parseBlend(`${model}:${text.trim()}`);
  return spec ? { ok: true, weight: spec.weight } : { ok: false, problem: 'a weight above 0 up to 1, such as 0.3' };
}
