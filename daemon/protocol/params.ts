// Per-method parameter parsing: unknown JSON in, typed params out, or an InvalidParams
// error that names the field, the value and what was expected.
import * as path from 'node:path';
import { DaemonError } from './errors';
import {
  ACTIVATIONS,
  ALPHA_MODES,
  EXECUTION_PROVIDERS,
  FITS,
  OUTPUT_FORMATS,
  PADDINGS,
  PRECISIONS,
  type CancelParams,
  type InitializeParams,
  type ModelIdParams,
  type ModelsImportParams,
  type UpscaleParams,
} from './protocol';
import {
  onlyKnown,
  optionalBoolean,
  optionalEnum,
  optionalNumber,
  optionalString,
  paramsObject,
  requestId,
  requiredString,
} from './validate';

const MAX_SIDE = 1_000_000;

function absolutePath(method: string, field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!path.isAbsolute(value)) {
    throw new DaemonError(
      'InvalidParams',
      `${method}: '${field}' is "${value.slice(0, 80)}"; expected an absolute path`,
    );
  }
  if (value.includes('\0')) throw new DaemonError('InvalidParams', `${method}: '${field}' contains a NUL character`);
  return path.normalize(value);
}

export function parseInitialize(raw: unknown): InitializeParams {
  const m = 'initialize';
  const p = paramsObject(m, raw);
  onlyKnown(m, p, ['clientName', 'provider', 'precision', 'modelsFolder', 'maxInputPixels', 'maxOutputPixels']);
  const modelsFolder = absolutePath(m, 'modelsFolder', optionalString(m, p, 'modelsFolder'));
  const clientName = optionalString(m, p, 'clientName', 200);
  const provider = optionalEnum(m, p, 'provider', EXECUTION_PROVIDERS);
  const precision = optionalEnum(m, p, 'precision', PRECISIONS);
  const maxInputPixels = optionalNumber(m, p, 'maxInputPixels', { min: 1, max: 1e12, integer: true });
  const maxOutputPixels = optionalNumber(m, p, 'maxOutputPixels', { min: 1, max: 1e12, integer: true });
  return {
    ...(clientName !== undefined && { clientName }),
    ...(provider !== undefined && { provider }),
    ...(precision !== undefined && { precision }),
    ...(modelsFolder !== undefined && { modelsFolder }),
    ...(maxInputPixels !== undefined && { maxInputPixels }),
    ...(maxOutputPixels !== undefined && { maxOutputPixels }),
  };
}

export function parseNoParams(method: string, raw: unknown): Record<string, never> {
  const p = paramsObject(method, raw);
  onlyKnown(method, p, []);
  return {};
}

export function parseModelId(method: string, raw: unknown): ModelIdParams {
  const p = paramsObject(method, raw);
  onlyKnown(method, p, ['id']);
  return { id: requiredString(method, p, 'id', 200) };
}

export function parseImport(raw: unknown): ModelsImportParams {
  const m = 'models/import';
  const p = paramsObject(m, raw);
  onlyKnown(m, p, ['path', 'activation']);
  const file = absolutePath(m, 'path', requiredString(m, p, 'path')) as string;
  const activation = optionalEnum(m, p, 'activation', ACTIVATIONS);
  return { path: file, ...(activation !== undefined && { activation }) };
}

export function parseCancel(raw: unknown): CancelParams {
  const m = '$/cancelRequest';
  const p = paramsObject(m, raw);
  return { id: requestId(m, p, 'id') };
}

export function parseUpscale(raw: unknown): UpscaleParams {
  const m = 'upscale';
  const p = paramsObject(m, raw);
  onlyKnown(m, p, [
    'input',
    'output',
    'template',
    'model',
    'scale',
    'width',
    'height',
    'fit',
    'tile',
    'overlap',
    'format',
    'quality',
    'alpha',
    'overwrite',
    'previewWidth',
    'background',
    'padding',
    'dryRun',
    'sidecar',
  ]);
  const input = absolutePath(m, 'input', requiredString(m, p, 'input')) as string;
  const output = absolutePath(m, 'output', optionalString(m, p, 'output'));
  const template = optionalString(m, p, 'template', 255);
  const model = optionalString(m, p, 'model', 200);
  const scale = optionalNumber(m, p, 'scale', { min: 0, max: 64, exclusiveMin: true });
  const width = optionalNumber(m, p, 'width', { min: 1, max: MAX_SIDE, integer: true });
  const height = optionalNumber(m, p, 'height', { min: 1, max: MAX_SIDE, integer: true });
  const fit = optionalEnum(m, p, 'fit', FITS);
  const tile = optionalNumber(m, p, 'tile', { min: 0, max: 8192, integer: true });
  const overlap = optionalNumber(m, p, 'overlap', { min: 0, max: 256, integer: true });
  const format = optionalEnum(m, p, 'format', OUTPUT_FORMATS);
  const quality = optionalNumber(m, p, 'quality', { min: 1, max: 100, integer: true });
  const alpha = optionalEnum(m, p, 'alpha', ALPHA_MODES);
  const overwrite = optionalBoolean(m, p, 'overwrite');
  const previewWidth = optionalNumber(m, p, 'previewWidth', { min: 16, max: 16384, integer: true });
  const background = optionalString(m, p, 'background', 20);
  const padding = optionalEnum(m, p, 'padding', PADDINGS);
  const dryRun = optionalBoolean(m, p, 'dryRun');
  const sidecar = optionalBoolean(m, p, 'sidecar');
  if (background !== undefined && parseBackground(background) === null) {
    throw new DaemonError(
      'InvalidParams',
      `${m}: 'background' is "${background}"; expected #rrggbb, #rgb or transparent`,
    );
  }

  if (scale !== undefined && (width !== undefined || height !== undefined)) {
    throw new DaemonError('InvalidParams', `${m}: give either 'scale' or 'width'/'height', not both`);
  }
  if (fit !== undefined && (width === undefined || height === undefined)) {
    throw new DaemonError('InvalidParams', `${m}: 'fit' applies only when both 'width' and 'height' are given`);
  }
  if (tile !== undefined && tile !== 0 && tile < 32) {
    throw new DaemonError('InvalidParams', `${m}: 'tile' is ${tile}; expected 0 (whole image) or at least 32`);
  }
  return {
    input,
    ...(output !== undefined && { output }),
    ...(template !== undefined && { template }),
    ...(model !== undefined && { model }),
    ...(scale !== undefined && { scale }),
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    ...(fit !== undefined && { fit }),
    ...(tile !== undefined && { tile }),
    ...(overlap !== undefined && { overlap }),
    ...(format !== undefined && { format }),
    ...(quality !== undefined && { quality }),
    ...(alpha !== undefined && { alpha }),
    ...(overwrite !== undefined && { overwrite }),
    ...(previewWidth !== undefined && { previewWidth }),
    ...(background !== undefined && { background }),
    ...(padding !== undefined && { padding }),
    ...(dryRun !== undefined && { dryRun }),
    ...(sidecar !== undefined && { sidecar }),
  };
}

/** An RGBA colour with channels in [0, 1]. */
export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

/** `#rrggbb`, `#rgb` or `transparent` (case-insensitive) as RGBA in [0, 1]; null when it is none of those. */
export function parseBackground(text: string): Rgba | null {
  const t = text.trim().toLowerCase();
  if (t === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(t);
  if (long)
    return {
      r: parseInt(long[1] as string, 16) / 255,
      g: parseInt(long[2] as string, 16) / 255,
      b: parseInt(long[3] as string, 16) / 255,
      a: 1,
    };
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(t);
  if (short)
    return {
      r: parseInt(short[1] as string, 16) / 15,
      g: parseInt(short[2] as string, 16) / 15,
      b: parseInt(short[3] as string, 16) / 15,
      a: 1,
    };
  return null;
}
