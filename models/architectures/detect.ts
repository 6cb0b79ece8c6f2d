// Saying what a state dict is. The registry's entries are tried in order and the first
// whose key condition holds decides: a converted architecture then reads its
// configuration from the weights, a recognised one is refused by name, and weights no
// entry recognises get the list of what is supported.
import type { StateDict } from '../weights/state-dict';
import { describeKeys, satisfies } from '../weights/keys';
import type { ModelTraits } from '../../contract/protocol';
import type { ActivationChoice, Params } from './types';
import { NotConvertedError } from './refusals';
import type { Recognised } from './recognised';
import {
  ARCHITECTURES,
  DETECTION_ORDER,
  familyLabel,
  familyOf,
  type AnyArchitecture,
  type ArchitectureId,
} from './registry';

/** What the importer learned about a model; stored in the model registry. */
export interface ArchInfo {
  /** The converting module; absent for formats that arrive as a finished graph (ONNX, ncnn, TF.js). */
  readonly architecture?: ArchitectureId;
  /** The model line it is listed under ('esrgan', 'real-esrgan', 'swinir', …). */
  readonly family: string;
  readonly variant: string;
  readonly scale: number;
  /** The input multiple the network works in; only guides tile sizes (the graph pads itself). */
  readonly inputMultiple: number;
  /** Every hyper-parameter read from the weights. */
  readonly params: Params;
  /** Known for converted weights. */
  readonly traits?: ModelTraits;
  readonly activation?: ActivationChoice;
}

/** A module, the configuration it read, and the registry's view of both. */
export interface Detected {
  readonly module: AnyArchitecture;
  readonly config: unknown;
  readonly info: ArchInfo;
}

/** What a state dict is: converted by a module, recognised only, or (null) unknown. */
export type Identity =
  | { readonly kind: 'converted'; readonly module: AnyArchitecture }
  | { readonly kind: 'recognised'; readonly entry: Recognised };

function isModule(entry: AnyArchitecture | Recognised): entry is AnyArchitecture {
  return 'build' in entry;
}

/** The first registry entry whose keys the state dict has. */
export function identify(sd: StateDict): Identity | null {
  const entry = DETECTION_ORDER.find((e) => satisfies(sd, e.keys));
  if (!entry) return null;
  return isModule(entry) ? { kind: 'converted', module: entry } : { kind: 'recognised', entry };
}

/** The registry's view of a configuration a module read. */
export function describeConfig(module: AnyArchitecture, config: unknown): ArchInfo {
  return { ...module.describe(config), architecture: module.id, family: familyOf(module).id };
}

const SAMPLE_KEY_COUNT = 6;

/** A few key names that show what the file holds: the first ones and the last one. */
export function sampleKeys(keys: readonly string[]): string[] {
  const last = keys[keys.length - 1];
  if (keys.length <= SAMPLE_KEY_COUNT || last === undefined) return [...keys];
  return [...keys.slice(0, SAMPLE_KEY_COUNT - 1), '...', last];
}

/** What a user can bring, from the registry: each module's label and the keys it looks for. */
function supportedArchitectures(): string {
  return ARCHITECTURES.map((m) => `${m.label} (keys ${describeKeys(m.keys)})`).join('; ');
}

function unknownArchitecture(sd: StateDict, label: string): Error {
  const keys = [...sd.keys()];
  const found =
    keys.length === 0
      ? 'no tensors at all'
      : `${keys.length} tensor${keys.length === 1 ? '' : 's'} with keys such as ${sampleKeys(keys)
          .map((k) => (k === '...' ? k : `'${k}'`))
          .join(', ')}`;
  return new Error(`${label}: unknown architecture: found ${found}. Supported: ${supportedArchitectures()}.`);
}

/** Reads `module`'s configuration; errors name the file and, when the weights do not fit, the architecture. */
export function readWith(module: AnyArchitecture, sd: StateDict, label: string): Detected {
  let config: unknown;
  try {
    config = module.readConfig(sd);
  } catch (e) {
    if (e instanceof NotConvertedError) throw e.inFile(label);
    throw new Error(`${label}: the weights look like ${module.label} but do not fit it: ${(e as Error).message}`);
  }
  return { module, config, info: describeConfig(module, config) };
}

/**
 * Recognises the state dict's architecture and reads its configuration. `label` names the
 * file in errors: an architecture recognised but not converted is refused by name
 * (NotConvertedError), unknown weights get the supported list.
 */
export function detectArchitecture(sd: StateDict, label: string): Detected {
  const identity = identify(sd);
  if (!identity) throw unknownArchitecture(sd, label);
  if (identity.kind === 'recognised') {
    throw new NotConvertedError(identity.entry.id, identity.entry.label, label);
  }
  return readWith(identity.module, sd, label);
}

/** One line for lists and logs, e.g. "SwinIR x4 — SwinIR lightweight (input multiple 8)". */
export function describeArch(info: ArchInfo): string {
  const multiple = info.inputMultiple > 1 ? ` (input multiple ${info.inputMultiple})` : '';
  return `${familyLabel(info.family)} x${info.scale} — ${info.variant}${multiple}`;
}
