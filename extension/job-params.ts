// The `upscale` request for one image, from the settings, the chosen model and target,
// and where the result goes. Pure: what the daemon is asked is unit-tested.
import * as path from 'node:path';
import type { UpscaleParams } from '../contract/protocol';
import type { UpscaleSettings } from './config';
import type { Target } from '../contract/vocabulary';

export interface JobSpec {
  /** Model id; undefined: the default model setting, else the daemon's default. */
  readonly model?: string;
  readonly target: Target;
}

export function upscaleParams(
  input: string,
  outputFolder: string,
  spec: JobSpec,
  settings: UpscaleSettings,
  options: { previewWidth?: number } = {},
): UpscaleParams {
  const model = spec.model ?? (settings.defaultModel === '' ? undefined : settings.defaultModel);
  const { target } = spec;
  const beside = path.resolve(outputFolder) === path.dirname(path.resolve(input));
  return {
    input,
    // A trailing separator tells the daemon this is a folder (it may not exist yet when
    // the request is built; the runner creates it first).
    ...(!beside && { output: outputFolder.endsWith(path.sep) ? outputFolder : outputFolder + path.sep }),
    template: settings.outputNameTemplate,
    ...(model !== undefined && { model }),
    ...(target.kind === 'scale'
      ? { scale: target.scale }
      : {
          ...(target.width !== undefined && { width: target.width }),
          ...(target.height !== undefined && { height: target.height }),
        }),
    ...(settings.tileSize !== 'auto' && { tile: settings.tileSize }),
    overlap: settings.tileOverlap,
    ...(settings.outputFormat !== 'same-as-input' && { format: settings.outputFormat }),
    quality: settings.outputQuality,
    alpha: settings.alphaHandling,
    // The source is never overwritten and clashes get a new name: the daemon's default.
    overwrite: false,
    // Only with a preview panel open: the daemon then sends each finished tile as a PNG.
    ...(options.previewWidth !== undefined && { previewWidth: options.previewWidth }),
  };
}

/** "photo.png → photo@4x.png (512×512 → 2048×2048, 2 passes, 3.2 s on cpu)". */
export function describeResult(r: {
  input: string;
  outputPath: string;
  inputWidth: number;
  inputHeight: number;
  width: number;
  height: number;
  passes: number;
  provider: string;
  timings: { totalMs: number };
}): string {
  const passes = `${r.passes} pass${r.passes === 1 ? '' : 'es'}`;
  return `${path.basename(r.input)} → ${path.basename(r.outputPath)} (${r.inputWidth}×${r.inputHeight} → ${r.width}×${r.height}, ${passes}, ${(r.timings.totalMs / 1000).toFixed(1)} s on ${r.provider})`;
}
