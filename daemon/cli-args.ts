// Command-line parsing for `upscale`: argv in, a typed command out, or an error that
// names the option, the value and what was expected. The upscale options, their values,
// their checks and their lines in the usage come from the request's field table
// (contract/request.ts). Pure.
import * as path from 'node:path';
import {
  crossFieldProblem,
  REQUEST_FIELDS,
  UPSCALE_FIELDS,
  type CliField,
  type RequestField,
  type UpscaleField,
  type UpscaleParams,
} from '../contract/request';
import { expected, inRange, type Kind } from '../contract/validate';
import { asFolder, endsInSeparator } from '../contract/paths';
import {
  ACTIVATIONS,
  EXECUTION_PROVIDERS,
  type Activation,
  type ExecutionProviderChoice,
} from '../contract/vocabulary';

/** An upscale run: the request's options, for several inputs, plus what only the CLI has. */
export type UpscaleCommand = Omit<Pick<UpscaleParams, CliField>, 'overwrite'> & {
  readonly kind: 'upscale';
  readonly inputs: readonly string[];
  readonly provider?: ExecutionProviderChoice;
  readonly overwrite: boolean;
  readonly json: boolean;
};

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
  | { readonly kind: 'daemon-clean' }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

export class UsageError extends Error {}

/** The upscale options in the table's order, each with its field. */
const CLI_OPTIONS: readonly { readonly field: UpscaleField; readonly spec: RequestField }[] = REQUEST_FIELDS.flatMap(
  ([field, spec]) => (spec.cli ? [{ field, spec }] : []),
);

const BY_FLAG = new Map(CLI_OPTIONS.flatMap((o) => (o.spec.cli?.flags ?? []).map((flag) => [flag, o] as const)));

/** How a field is named on the command line: its flags, `-s/--scale`. */
function flagName(field: UpscaleField): string {
  const spec: RequestField = UPSCALE_FIELDS[field];
  return spec.cli?.flags.join('/') ?? field;
}

/** An option's usage: its flags, then its description wrapped under them. */
function optionLine(flags: string, doc: string): string {
  const lines = [`  ${flags}`];
  let line = '       ';
  for (const word of doc.split(' ')) {
    if (line.length + word.length + 1 > 92) {
      lines.push(line);
      line = '       ';
    }
    line += ` ${word}`;
  }
  return [...lines, line].join('\n');
}

function defaultOf(spec: RequestField): string {
  const value = spec.defaultText ?? (spec.default === undefined ? undefined : String(spec.default));
  return value === undefined || spec.kind.type === 'boolean' ? '' : ` Default: ${value}.`;
}

export const USAGE = `usage:
  upscale IN... [options]     upscale images (png, jpg, webp, tif, avif, gif, bmp)
  upscale models list [--json]
  upscale models import PATH [--activation relu|leakyrelu|prelu] [--json]
                          add a .pth, .safetensors, .onnx or ncnn .param model
  upscale models convert IN OUT.onnx [--activation relu|leakyrelu|prelu]
                          write the ONNX without registering it
  upscale models catalogue [--json]       the official releases that can be downloaded
  upscale models download ID [--allow-unverified] [--keep-source] [--proxy URL] [--json]
  upscale daemon          serve JSON-RPC on stdin/stdout (used by the extension and this CLI)
  upscale daemon --clean  remove the temporary files of daemons that were killed while writing

options of upscale IN...:
${CLI_OPTIONS.map(({ spec }) => optionLine(`${spec.cli?.flags.join(', ') ?? ''} ${spec.cli?.value ?? ''}`.trimEnd(), `${spec.doc}${defaultOf(spec)}`)).join('\n')}
${optionLine(`--provider ${EXECUTION_PROVIDERS.join('|')}`, 'Where the models run. Default: auto, the fastest this machine has.')}
${optionLine('--json', 'Print one JSON object per result.')}

  --activation A  SRVGGNetCompact (compact) models only: the activation it was trained with. Its
             weights cannot tell ReLU from LeakyReLU (slope 0.1); without it ReLU is assumed, with a warning`;

/** `-o` as an absolute path; a trailing separator stays, since it is what says "a folder" (daemon/engine/pipeline.ts). */
function outputArg(cwd: string, value: string): string {
  const resolved = path.resolve(cwd, value);
  return endsInSeparator(value) ? asFolder(resolved) : resolved;
}

function refuse(option: string, value: string | undefined, expectation: string | null): never {
  const what = value === undefined ? 'missing its value' : `'${value}'`;
  throw new UsageError(`${option} is ${expectation === null ? what : `${what}; expected ${expectation}`}`);
}

function numberValue(option: string, value: string | undefined, kind: Extract<Kind, { type: 'number' }>): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !inRange(kind, n)) refuse(option, value, expected(kind));
  return n;
}

function choice<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) refuse(option, value, expected({ type: 'choice', choices: allowed }));
  return found;
}

/**
 * An option's value from the words after it, checked as the daemon checks the field; `peek`
 * reads the next word and `next` takes it. A flag with a bare value takes the next word only
 * when it is a number.
 */
function optionValue(
  option: string,
  spec: RequestField,
  words: { readonly peek: () => string | undefined; readonly next: () => string | undefined },
  cwd: string,
): unknown {
  const kind = spec.kind;
  if (kind.type === 'boolean') return true;
  const bare = spec.cli?.bare;
  if (bare !== undefined && !/^[+-]?\d/.test(words.peek() ?? '')) return bare;
  const raw = words.next();
  let value: unknown;
  switch (kind.type) {
    case 'number':
      value = numberValue(option, raw, kind);
      break;
    case 'choice':
      value = choice(option, raw, kind.choices);
      break;
    case 'path':
      if (!raw) refuse(option, undefined, null);
      value = outputArg(cwd, raw);
      break;
    case 'string':
      if (!raw) refuse(option, undefined, spec.check ? spec.check(undefined) : null);
      if (raw.length > kind.maxLength) refuse(option, raw, expected(kind));
      value = raw;
      break;
  }
  const problem = spec.check?.(value);
  if (problem) refuse(option, raw, problem);
  return value;
}

/** `models import` and `models convert`: files, `--activation A` for both, `--json` for import. */
function parseModelFileArgs(sub: 'import' | 'convert', args: readonly string[], cwd: string): CliCommand {
  const files: string[] = [];
  let activation: Activation | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) break;
    if (arg === '--activation') activation = choice(arg, args[++i], ACTIVATIONS);
    else if (arg === '--json' && sub === 'import') json = true;
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}' for 'models ${sub}'`);
    else files.push(path.resolve(cwd, arg));
  }
  const [first, second] = files;
  if (sub === 'import') {
    if (files.length !== 1 || first === undefined)
      throw new UsageError(`'upscale models import' takes one model file, got ${files.length}`);
    return activation === undefined
      ? { kind: 'models-import', path: first, json }
      : { kind: 'models-import', path: first, json, activation };
  }
  if (files.length !== 2 || first === undefined || second === undefined)
    throw new UsageError(`'upscale models convert' takes IN and OUT.onnx`);
  return activation === undefined
    ? { kind: 'models-convert', input: first, output: second }
    : { kind: 'models-convert', input: first, output: second, activation };
}

export function parseCliArgs(argv: readonly string[], cwd: string): CliCommand {
  const [first, second] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'daemon') {
    if (argv.length === 2 && second === '--clean') return { kind: 'daemon-clean' };
    if (argv.length > 1) throw new UsageError(`'upscale daemon' takes no arguments but --clean, got '${argv[1]}'`);
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
  const options: Record<string, unknown> = {};
  let provider: ExecutionProviderChoice | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) break;
    const option = BY_FLAG.get(arg);
    const words = { peek: () => argv[i + 1], next: () => argv[++i] };
    if (option) {
      const value = optionValue(arg, option.spec, words, cwd);
      const again = option.spec.cli?.again;
      const earlier = again === undefined ? undefined : (options[again] ?? options[option.field]);
      if (again !== undefined && typeof earlier === 'string' && typeof value === 'string') {
        // Given again: its values together are another field (`-m A -m B` is a chain).
        options[again] = `${earlier},${value}`;
        delete options[option.field];
      } else options[option.field] = value;
    } else if (arg === '--provider') provider = choice(arg, argv[++i], EXECUTION_PROVIDERS);
    else if (arg === '--json') json = true;
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}'\n${USAGE}`);
    else inputs.push(path.resolve(cwd, arg));
  }
  if (inputs.length === 0) throw new UsageError(`no input images given\n${USAGE}`);
  // Each option was read by the kind of its field, which the request's type derives from.
  const fields = options as Pick<UpscaleParams, CliField>;
  const problem = crossFieldProblem(fields, flagName);
  if (problem) throw new UsageError(problem);
  const command: UpscaleCommand = { kind: 'upscale', inputs, ...fields, overwrite: fields.overwrite ?? false, json };
  return provider === undefined ? command : { ...command, provider };
}
