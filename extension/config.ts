// The `upscale.*` settings: their schema (the single source that package.json's
// contributes.configuration is checked against in test/unit/extension-config.test.ts) and
// the validation of raw values. Pure: the vscode side passes a getter, so every rule is
// unit-tested without an editor. A bad value never stops a job: it falls back to the
// default and the problem is reported naming the setting, the value and what was expected.
import {
  ALPHA_MODES,
  EXECUTION_PROVIDERS,
  OUTPUT_FORMATS,
  type AlphaMode,
  type ExecutionProviderChoice,
} from '../contract/vocabulary';
import { DEFAULT_OVERLAP, MAX_OVERLAP, MAX_TILE, MIN_TILE } from '../contract/limits';
import { TEMPLATE_FIELDS, templateExtension } from '../contract/naming';
import { formatOfExtension, WRITABLE_EXTENSIONS } from '../contract/formats';

export const SECTION = 'upscale';

export const OUTPUT_FORMAT_CHOICES = ['same-as-input', ...OUTPUT_FORMATS] as const;
export type OutputFormatChoice = (typeof OUTPUT_FORMAT_CHOICES)[number];

/** Tile side the daemon should use: chosen from a memory budget, or fixed (0 = whole image). */
export type TileSize = 'auto' | number;

export interface UpscaleSettings {
  /** Model id; empty means the daemon's default. */
  readonly defaultModel: string;
  readonly defaultScale: number;
  readonly outputNameTemplate: string;
  /** Empty: beside the source. Relative: resolved against the source image's folder. */
  readonly outputFolder: string;
  readonly outputFormat: OutputFormatChoice;
  readonly outputQuality: number;
  readonly tileSize: TileSize;
  readonly tileOverlap: number;
  readonly alphaHandling: AlphaMode;
  readonly executionProvider: ExecutionProviderChoice;
  /** Empty: the platform's data folder (decided by the daemon). */
  readonly modelsFolder: string;
  readonly maxOutputPixels: number;
  readonly openPreviewOnCompletion: boolean;
}

export type SettingKey = keyof UpscaleSettings;

/** JSON-schema fragment as VS Code reads it in contributes.configuration. */
export interface SettingSchema {
  readonly type: 'string' | 'number' | 'integer' | 'boolean' | readonly ('string' | 'integer')[];
  readonly default: string | number | boolean;
  readonly markdownDescription: string;
  readonly enum?: readonly string[];
  readonly enumDescriptions?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly scope?: 'application' | 'machine' | 'window' | 'resource' | 'machine-overridable';
  readonly order?: number;
}

/** Model ids are file names without extension; an empty one means "the daemon's default". */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export const DEFAULTS: UpscaleSettings = {
  defaultModel: '',
  defaultScale: 4,
  outputNameTemplate: '{name}@{scale}x.{ext}',
  outputFolder: '',
  outputFormat: 'same-as-input',
  outputQuality: 90,
  tileSize: 'auto',
  tileOverlap: DEFAULT_OVERLAP,
  alphaHandling: 'model',
  executionProvider: 'auto',
  modelsFolder: '',
  maxOutputPixels: 400_000_000,
  openPreviewOnCompletion: false,
};

export const MIN_SCALE = 1;
export const MAX_SCALE = 16;

export const SETTINGS_SCHEMA: Readonly<Record<SettingKey, SettingSchema>> = {
  defaultModel: {
    type: 'string',
    default: DEFAULTS.defaultModel,
    order: 0,
    pattern: '^([A-Za-z0-9][A-Za-z0-9._+-]*)?$',
    markdownDescription:
      'Model used by **Upscale Image** (a model id from **Upscale: Show Models**). Empty: the built-in default, `realesr-general-x4v3`.',
  },
  defaultScale: {
    type: 'number',
    default: DEFAULTS.defaultScale,
    minimum: MIN_SCALE,
    maximum: MAX_SCALE,
    order: 1,
    markdownDescription:
      "Scale factor used by **Upscale Image**. Above the model's own scale the model runs again (at most 3 passes), then Lanczos gives the exact size.",
  },
  outputNameTemplate: {
    type: 'string',
    default: DEFAULTS.outputNameTemplate,
    order: 2,
    markdownDescription:
      'File name of the result. Fields: `{name}` (source name without extension), `{scale}`, `{width}`, `{height}`, `{model}`, `{ext}`. A literal extension (`{name}-big.png`) decides the format, so it must agree with **Output Format**; a name without one needs **Output Format** set. An existing file is never replaced: a clash gets ` (2)`, ` (3)`, … appended.',
  },
  outputFolder: {
    type: 'string',
    default: DEFAULTS.outputFolder,
    order: 3,
    scope: 'resource',
    markdownDescription:
      "Folder for results. Empty: beside the source image. A relative path is resolved against the source image's folder (for example `upscaled`); it is created when missing.",
  },
  outputFormat: {
    type: 'string',
    default: DEFAULTS.outputFormat,
    enum: OUTPUT_FORMAT_CHOICES,
    order: 4,
    enumDescriptions: [
      'Keep the source format (GIF, BMP and other formats Upscale cannot write become PNG).',
      'PNG (lossless, keeps alpha and 16-bit).',
      'JPEG (lossy, no alpha).',
      'WebP (at most 16383 pixels per side).',
      'TIFF (lossless, keeps alpha and 16-bit).',
      'AVIF (at most 16384 pixels per side).',
    ],
    markdownDescription: 'Format of the result.',
  },
  outputQuality: {
    type: 'integer',
    default: DEFAULTS.outputQuality,
    minimum: 1,
    maximum: 100,
    order: 5,
    markdownDescription: 'Quality of lossy formats (JPEG, WebP, AVIF), 1 to 100.',
  },
  tileSize: {
    type: ['string', 'integer'],
    default: DEFAULTS.tileSize,
    order: 6,
    markdownDescription: `Input pixels each tile covers: \`"auto"\` picks from a memory budget; a number from ${MIN_TILE} to ${MAX_TILE} fixes it; \`0\` runs the whole image at once (needs the most memory).`,
  },
  tileOverlap: {
    type: 'integer',
    default: DEFAULTS.tileOverlap,
    minimum: 0,
    maximum: MAX_OVERLAP,
    order: 7,
    markdownDescription:
      'Context added on each side of a tile, in input pixels; neighbouring tiles blend across twice this, so seams do not show.',
  },
  alphaHandling: {
    type: 'string',
    default: DEFAULTS.alphaHandling,
    enum: ALPHA_MODES,
    order: 8,
    enumDescriptions: [
      'Upscale the alpha channel with the model too (sharper edges).',
      'Resize the alpha channel with Lanczos (faster).',
    ],
    markdownDescription: "How an image's transparency is upscaled.",
  },
  executionProvider: {
    type: 'string',
    default: DEFAULTS.executionProvider,
    enum: EXECUTION_PROVIDERS,
    order: 9,
    scope: 'machine',
    enumDescriptions: [
      'The fastest accelerator this machine has, else the CPU (the reason is in the log).',
      'The CPU.',
      'NVIDIA CUDA (needs the onnxruntime CUDA files, see the README).',
      'WebGPU.',
      'DirectML (Windows).',
      'Core ML (macOS).',
    ],
    markdownDescription:
      'Where the models run. Applies when the daemon starts: use **Upscale: Restart Daemon** after changing it. Ignored in untrusted workspaces.',
  },
  modelsFolder: {
    type: 'string',
    default: DEFAULTS.modelsFolder,
    order: 10,
    scope: 'machine',
    markdownDescription:
      "Absolute path of the folder with your own models (`.onnx`, `.pth`, `.safetensors`, ncnn `.param` + `.bin`). Empty: the platform's data folder (`~/.local/share/upscale/models` on Linux). Ignored in untrusted workspaces.",
  },
  maxOutputPixels: {
    type: 'integer',
    default: DEFAULTS.maxOutputPixels,
    minimum: 1_000_000,
    maximum: 4_000_000_000,
    order: 11,
    markdownDescription:
      'Largest result (and intermediate pass), in pixels; larger jobs are refused before any work starts.',
  },
  openPreviewOnCompletion: {
    type: 'boolean',
    default: DEFAULTS.openPreviewOnCompletion,
    order: 12,
    markdownDescription:
      'Open the side-by-side preview when a single-image job starts, filling in tile by tile, instead of only offering **Compare** when it finishes.',
  },
};

/**
 * Settings that must not come from an untrusted workspace: they choose what code runs and
 * from where, or where files are written and under which names.
 */
export const RESTRICTED_SETTINGS: readonly SettingKey[] = [
  'modelsFolder',
  'executionProvider',
  'outputFolder',
  'outputNameTemplate',
];

export interface SettingsReading {
  readonly settings: UpscaleSettings;
  /** One sentence per rejected value; each names the setting, the value and what was expected. */
  readonly problems: readonly string[];
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly get: (key: SettingKey) => unknown) {}

  reject<K extends SettingKey>(key: K, value: unknown, expected: string): UpscaleSettings[K] {
    const fallback = DEFAULTS[key];
    this.problems.push(`${SECTION}.${key} is ${show(value)}; expected ${expected}. Using ${show(fallback)}.`);
    return fallback;
  }

  raw(key: SettingKey): unknown {
    const value = this.get(key);
    return value === undefined || value === null ? DEFAULTS[key] : value;
  }

  string(key: 'defaultModel' | 'outputNameTemplate' | 'outputFolder' | 'modelsFolder'): string {
    const value = this.raw(key);
    return typeof value === 'string' ? value.trim() : this.reject(key, value, 'a string');
  }

  number(
    key: 'defaultScale' | 'outputQuality' | 'tileOverlap' | 'maxOutputPixels',
    min: number,
    max: number,
    integer: boolean,
  ): number {
    const value = this.raw(key);
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= min &&
      value <= max &&
      (!integer || Number.isInteger(value));
    return ok ? value : this.reject(key, value, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }

  choice<K extends 'outputFormat' | 'alphaHandling' | 'executionProvider'>(
    key: K,
    choices: readonly UpscaleSettings[K][],
  ): UpscaleSettings[K] {
    const value = this.raw(key);
    return (choices as readonly unknown[]).includes(value)
      ? (value as UpscaleSettings[K])
      : this.reject(key, value, `one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  }
}

/**
 * Problems with an output name template, or null: the daemon's rules (contract/naming.ts,
 * and formatForName in contract/formats.ts: a literal extension decides the format, so it
 * must be writable and agree with `format`), phrased as what the setting expects.
 */
export function templateProblem(template: string, format: OutputFormatChoice = 'same-as-input'): string | null {
  if (template.length === 0) return 'a non-empty file name template';
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1] as string)) {
      return `a template using only ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')} (not {${m[1]}})`;
    }
  }
  if (/[/\\]/.test(template) || template === '.' || template === '..') return 'a plain file name (no / or \\)';
  const ext = templateExtension(template);
  if (ext === '{ext}') return null;
  const chosen = format === 'same-as-input' ? null : format;
  if (ext === '')
    return chosen
      ? null
      : `a name with an extension, .{ext} or one of ${WRITABLE_EXTENSIONS}, since the extension decides the format`;
  const named = formatOfExtension(ext);
  if (named === null) return `a name ending in .{ext} or one of ${WRITABLE_EXTENSIONS} (not "${ext}")`;
  if (chosen && named !== chosen)
    return `an extension that agrees with upscale.outputFormat "${chosen}" (.{ext} always does), not "${ext}"`;
  return null;
}

export function readSettings(get: (key: SettingKey) => unknown): SettingsReading {
  const r = new Reader(get);
  let defaultModel = r.string('defaultModel');
  if (defaultModel !== '' && !MODEL_ID.test(defaultModel)) {
    defaultModel = r.reject(
      'defaultModel',
      defaultModel,
      'a model id such as "realesr-general-x4v3" (letters, digits, . _ + -), or empty for the default',
    );
  }
  const outputFormat = r.choice('outputFormat', OUTPUT_FORMAT_CHOICES);
  let outputNameTemplate = r.string('outputNameTemplate');
  const templateIssue = templateProblem(outputNameTemplate, outputFormat);
  if (templateIssue) outputNameTemplate = r.reject('outputNameTemplate', outputNameTemplate, templateIssue);
  let modelsFolder = r.string('modelsFolder');
  if (modelsFolder !== '' && !isAbsolutePath(modelsFolder))
    modelsFolder = r.reject('modelsFolder', modelsFolder, 'an absolute folder path, or empty for the default');
  const settings: UpscaleSettings = {
    defaultModel,
    defaultScale: r.number('defaultScale', MIN_SCALE, MAX_SCALE, false),
    outputNameTemplate,
    outputFolder: r.string('outputFolder'),
    outputFormat,
    outputQuality: r.number('outputQuality', 1, 100, true),
    tileSize: readTileSize(r),
    tileOverlap: r.number('tileOverlap', 0, MAX_OVERLAP, true),
    alphaHandling: r.choice('alphaHandling', ALPHA_MODES),
    executionProvider: r.choice('executionProvider', EXECUTION_PROVIDERS),
    modelsFolder,
    maxOutputPixels: r.number('maxOutputPixels', 1_000_000, 4_000_000_000, true),
    openPreviewOnCompletion: readBoolean(r, 'openPreviewOnCompletion'),
  };
  return { settings, problems: r.problems };
}

function readBoolean(r: Reader, key: 'openPreviewOnCompletion'): boolean {
  const value = r.raw(key);
  return typeof value === 'boolean' ? value : r.reject(key, value, 'true or false');
}

function readTileSize(r: Reader): TileSize {
  const value = r.raw('tileSize');
  // Settings JSON can hold "512" as a string; accept it rather than make the user hunt for quotes.
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (n === 'auto') return 'auto';
  if (typeof n === 'number' && Number.isInteger(n) && (n === 0 || (n >= MIN_TILE && n <= MAX_TILE))) return n;
  return r.reject(
    'tileSize',
    value,
    `"auto", 0 (the whole image) or a whole number of pixels from ${MIN_TILE} to ${MAX_TILE}`,
  );
}

/** Absolute on this platform or on Windows (settings may be shared between machines). */
function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\') || p.startsWith('~/');
}
