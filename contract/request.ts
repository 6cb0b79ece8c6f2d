// One description of an `upscale` request: each field's kind and range, its default, its
// command-line flag, its editor setting and one line of documentation. The request's type,
// the daemon's validation (parseUpscale), the command line (daemon/cli-args.ts), the
// editor's settings (extension/config.ts, and through them package.json) and the README's
// option table (scripts/readme-options.ts) are all derived from it: a new option is one
// entry here, plus the code that acts on it.
import { DEFAULT_TEMPLATE } from './naming';
import {
  DEFAULT_OVERLAP,
  MAX_MEMORY_BUDGET_MIB,
  MAX_OVERLAP,
  MAX_SCALE,
  MAX_SIDE,
  MAX_THREADS,
  MAX_TILE,
  MIN_MEMORY_BUDGET_MIB,
  MIN_TILE,
} from './limits';
import { parseFields, present, type FieldSpec, type FieldValues } from './validate';
import { DaemonError } from './errors';
import { ALPHA_MODES, FITS, OUTPUT_FORMATS, PADDINGS, PRECISIONS, TTA_LEVELS, type Target } from './vocabulary';

/** How the command line takes a field: its flags, and the name of its value in the usage (none for a switch). */
export interface CliSpec {
  readonly flags: readonly string[];
  readonly value?: string;
  /** The value of the flag given alone (the word after it is not a number): `--tta` is `--tta 8`. */
  readonly bare?: number;
  /** The field the flag's values go to, joined by commas, when it is given more than once (`-m A -m B` is `chain: 'A,B'`). */
  readonly again?: string;
}

/**
 * The editor setting `upscale.<key>` that gives a field its value in every job. Its JSON
 * schema in package.json is the field's kind with these overrides.
 */
export interface SettingSpec {
  readonly key: string;
  readonly order: number;
  readonly default: string | number | boolean;
  readonly markdownDescription: string;
  /** The setting's range, where it is narrower than the request's. */
  readonly min?: number;
  readonly max?: number;
  /** A value of the setting that leaves the field out of the request: the daemon then decides. */
  readonly unset?: string;
  readonly enumDescriptions?: readonly string[];
  /** What the Settings editor accepts as typed, and what it says about anything else. */
  readonly pattern?: string;
  readonly patternErrorMessage?: string;
  readonly scope?: 'application' | 'machine' | 'window' | 'resource' | 'machine-overridable';
  /**
   * False when the editor does not copy the setting into the request as it is: it is the
   * default that a command starts from (the scale picker), or it is resolved first (a
   * folder relative to the source).
   */
  readonly copied?: false;
}

export interface RequestField extends FieldSpec {
  /** Fields this one means something only with: a request that has it without them is refused. */
  readonly requires?: readonly string[];
  /** The values in words, where the kind's range alone does not say them (a rule narrows it). */
  readonly valuesText?: string;
  /** The daemon's value when the field is absent, where one value says it. */
  readonly default?: string | number | boolean;
  /** The daemon's default in words, where it depends on the job. */
  readonly defaultText?: string;
  readonly cli?: CliSpec;
  readonly setting?: SettingSpec;
}

/** An RGBA colour with channels in [0, 1]. */
export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

function hexChannel(digits: string | undefined, max: number): number {
  return parseInt(digits ?? '0', 16) / max;
}

/** `#rrggbb`, `#rgb` or `transparent` (case-insensitive) as RGBA in [0, 1]; null when it is none of those. */
export function parseBackground(text: string): Rgba | null {
  const t = text.trim().toLowerCase();
  if (t === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(t);
  if (long) return { r: hexChannel(long[1], 255), g: hexChannel(long[2], 255), b: hexChannel(long[3], 255), a: 1 };
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(t);
  if (short) return { r: hexChannel(short[1], 15), g: hexChannel(short[2], 15), b: hexChannel(short[3], 15), a: 1 };
  return null;
}

export const BACKGROUND_EXPECTED = '#rrggbb, #rgb or transparent';

/** How a model id may be written in a request (installed ids are checked when the job starts). */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const MAX_CHAIN = 8;
const CHAIN_EXPECTED = `2 to ${MAX_CHAIN} model ids separated by commas, run in that order`;

/** The model ids of a chain, in order; null when it is not 2 to 8 ids separated by commas. */
export function parseChain(text: string): string[] | null {
  const ids = text.split(',').map((id) => id.trim());
  return ids.length >= 2 && ids.length <= MAX_CHAIN && ids.every((id) => MODEL_ID.test(id)) ? ids : null;
}

/** A second model mixed into the result: `(1 − weight)·first + weight·second`. */
export interface BlendSpec {
  readonly model: string;
  readonly weight: number;
}

export const BLEND_EXPECTED = 'MODEL:WEIGHT, a model id and a weight above 0 up to 1 (realesrgan-x4plus:0.3)';

/** `MODEL:WEIGHT`; null when it is not a model id, a colon and a number above 0 up to 1. */
export function parseBlend(text: string): BlendSpec | null {
  const colon = text.lastIndexOf(':');
  const model = text.slice(0, colon).trim();
  const weightText = text.slice(colon + 1).trim();
  const weight = Number(weightText);
  if (colon < 0 || !MODEL_ID.test(model) || weightText === '' || !(weight > 0 && weight <= 1)) return null;
  return { model, weight };
}
const TTA_EXPECTED = TTA_LEVELS.join(', ').replace(/, (?=[^,]*$)/, ' or ');

/**
 * The tile size setting as text: `auto`, 0, or MIN_TILE … MAX_TILE (32 … 8192), digit by
 * digit; test/unit/extension-config.test.ts checks it against the setting's reader.
 */
const TILE_SETTING_PATTERN =
  '^(auto|0|3[2-9]|[4-9][0-9]|[1-9][0-9]{2}|[1-7][0-9]{3}|80[0-9]{2}|81[0-8][0-9]|819[0-2])$';

/** The fields of an `upscale` request, in the order they are checked and documented. */
export const UPSCALE_FIELDS = {
  input: {
    kind: { type: 'path' },
    required: true,
    doc: 'The source image (an absolute path).',
  },
  output: {
    kind: { type: 'path' },
    doc: 'Output file, or a folder when it ends in a separator or is one; the file is never the source.',
    defaultText: 'beside the input, named by the template',
    cli: { flags: ['-o', '--output'], value: 'OUT|DIR' },
    setting: {
      key: 'outputFolder',
      order: 3,
      default: '',
      scope: 'resource',
      copied: false,
      markdownDescription:
        "Folder for results. Empty: beside the source image. A relative path is resolved against the source image's folder (for example `upscaled`); it is created when missing.",
    },
  },
  template: {
    kind: { type: 'string', maxLength: 255 },
    doc: 'Output file name: {name} {scale} {width} {height} {model} {ext}; a literal extension decides the format.',
    default: DEFAULT_TEMPLATE,
    setting: {
      key: 'outputNameTemplate',
      order: 2,
      default: DEFAULT_TEMPLATE,
      markdownDescription:
        'File name of the result. Fields: `{name}` (source name without extension), `{scale}`, `{width}`, `{height}`, `{model}`, `{ext}`. A literal extension (`{name}-big.png`) decides the format, so it must agree with **Output Format**; a name without one needs **Output Format** set. An existing file is never replaced: a clash gets ` (2)`, ` (3)`, … appended.',
    },
  },
  model: {
    kind: { type: 'string', maxLength: 200 },
    doc: 'The model to run (upscale models list).',
    defaultText: 'the default model, or an installed one of that exact scale ("Which model")',
    cli: { flags: ['-m', '--model'], value: 'MODEL', again: 'chain' },
    setting: {
      key: 'defaultModel',
      order: 0,
      default: '',
      unset: '',
      pattern: `^(${MODEL_ID.source.slice(1, -1)})?$`,
      markdownDescription:
        'Model used by **Upscale Image** (a model id from **Upscale: Show Models**). Empty: the built-in default, `realesr-general-x4v3`.',
    },
  },
  chain: {
    kind: { type: 'string', maxLength: 1000 },
    check: (v) => (typeof v === 'string' && parseChain(v) !== null ? null : CHAIN_EXPECTED),
    valuesText: CHAIN_EXPECTED,
    doc: 'Models run one after another (a 1x restoration model, then an upscaler): each runs once, but the last that upscales, which runs the passes that reach the target. -m given more than once is a chain.',
    cli: { flags: ['--chain'], value: 'A,B' },
  },
  blend: {
    kind: { type: 'string', maxLength: 220 },
    check: (v) => (typeof v === 'string' && parseBlend(v) !== null ? null : BLEND_EXPECTED),
    valuesText: 'MODEL:WEIGHT, weight above 0 up to 1',
    doc: "A second model run to the same size (Lanczos where the scales differ) and mixed in float: (1 - WEIGHT) x the first's + WEIGHT x its own (AUTOMATIC1111's Upscaler 2 visibility).",
    cli: { flags: ['--blend'], value: 'MODEL:WEIGHT' },
  },
  tta: {
    kind: { type: 'number', min: 2, max: 8, integer: true },
    check: (v) => (typeof v === 'number' && TTA_LEVELS.some((l) => l === v) ? null : TTA_EXPECTED),
    valuesText: TTA_EXPECTED,
    doc: 'Test-time augmentation: the model runs on the image flipped and rotated (2: and mirrored; 4: also upside down and turned half; 8: every flip and quarter turn), each result turned back, and the results averaged; costs that many runs.',
    defaultText: 'one run',
    cli: { flags: ['--tta'], value: '[2|4|8]', bare: 8 },
  },
  scale: {
    kind: { type: 'number', min: 0, max: MAX_SCALE, exclusiveMin: true },
    doc: 'Scale factor, any above 0 (2, 2.5, 8); not with width or height.',
    defaultText: "the model's own scale",
    cli: { flags: ['-s', '--scale'], value: 'SCALE' },
    setting: {
      key: 'defaultScale',
      order: 1,
      default: 4,
      min: 1,
      max: 16,
      copied: false,
      markdownDescription:
        "Scale factor used by **Upscale Image**. Above the model's own scale the model runs again (at most 3 passes), then Lanczos gives the exact size.",
    },
  },
  width: {
    kind: { type: 'number', min: 1, max: MAX_SIDE, integer: true },
    doc: 'Exact output width; alone, the aspect ratio is kept.',
    cli: { flags: ['--width'], value: 'W' },
  },
  height: {
    kind: { type: 'number', min: 1, max: MAX_SIDE, integer: true },
    doc: 'Exact output height; alone, the aspect ratio is kept.',
    cli: { flags: ['--height'], value: 'H' },
  },
  fit: {
    kind: { type: 'choice', choices: FITS },
    doc: 'With width and height: scale to cover and crop, fit inside and pad with the background, or stretch.',
    requires: ['width', 'height'],
    default: 'cover',
    cli: { flags: ['--fit'], value: FITS.join('|') },
  },
  tile: {
    kind: { type: 'number', min: 0, max: MAX_TILE, integer: true },
    check: (v) => (typeof v === 'number' && v !== 0 && v < MIN_TILE ? `0 (whole image) or at least ${MIN_TILE}` : null),
    valuesText: `0, or an integer ${MIN_TILE} … ${MAX_TILE}`,
    doc: "Input pixels each tile decides (Real-ESRGAN's --tile); 0 runs the whole image at once.",
    defaultText: 'automatic, from the image and a memory budget',
    cli: { flags: ['--tile'], value: 'N' },
    setting: {
      key: 'tileSize',
      order: 6,
      default: 'auto',
      unset: 'auto',
      // Typed as text, so that the Settings editor offers a box for it ("auto" or a number);
      // a number written in settings.json is read as well.
      pattern: TILE_SETTING_PATTERN,
      patternErrorMessage: `Type auto, 0 (the whole image) or a whole number of pixels from ${MIN_TILE} to ${MAX_TILE}.`,
      markdownDescription: `Input pixels each tile covers: \`auto\` picks from the image and a memory budget; a number from ${MIN_TILE} to ${MAX_TILE} fixes it (smaller tiles use less memory and take a little longer); \`0\` runs the whole image at once (needs the most memory).`,
    },
  },
  memoryBudget: {
    kind: { type: 'number', min: 0, max: MAX_MEMORY_BUDGET_MIB, integer: true },
    check: (v) =>
      typeof v === 'number' && v !== 0 && v < MIN_MEMORY_BUDGET_MIB
        ? `0 (a third of the machine's memory) or at least ${MIN_MEMORY_BUDGET_MIB}`
        : null,
    valuesText: `0, or an integer ${MIN_MEMORY_BUDGET_MIB} … ${MAX_MEMORY_BUDGET_MIB}`,
    doc: "MiB the model's working memory may take: the automatic tile is the fastest that fits, the whole image when it does; 0 is a third of the machine's memory.",
    default: 0,
    cli: { flags: ['--memory-budget'], value: 'MIB' },
    setting: {
      key: 'memoryBudget',
      order: 15,
      default: 0,
      markdownDescription:
        "MiB the model's working memory may take per tile, which decides the automatic tile size (the whole image when it fits, else the fewest, largest tiles that fit). `0`: a third of the machine's memory, the fastest. A smaller budget holds less memory and costs time; the README gives the trade-off.",
    },
  },
  overlap: {
    kind: { type: 'number', min: 0, max: MAX_OVERLAP, integer: true },
    doc: "Context added on each side of a tile (Real-ESRGAN's tile_pad); neighbours blend across twice this.",
    default: DEFAULT_OVERLAP,
    cli: { flags: ['--overlap'], value: 'N' },
    setting: {
      key: 'tileOverlap',
      order: 7,
      default: DEFAULT_OVERLAP,
      markdownDescription:
        'Context added on each side of a tile, in input pixels; neighbouring tiles blend across twice this, so seams do not show.',
    },
  },
  format: {
    kind: { type: 'choice', choices: OUTPUT_FORMATS },
    doc: "Output format; it must agree with the output name's extension.",
    defaultText: "the output name's extension, else the source's (PNG for gif, bmp and others)",
    cli: { flags: ['--format'], value: OUTPUT_FORMATS.join('|') },
    setting: {
      key: 'outputFormat',
      order: 4,
      default: 'same-as-input',
      unset: 'same-as-input',
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
  },
  quality: {
    kind: { type: 'number', min: 1, max: 100, integer: true },
    doc: 'Quality of lossy formats (JPEG, WebP, AVIF).',
    defaultText: 'JPEG 92, WebP 90, AVIF 75',
    cli: { flags: ['--quality'], value: 'Q' },
    setting: {
      key: 'outputQuality',
      order: 5,
      default: 90,
      markdownDescription: 'Quality of lossy formats (JPEG, WebP, AVIF), 1 to 100.',
    },
  },
  alpha: {
    kind: { type: 'choice', choices: ALPHA_MODES },
    doc: 'How transparency is upscaled: by the model too (sharper edges) or by Lanczos (faster).',
    default: 'model',
    cli: { flags: ['--alpha'], value: ALPHA_MODES.join('|') },
    setting: {
      key: 'alphaHandling',
      order: 8,
      default: 'model',
      enumDescriptions: [
        'Upscale the alpha channel with the model too (sharper edges).',
        'Resize the alpha channel with Lanczos (faster).',
      ],
      markdownDescription: "How an image's transparency is upscaled.",
    },
  },
  precision: {
    kind: { type: 'choice', choices: PRECISIONS },
    doc: "The model's arithmetic: auto takes fp16 on a GPU whose device runs it, for architectures measured safe in it; fp16 is refused where it cannot run (the CPU).",
    default: 'auto',
    cli: { flags: ['--precision'], value: PRECISIONS.join('|') },
    setting: {
      key: 'precision',
      order: 16,
      default: 'auto',
      enumDescriptions: [
        "fp16 where it is safe: on a GPU provider whose device runs it, for architectures whose fp16 output stays within 45 dB of fp32 (the README's GPU section); else fp32. The job's precision and why are in the log.",
        'Full precision everywhere.',
        'Half precision (faster, less memory on a GPU); refused on the CPU and on devices without fp16.',
      ],
      markdownDescription:
        'Numeric precision of the model on a GPU provider (**Execution Provider**). The CPU runs fp32 only.',
    },
  },
  overwrite: {
    kind: { type: 'boolean' },
    doc: 'Replace an existing output file (never the source); without it a named output that exists is refused.',
    default: false,
    cli: { flags: ['--overwrite'] },
  },
  previewWidth: {
    kind: { type: 'number', min: 16, max: 16384, integer: true },
    doc: 'Send each finished tile as a PNG with its progress, the whole output scaled to at most this wide.',
  },
  previewEvery: {
    kind: { type: 'number', min: 1, max: 1000, integer: true },
    requires: ['previewWidth'],
    doc: 'With previews: one every N finished tiles of a pass (and its last); fewer cost less on large jobs.',
    default: 1,
    setting: {
      key: 'previewEvery',
      order: 13,
      default: 1,
      markdownDescription:
        'The preview panel shows every Nth finished tile of a pass while the job runs (and its last one); on large images a larger N costs less.',
    },
  },
  threads: {
    kind: { type: 'number', min: 0, max: MAX_THREADS, integer: true },
    doc: "Threads the model runs on (onnxruntime's intra-op pool); 0 uses every core.",
    default: 0,
    cli: { flags: ['--threads'], value: 'N' },
    setting: {
      key: 'threads',
      order: 14,
      default: 0,
      markdownDescription:
        'Threads the model runs on. `0`: every core, the fastest; while a job runs the rest of the machine (the editor included) gets little CPU. A smaller number (half the cores, say) keeps the editor responsive and makes jobs slower in proportion.',
    },
  },
  background: {
    kind: { type: 'string', maxLength: 20 },
    check: (v) => (typeof v !== 'string' || parseBackground(v) === null ? BACKGROUND_EXPECTED : null),
    valuesText: BACKGROUND_EXPECTED,
    doc: 'With fit contain: the colour of the padding, #rrggbb, #rgb or transparent.',
    defaultText: 'transparent where the format has alpha, else white',
    cli: { flags: ['--background'], value: '#rrggbb|transparent' },
  },
  padding: {
    kind: { type: 'choice', choices: PADDINGS },
    doc: "Past the image's borders: nothing (the model's own output), a 4 px mirrored border, or the opposite edge (tileable textures).",
    default: 'none',
    cli: { flags: ['--padding'], value: PADDINGS.join('|') },
  },
  dryRun: {
    kind: { type: 'boolean' },
    doc: 'Check everything and return the plan (passes, models, sizes, tiles); write nothing.',
    default: false,
    cli: { flags: ['--dry-run'] },
  },
  sidecar: {
    kind: { type: 'boolean' },
    doc: 'Also write OUTPUT.json beside the output: hashes, parameters, plan, versions, timings.',
    default: false,
    cli: { flags: ['--sidecar'] },
  },
} as const satisfies Readonly<Record<string, RequestField>>;

export type UpscaleField = keyof typeof UPSCALE_FIELDS;

/** The fields in the table's order, each with its description. */
export const REQUEST_FIELDS: readonly (readonly [UpscaleField, RequestField])[] =
  // Object.entries drops the keys' type; they are the table's own.
  Object.entries(UPSCALE_FIELDS) as [UpscaleField, RequestField][];

/** The parameters of an `upscale` request. */
export type UpscaleParams = FieldValues<typeof UPSCALE_FIELDS>;

/** The fields the command line takes, by flag. */
export type CliField = {
  [K in UpscaleField]: (typeof UPSCALE_FIELDS)[K] extends { cli: CliSpec } ? K : never;
}[UpscaleField];

/**
 * The rules between fields, each with the fields' names as the caller writes them (`'scale'`
 * in a request, `-s/--scale` on the command line). Returns the first problem, or null.
 */
export function crossFieldProblem(
  p: Readonly<Record<string, unknown>>,
  name: (field: UpscaleField) => string,
): string | null {
  if (p.scale !== undefined && (p.width !== undefined || p.height !== undefined))
    return `give either ${name('scale')} or ${name('width')}/${name('height')}, not both`;
  if (p.model !== undefined && p.chain !== undefined)
    return `give either ${name('model')} or ${name('chain')}, not both`;
  for (const [field, spec] of REQUEST_FIELDS) {
    const needed = REQUEST_FIELDS.filter(([other]) => spec.requires?.includes(other)).map(([other]) => other);
    if (p[field] === undefined || !needed.some((other) => p[other] === undefined)) continue;
    const names = needed.map(name);
    return `${name(field)} applies only when ${names.length === 1 ? `${names.join('')} is` : `both ${names.join(' and ')} are`} given`;
  }
  return null;
}

/** Whether the fields `field` requires are in `p`. */
export function requirementsMet(field: UpscaleField, p: Readonly<Record<string, unknown>>): boolean {
  const spec: RequestField = UPSCALE_FIELDS[field];
  return (spec.requires ?? []).every((other) => p[other] !== undefined);
}

export function parseUpscale(raw: unknown): UpscaleParams {
  const m = 'upscale';
  const params = parseFields(m, raw, UPSCALE_FIELDS);
  const problem = crossFieldProblem(params, (field) => `'${field}'`);
  if (problem) throw new DaemonError('InvalidParams', `${m}: ${problem}`);
  return params;
}

/** What a request aims at: its size fields, else its scale, else `defaultScale` (the model's). */
export function targetOf(p: Pick<UpscaleParams, 'scale' | 'width' | 'height' | 'fit'>, defaultScale: number): Target {
  if (p.width === undefined && p.height === undefined) return { kind: 'scale', scale: p.scale ?? defaultScale };
  return { kind: 'size', ...present({ width: p.width, height: p.height, fit: p.fit }) };
}

/** A target as request fields. */
export function targetFields(target: Target): Pick<UpscaleParams, 'scale' | 'width' | 'height' | 'fit'> {
  return target.kind === 'scale'
    ? { scale: target.scale }
    : present({ width: target.width, height: target.height, fit: target.fit });
}
