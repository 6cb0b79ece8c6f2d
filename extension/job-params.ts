// The `upscale` request for one image, from the settings, the chosen model and target,
// and where the result goes. Pure: what the daemon is asked is unit-tested.
import * as path from 'node:path';
import { REQUEST_FIELDS, requirementsMet, targetFields, type BlendSpec, type UpscaleParams } from '../contract/request';
import { asFolder, samePath } from '../contract/paths';
import { present } from '../contract/validate';
import type { Target, TtaLevel } from '../contract/vocabulary';
import type { RunsOn } from '../contract/protocol';
import type { SettingKey, UpscaleSettings } from './config';
import { formatDuration } from '../webview/progress';

export interface JobSpec {
  /** Model id; undefined: the default model setting, else the daemon's default. */
  readonly model?: string;
  readonly target: Target;
  /** Models run first, in order (1x restoration models), with `model` after them: a chain. */
  readonly before?: readonly string[];
  /** A second model mixed into the result. */
  readonly blend?: BlendSpec;
  /** Test-time augmentation: runs per tile. */
  readonly tta?: TtaLevel;
}

/** The models of a job as the request and its plan name them. */
export interface ModelCombination {
  readonly chain: readonly string[];
  readonly blend: BlendSpec | null;
  readonly tta: number;
}

/** The models of a job before it runs: the spec's, with `model` for the main one. */
export function specModels(spec: JobSpec, model: string): ModelCombination {
  return { chain: [...(spec.before ?? []), model], blend: spec.blend ?? null, tta: spec.tta ?? 1 };
}

/** "1x-jpeg → realesrgan-x4plus + 30% upscalerjs-esrgan-slim-x4 · TTA ×8": what the preview's summary shows as the model. */
export function describeModels(m: ModelCombination): string {
  const parts = [m.chain.join(' → ')];
  if (m.blend) parts.push(`+ ${Math.round(m.blend.weight * 100)}% ${m.blend.model}`);
  const text = parts.join(' ');
  return m.tta > 1 ? `${text} · TTA ×${m.tta}` : text;
}

/**
 * The request fields the settings give, by the field table: each setting the editor copies
 * into every request, left out where it says "the daemon decides" ('auto', '', …).
 */
function settingFields(settings: UpscaleSettings): Partial<UpscaleParams> {
  const fields: Record<string, unknown> = {};
  for (const [field, spec] of REQUEST_FIELDS) {
    const setting = spec.setting;
    if (!setting || setting.copied === false) continue;
    // The table's setting keys are UpscaleSettings' (extension/config.ts derives them).
    const value = settings[setting.key as SettingKey];
    if (value !== setting.unset) fields[field] = value;
  }
  // Each value passed the setting's check of its field's kind (readSettings).
  return fields;
}

export function upscaleParams(
  input: string,
  outputFolder: string,
  spec: JobSpec,
  settings: UpscaleSettings,
  options: { previewWidth?: number } = {},
): UpscaleParams {
  const beside = samePath(outputFolder, path.dirname(path.resolve(input)));
  const fromSettings = settingFields(settings);
  const request = present({
    ...fromSettings,
    input,
    // A trailing separator tells the daemon this is a folder (it may not exist yet when
    // the request is built; the runner creates it first).
    output: beside ? undefined : asFolder(outputFolder),
    ...modelFields(spec, fromSettings.model),
    ...targetFields(spec.target),
    // The source is never overwritten and clashes get a new name: the daemon's default.
    overwrite: false,
    // Only with a preview panel open: the daemon then sends each finished tile as a PNG.
    previewWidth: options.previewWidth,
  });
  // A setting for a field that means something only with another is sent only with it.
  return Object.fromEntries(
    REQUEST_FIELDS.filter(([field]) => request[field] !== undefined && requirementsMet(field, request)).map(
      ([field]) => [field, request[field]],
    ),
  ) as UpscaleParams;
}

/** The model fields of a request: one model, or a chain when models run before it; the blend and TTA. */
function modelFields(spec: JobSpec, setting: string | undefined): Partial<UpscaleParams> {
  const model = spec.model ?? setting;
  const before = spec.before ?? [];
  if (before.length > 0 && model === undefined) throw new Error('a chain needs its upscaling model named');
  return {
    ...(before.length > 0 ? { chain: [...before, model].join(',') } : { model }),
    ...(spec.blend && { blend: `${spec.blend.model}:${spec.blend.weight}` }),
    ...(spec.tta !== undefined && spec.tta > 1 && { tta: spec.tta }),
  };
}

/** "photo.png → photo@4x.png (512×512 → 2048×2048, 2 passes, 2 min 27 s on cpu in fp32)": the panel's time format. */
export function describeResult(r: {
  input: string;
  outputPath: string;
  inputWidth: number;
  inputHeight: number;
  width: number;
  height: number;
  passes: number;
  provider: string;
  precision: string;
  timings: { totalMs: number };
}): string {
  const passes = `${r.passes} pass${r.passes === 1 ? '' : 'es'}`;
  return `${path.basename(r.input)} → ${path.basename(r.outputPath)} (${r.inputWidth}×${r.inputHeight} → ${r.width}×${r.height}, ${passes}, ${formatDuration(r.timings.totalMs)} on ${r.provider} in ${r.precision})`;
}

/** For the log, beside describeResult: why that provider and that precision ran the job. */
export function describeRunsOn(r: RunsOn): string {
  return `provider ${r.provider}: ${r.providerReason}; precision ${r.precision}: ${r.precisionReason}`;
}
