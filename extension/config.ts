// The `upscale.*` settings: their schema (the single source that package.json's
// contributes.configuration is checked against in test/unit/extension-manifest.test.ts) and
// the validation of raw values. The settings that give a request field its value, and their
// kinds, ranges and defaults, come from the request's field table (contract/request.ts); the
// others (where models run, the models folder, the output limit, the preview) are the
// editor's own. Pure: the vscode side passes a getter, so every rule is unit-tested without
// an editor. A bad value never stops a job: it falls back to the default and the problem is
// reported naming the setting, the value and what was expected.
import { MAX_TILE, MIN_TILE } from '../contract/limits';
import { fileNameProblem, TEMPLATE_FIELDS, templateExtension } from '../contract/naming';
import { pathsFor } from '../contract/paths';
import { formatOfExtension, WRITABLE_EXTENSIONS } from '../contract/formats';
import { REQUEST_FIELDS, UPSCALE_FIELDS, type RequestField, type SettingSpec } from '../contract/request';
import { present, type Kind, type ValueOf } from '../contract/validate';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../contract/vocabulary';

export const SECTION = 'upscale';

type Fields = typeof UPSCALE_FIELDS;
/** The request fields an editor setting gives a value. */
type SettingField = {
  [F in keyof Fields]: Fields[F] extends { readonly setting: SettingSpec } ? F : never;
}[keyof Fields];
type SettingOf<F extends SettingField> = Fields[F] extends { readonly setting: infer S } ? S : never;
type SettingValueOf<F extends SettingField> =
  ValueOf<Fields[F]['kind']> | (SettingOf<F> extends { readonly unset: infer U } ? U : never);

/** The settings that give request fields their values, named as the editor names them. */
export type RequestSettings = {
  readonly [
    F in SettingField as SettingOf<F> extends { readonly key: infer K extends string } ? K : never
  ]: SettingValueOf<F>;
};

export interface UpscaleSettings extends RequestSettings {
  readonly executionProvider: ExecutionProviderChoice;
  /** Empty: the platform's data folder (decided by the daemon). */
  readonly modelsFolder: string;
  readonly maxOutputPixels: number;
  readonly livePreview: boolean;
}

export type SettingKey = keyof UpscaleSettings;
export type OutputFormatChoice = UpscaleSettings['outputFormat'];
export type TileSize = UpscaleSettings['tileSize'];

/** JSON-schema fragment as VS Code reads it in contributes.configuration. */
export interface SettingSchema {
  readonly type: 'string' | 'number' | 'integer' | 'boolean';
  readonly default: string | number | boolean;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly order?: number;
  readonly pattern?: string;
  readonly patternErrorMessage?: string;
  readonly scope?: 'application' | 'machine' | 'window' | 'resource' | 'machine-overridable';
  readonly enumDescriptions?: readonly string[];
  readonly markdownDescription: string;
}

/** The request fields with a setting, in the table's order. */
const SETTING_FIELDS: readonly { readonly spec: RequestField; readonly setting: SettingSpec }[] =
  REQUEST_FIELDS.flatMap(([, spec]) => (spec.setting ? [{ spec, setting: spec.setting }] : []));

/** The range a setting accepts: the field's, narrowed where the setting says. */
function settingRange(kind: Kind, setting: SettingSpec): { min: number; max: number } | null {
  if (kind.type !== 'number') return null;
  return { min: setting.min ?? kind.min, max: setting.max ?? kind.max };
}

/** A request field's setting as package.json declares it: the field's kind, with the setting's own parts. */
function requestSettingSchema(kind: Kind, setting: SettingSpec): SettingSchema {
  const range = settingRange(kind, setting);
  // A number setting with a word for "the daemon decides" ("auto") is text, which its
  // pattern limits: the Settings editor edits a string or a number, never a choice of the two.
  const unsetNumber = kind.type === 'number' && setting.unset !== undefined;
  if (unsetNumber && setting.pattern === undefined)
    throw new Error(`upscale.${setting.key} takes a number or "${setting.unset}" and needs a pattern`);
  const type: SettingSchema['type'] = unsetNumber
    ? 'string'
    : kind.type === 'number'
      ? kind.integer
        ? 'integer'
        : 'number'
      : kind.type === 'boolean'
        ? 'boolean'
        : 'string';
  const choices =
    kind.type === 'choice' ? [...(setting.unset === undefined ? [] : [setting.unset]), ...kind.choices] : undefined;
  const bounded = range !== null && !unsetNumber;
  return present({
    type,
    default: setting.default,
    enum: choices,
    minimum: bounded ? range.min : undefined,
    maximum: bounded ? range.max : undefined,
    order: setting.order,
    pattern: setting.pattern,
    patternErrorMessage: setting.patternErrorMessage,
    scope: setting.scope,
    enumDescriptions: setting.enumDescriptions,
    markdownDescription: setting.markdownDescription,
  });
}

/**
 * Where a machine setting is set. VS Code applies a `machine` setting only from the
 * settings of the machine the extension runs on: in a remote window, the Remote tab, not
 * the User tab (whose value is the local machine's). A path or a GPU choice is one
 * machine's, so the scope stays; the description says where to look.
 */
const MACHINE_SCOPE_NOTE =
  'A machine setting: in a remote window (Remote - SSH, WSL, Dev Containers, Codespaces, code-server) set it on the **Remote** tab of the Settings editor, for the machine the images are on; a value on the **User** tab applies to local windows.';

/** The editor's own settings: not request fields. */
const EDITOR_SETTINGS = {
  executionProvider: {
    type: 'string',
    default: 'auto',
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
    markdownDescription: `Where the models run. Applies when the daemon starts: use **Upscale: Restart Daemon** after changing it. Ignored in untrusted workspaces. ${MACHINE_SCOPE_NOTE}`,
  },
  modelsFolder: {
    type: 'string',
    default: '',
    order: 10,
    scope: 'machine',
    markdownDescription: `Absolute path of the folder with your own models (\`.onnx\`, \`.pth\`, \`.safetensors\`, ncnn \`.param\` + \`.bin\`), or one under your home folder (\`~/models\`; on Windows \`~\\models\` too). Empty: the system's folder for application data: \`%LOCALAPPDATA%\\upscale\\models\` on Windows, \`~/Library/Application Support/upscale/models\` on macOS, \`$XDG_DATA_HOME/upscale/models\` (\`~/.local/share/upscale/models\`) on Linux. Ignored in untrusted workspaces. ${MACHINE_SCOPE_NOTE}`,
  },
  maxOutputPixels: {
    type: 'integer',
    default: 400_000_000,
    minimum: 1_000_000,
    maximum: 4_000_000_000,
    order: 11,
    markdownDescription:
      'Largest result (and intermediate pass), in pixels; larger jobs are refused before any work starts.',
  },
  livePreview: {
    type: 'boolean',
    default: true,
    order: 12,
    markdownDescription:
      'Open the compare panel (original and result side by side) as soon as a single-image job starts, beside the image, and fill it in tile by tile with the time left. Off: the finished job offers **Compare** in its notification instead. Batches and folders never open it.',
  },
} as const satisfies Record<string, SettingSchema>;

/** Every setting, in the order the Settings editor shows them. */
export const SETTINGS_SCHEMA: Readonly<Record<SettingKey, SettingSchema>> =
  // The request fields' settings carry their keys; the table's types say they are these.
  Object.fromEntries(
    [
      ...SETTING_FIELDS.map(({ spec, setting }) => [setting.key, requestSettingSchema(spec.kind, setting)] as const),
      ...Object.entries(EDITOR_SETTINGS),
    ].sort(([, a], [, b]) => (a.order ?? 0) - (b.order ?? 0)),
  ) as Record<SettingKey, SettingSchema>;

export const DEFAULTS: UpscaleSettings = {
  // Each default is the one its schema declares.
  ...(Object.fromEntries(Object.entries(SETTINGS_SCHEMA).map(([key, s]) => [key, s.default])) as RequestSettings),
  executionProvider: EDITOR_SETTINGS.executionProvider.default,
  modelsFolder: EDITOR_SETTINGS.modelsFolder.default,
  maxOutputPixels: EDITOR_SETTINGS.maxOutputPixels.default,
  livePreview: EDITOR_SETTINGS.livePreview.default,
};

/** The scale factors the editor offers (Upscale Image With…, and upscale.defaultScale). */
export const MIN_SCALE = UPSCALE_FIELDS.scale.setting.min;
export const MAX_SCALE = UPSCALE_FIELDS.scale.setting.max;

/** Model ids are file names without extension; an empty one means "the daemon's default". */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

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

  /** The setting's value as `accept` takes it; else, with a problem said, its default taken the same way. */
  private read<T>(key: SettingKey, accept: (value: unknown) => T | undefined, expected: string): T {
    const value = this.raw(key);
    const taken = accept(value);
    if (taken !== undefined) return taken;
    const fallback = accept(this.reject(key, value, expected));
    if (fallback === undefined) throw new Error(`the default of ${SECTION}.${key} breaks its own rule: ${expected}`);
    return fallback;
  }

  string(key: SettingKey): string {
    return this.read(key, (v) => (typeof v === 'string' ? v.trim() : undefined), 'a string');
  }

  number(key: SettingKey, min: number, max: number, integer: boolean): number {
    const accept = (v: unknown) =>
      typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
        ? v
        : undefined;
    return this.read(key, accept, `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }

  choice<C extends string>(key: SettingKey, choices: readonly C[]): C {
    return this.read(key, (v) => choices.find((c) => c === v), `one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  }

  boolean(key: SettingKey): boolean {
    return this.read(key, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false');
  }

  /** A request field's setting, by the field's kind and the setting's range and choices. */
  requestSetting(kind: Kind, setting: SettingSpec): unknown {
    // Keys come from the table, whose settings UpscaleSettings is derived from.
    const key = setting.key as SettingKey;
    if (key === 'tileSize') return readTileSize(this);
    const range = settingRange(kind, setting);
    switch (kind.type) {
      case 'number':
        return range ? this.number(key, range.min, range.max, kind.integer === true) : undefined;
      case 'choice':
        return this.choice(key, [...(setting.unset === undefined ? [] : [setting.unset]), ...kind.choices]);
      case 'boolean':
        return this.boolean(key);
      case 'string':
      case 'path':
        return this.string(key);
    }
  }
}

/**
 * Problems with an output name template, or null: the daemon's rules (contract/naming.ts,
 * and formatForName in contract/formats.ts: a literal extension decides the format, so it
 * must be writable and agree with `format`), phrased as what the setting expects.
 */
export function templateProblem(
  template: string,
  format: OutputFormatChoice = 'same-as-input',
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (template.length === 0) return 'a non-empty file name template';
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    const field = m[1] ?? '';
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      return `a template using only ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')} (not {${field}})`;
    }
  }
  if (/[/\\]/.test(template) || template === '.' || template === '..') return 'a plain file name (no / or \\)';
  // The template's own text, whatever the fields give (the daemon checks the filled-in name
  // again for each job): said here, once, rather than as a failure of every job on Windows.
  const textProblem = fileNameProblem(template.replace(/\{[^}]*\}/g, 'x'), pathsFor(platform));
  if (textProblem !== null) return `a file name this system can hold (without its fields, the name ${textProblem})`;
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

/** `platform`: the system whose file names and folders the settings must name (default: this one). */
export function readSettings(
  get: (key: SettingKey) => unknown,
  platform: NodeJS.Platform = process.platform,
): SettingsReading {
  const r = new Reader(get);
  const fromFields = Object.fromEntries(
    SETTING_FIELDS.map(({ spec, setting }) => [setting.key, r.requestSetting(spec.kind, setting)]),
  ) as RequestSettings;
  let { defaultModel, outputNameTemplate } = fromFields;
  if (defaultModel !== '' && !MODEL_ID.test(defaultModel)) {
    defaultModel = r.reject(
      'defaultModel',
      defaultModel,
      'a model id such as "realesr-general-x4v3" (letters, digits, . _ + -), or empty for the default',
    );
  }
  const templateIssue = templateProblem(outputNameTemplate, fromFields.outputFormat, platform);
  if (templateIssue) outputNameTemplate = r.reject('outputNameTemplate', outputNameTemplate, templateIssue);
  let modelsFolder = r.string('modelsFolder');
  if (modelsFolder !== '' && !isFolderSetting(modelsFolder, platform))
    modelsFolder = r.reject(
      'modelsFolder',
      modelsFolder,
      'an absolute folder path or one under ~ on this system, or empty for the default',
    );
  const { maxOutputPixels } = EDITOR_SETTINGS;
  const settings: UpscaleSettings = {
    ...fromFields,
    defaultModel,
    outputNameTemplate,
    executionProvider: r.choice('executionProvider', EXECUTION_PROVIDERS),
    modelsFolder,
    maxOutputPixels: r.number('maxOutputPixels', maxOutputPixels.minimum, maxOutputPixels.maximum, true),
    livePreview: r.boolean('livePreview'),
  };
  return { settings, problems: r.problems };
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

/** `~`, `~/…`, and on Windows `~\…`: a folder under the home folder. */
function homeRelative(value: string, platform: NodeJS.Platform): boolean {
  return platform === 'win32' ? /^~($|[\\/])/.test(value) : /^~($|\/)/.test(value);
}

/**
 * Whether a folder setting names a folder on `platform`: one under the home folder, or an
 * absolute path (on Windows a drive's, C:\ or C:/, or a share's, \\server\share); not a
 * relative path, nor another system's (the setting is machine-scoped, never synced).
 */
export function isFolderSetting(value: string, platform: NodeJS.Platform): boolean {
  if (homeRelative(value, platform)) return true;
  return platform === 'win32' ? /^([A-Za-z]:[\\/]|[\\/]{2}[^\\/])/.test(value) : value.startsWith('/');
}

/** The folder a folder setting names on `platform` (one isFolderSetting accepts), resolved. */
export function folderOfSetting(value: string, platform: NodeJS.Platform, homedir: string): string {
  const paths = pathsFor(platform);
  return homeRelative(value, platform) ? paths.join(homedir, value.slice(1)) : paths.resolve(value);
}
