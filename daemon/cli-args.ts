// Command-line parsing for `upscale`: argv in, a typed command out, or an error that
// names the option, the value and what was expected. Pure.
import * as path from 'node:path';
import { parseBackground } from './protocol/params';
import {
  ACTIVATIONS,
  ALPHA_MODES,
  EXECUTION_PROVIDERS,
  FITS,
  OUTPUT_FORMATS,
  PADDINGS,
  PRECISIONS,
  type Activation,
  type ExecutionProviderChoice,
  type PrecisionChoice,
  type UpscaleParams,
} from './protocol/protocol';

/** An upscale run: the request's options, for several inputs, plus what only the CLI has. */
export interface UpscaleCommand extends Omit<UpscaleParams, 'input' | 'template' | 'previewWidth' | 'overwrite'> {
  readonly kind: 'upscale';
  readonly inputs: readonly string[];
  readonly provider?: ExecutionProviderChoice;
  readonly precision?: PrecisionChoice;
  readonly overwrite: boolean;
  readonly json: boolean;
}

export type CliCommand =
  | UpscaleCommand
  | { readonly kind: 'models-list'; readonly json: boolean }
  | { readonly kind: 'models-import'; readonly path: string; readonly json: boolean; readonly activation?: Activation }
  | {
      readonly kind: 'models-convert';
      readonly input: string;
      readonly output: string;
      readonly activation?: Activation;
    }
  | { readonly kind: 'daemon' }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

export class UsageError extends Error {}

export const USAGE = `usage:
  upscale IN... [-o OUT|DIR] [-m MODEL] [-s SCALE | --width W --height H [--fit cover|contain|fill]]
                [--tile N] [--overlap N] [--format png|jpg|webp|tif|avif] [--quality Q]
                [--background #rrggbb|transparent] [--padding none|reflect|wrap]
                [--alpha model|lanczos] [--provider auto|cpu|cuda|webgpu|dml|coreml] [--overwrite] [--json]
                [--precision auto|fp32|fp16] [--dry-run] [--sidecar]
  upscale models list [--json]
  upscale models import PATH [--activation relu|leakyrelu|prelu] [--json]
                          add a .pth, .safetensors, .onnx or ncnn .param model
  upscale models convert IN OUT.onnx [--activation relu|leakyrelu|prelu]
                          write the ONNX without registering it
  upscale models catalogue [--json]       the official releases that can be downloaded
  upscale models download ID [--allow-unverified] [--keep-source] [--proxy URL] [--json]
  upscale daemon          serve JSON-RPC on stdin/stdout (used by the extension and this CLI)

  -s SCALE   any factor > 0 (e.g. 2, 2.5, 8); default: the model's own scale
  --tile N   input pixels each tile decides, 0 for the whole image; default automatic
  --overlap N  context added on each side of a tile (default 16), as Real-ESRGAN's tile_pad
  --precision fp16  half precision on a GPU provider; auto (default) uses it where the model is
             fp16-safe and the device runs fp16
  --fit contain  fit inside W x H and pad with --background (default transparent, white for JPEG)
  --padding P  past the image's borders: none (default; the model's own output), reflect
             (a 4 px mirrored border), wrap (a tileable texture: edges continue into each other)
  --dry-run  print the plan (passes, models, sizes, final resize, fit, tile grid) and write nothing
  --sidecar  also write OUTPUT.json beside each output (hashes, parameters, plan, versions, timings)
  --activation A  SRVGGNetCompact (compact) models only: the activation it was trained with. Its
             weights cannot tell ReLU from LeakyReLU (slope 0.1); without it ReLU is assumed, with a warning
  --json     print one JSON object per result`;

/** `-o` as an absolute path; a trailing separator stays, since it is what says "a folder" (daemon/engine/pipeline.ts). */
function outputArg(cwd: string, value: string): string {
  const resolved = path.resolve(cwd, value);
  return /[/\\]$/.test(value) && !resolved.endsWith(path.sep) ? resolved + path.sep : resolved;
}

function number(
  option: string,
  value: string | undefined,
  opts: { integer?: boolean; min: number; max: number; exclusiveMin?: boolean },
): number {
  const n = Number(value);
  const ok =
    value !== undefined &&
    value.trim() !== '' &&
    Number.isFinite(n) &&
    (opts.exclusiveMin ? n > opts.min : n >= opts.min) &&
    n <= opts.max &&
    (!opts.integer || Number.isInteger(n));
  if (!ok) {
    const kind = opts.integer ? 'an integer' : 'a number';
    throw new UsageError(
      `${option} is ${value === undefined ? 'missing its value' : `'${value}'`}; expected ${kind} ${opts.exclusiveMin ? 'greater than' : 'from'} ${opts.min} up to ${opts.max}`,
    );
  }
  return n;
}

function choice<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `${option} is ${value === undefined ? 'missing its value' : `'${value}'`}; expected one of ${allowed.join(', ')}`,
    );
  }
  return value as T;
}

/** `models import` and `models convert`: files, `--activation A` for both, `--json` for import. */
function parseModelFileArgs(sub: 'import' | 'convert', args: readonly string[], cwd: string): CliCommand {
  const files: string[] = [];
  let activation: Activation | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--activation') activation = choice(arg, args[++i], ACTIVATIONS);
    else if (arg === '--json' && sub === 'import') json = true;
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}' for 'models ${sub}'`);
    else files.push(path.resolve(cwd, arg));
  }
  const chosen = activation !== undefined && { activation };
  if (sub === 'import') {
    if (files.length !== 1) throw new UsageError(`'upscale models import' takes one model file, got ${files.length}`);
    return { kind: 'models-import', path: files[0] as string, json, ...chosen };
  }
  if (files.length !== 2) throw new UsageError(`'upscale models convert' takes IN and OUT.onnx`);
  return { kind: 'models-convert', input: files[0] as string, output: files[1] as string, ...chosen };
}

export function parseCliArgs(argv: readonly string[], cwd: string): CliCommand {
  const [first, second] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'daemon') {
    if (argv.length > 1) throw new UsageError(`'upscale daemon' takes no arguments, got '${argv[1]}'`);
    return { kind: 'daemon' };
  }
  if (first === 'models') {
    if (second === 'import' || second === 'convert') return parseModelFileArgs(second, argv.slice(2), cwd);
    if (second !== 'list')
      throw new UsageError(`unknown models command '${second ?? ''}'; expected list, import or convert`);
    const rest = argv.slice(2);
    for (const a of rest) if (a !== '--json') throw new UsageError(`unknown option '${a}' for 'models list'`);
    return { kind: 'models-list', json: rest.includes('--json') };
  }

  const inputs: string[] = [];
  const cmd: { -readonly [K in keyof UpscaleCommand]: UpscaleCommand[K] } = {
    kind: 'upscale',
    inputs,
    overwrite: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string | undefined => argv[++i];
    switch (arg) {
      case '-o':
      case '--output': {
        const v = value();
        if (!v) throw new UsageError(`${arg} is missing its value`);
        cmd.output = outputArg(cwd, v);
        break;
      }
      case '-m':
      case '--model': {
        const v = value();
        if (!v) throw new UsageError(`${arg} is missing its value`);
        cmd.model = v;
        break;
      }
      case '-s':
      case '--scale':
        cmd.scale = number(arg, value(), { min: 0, max: 64, exclusiveMin: true });
        break;
      case '--width':
        cmd.width = number(arg, value(), { integer: true, min: 1, max: 1_000_000 });
        break;
      case '--height':
        cmd.height = number(arg, value(), { integer: true, min: 1, max: 1_000_000 });
        break;
      case '--fit':
        cmd.fit = choice(arg, value(), FITS);
        break;
      case '--tile':
        cmd.tile = number(arg, value(), { integer: true, min: 0, max: 8192 });
        break;
      case '--overlap':
        cmd.overlap = number(arg, value(), { integer: true, min: 0, max: 256 });
        break;
      case '--format':
        cmd.format = choice(arg, value(), OUTPUT_FORMATS);
        break;
      case '--quality':
        cmd.quality = number(arg, value(), { integer: true, min: 1, max: 100 });
        break;
      case '--alpha':
        cmd.alpha = choice(arg, value(), ALPHA_MODES);
        break;
      case '--background': {
        const v = value();
        if (v === undefined || parseBackground(v) === null)
          throw new UsageError(
            `${arg} is ${v === undefined ? 'missing its value' : `'${v}'`}; expected #rrggbb, #rgb or transparent`,
          );
        cmd.background = v;
        break;
      }
      case '--padding':
        cmd.padding = choice(arg, value(), PADDINGS);
        break;
      case '--dry-run':
        cmd.dryRun = true;
        break;
      case '--sidecar':
        cmd.sidecar = true;
        break;
      case '--provider':
        cmd.provider = choice(arg, value(), EXECUTION_PROVIDERS);
        break;
      case '--precision':
        cmd.precision = choice(arg, value(), PRECISIONS);
        break;
      case '--overwrite':
        cmd.overwrite = true;
        break;
      case '--json':
        cmd.json = true;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}'\n${USAGE}`);
        inputs.push(path.resolve(cwd, arg));
    }
  }
  if (inputs.length === 0) throw new UsageError(`no input images given\n${USAGE}`);
  if (cmd.scale !== undefined && (cmd.width !== undefined || cmd.height !== undefined)) {
    throw new UsageError('give either -s/--scale or --width/--height, not both');
  }
  if (cmd.fit !== undefined && (cmd.width === undefined || cmd.height === undefined)) {
    throw new UsageError('--fit applies only when both --width and --height are given');
  }
  return cmd;
}
