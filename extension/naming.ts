// Where a job's result will go, computed before the job runs: for the "Upscale Image
// With…" descriptions and for creating the output folder. The daemon decides the final
// name (it also resolves clashes with " (2)"); this mirrors its template rules
// (daemon/engine/output-path.ts) and reuses its helpers so the two cannot drift apart.
import * as path from 'node:path';
import { scaleLabel } from '../contract/naming';
import { formatFromExtension } from '../contract/formats';
import type { OutputFormat } from '../contract/vocabulary';
import type { OutputFormatChoice } from './config';
import type { Target } from '../contract/vocabulary';

/** Output format for a source: the asked one, else the source's, else PNG (gif, bmp). */
export function outputFormatOf(input: string, choice: OutputFormatChoice): OutputFormat {
  if (choice !== 'same-as-input') return choice;
  return formatFromExtension(input) ?? 'png';
}

/** The folder results go to: beside the source, or `outputFolder` (relative to the source's folder). */
export function outputFolderOf(input: string, outputFolder: string): string {
  const sourceFolder = path.dirname(input);
  if (outputFolder === '') return sourceFolder;
  return path.resolve(sourceFolder, outputFolder);
}

export interface NamePreview {
  readonly input: string;
  readonly template: string;
  readonly target: Target;
  readonly model: string;
  readonly format: OutputFormatChoice;
  /** The source's size when known; without it {width}/{height} of a scale target show as "W"/"H". */
  readonly inputSize?: { readonly width: number; readonly height: number };
}

function finalSize(p: NamePreview): { width?: number; height?: number; scale?: number } {
  const { target, inputSize } = p;
  if (target.kind === 'scale') {
    return inputSize
      ? {
          width: Math.round(inputSize.width * target.scale),
          height: Math.round(inputSize.height * target.scale),
          scale: target.scale,
        }
      : { scale: target.scale };
  }
  if (target.width !== undefined && target.height !== undefined) {
    return { width: target.width, height: target.height, ...(inputSize && { scale: target.width / inputSize.width }) };
  }
  if (!inputSize)
    return {
      ...(target.width !== undefined && { width: target.width }),
      ...(target.height !== undefined && { height: target.height }),
    };
  const scale = target.width !== undefined ? target.width / inputSize.width : (target.height ?? 0) / inputSize.height;
  return { width: Math.round(inputSize.width * scale), height: Math.round(inputSize.height * scale), scale };
}

/** The file name the daemon will give the result (before clash handling). */
export function previewOutputName(p: NamePreview): string {
  const size = finalSize(p);
  const parts: Record<string, string> = {
    name: path.parse(p.input).name,
    scale: size.scale !== undefined ? scaleLabel(size.scale) : 'S',
    width: size.width !== undefined ? String(size.width) : 'W',
    height: size.height !== undefined ? String(size.height) : 'H',
    model: p.model,
    ext: outputFormatOf(p.input, p.format),
  };
  return p.template.replace(/\{([^}]*)\}/g, (whole, field: string) => parts[field] ?? whole);
}
