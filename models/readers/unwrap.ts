// Training code rarely saves a bare state dict: BasicSR writes {'params_ema': sd, 'params': sd},
// others {'state_dict': sd}, {'model': sd, 'optimizer': ...}, and DataParallel prefixes every key
// with 'module.'. This finds the state dict inside such a wrapper and reads only its tensors.
import { PickleDict, PickleObject, describePickleValue } from './pickle';
import type { StateDict, Tensor } from '../weights/state-dict';

/**
 * A tensor met while unpickling. Its values are read on first use, so tensors in wrappers we
 * do not choose ('params' beside 'params_ema', optimizer state) are never decoded.
 */
export class PickledTensor extends PickleObject {
  readonly typeName = 'torch.Tensor';
  private loaded: Tensor | undefined;
  constructor(private readonly load: () => Tensor) {
    super();
  }
  tensor(): Tensor {
    this.loaded ??= this.load();
    return this.loaded;
  }
}

/** Wrapper keys in order of preference: EMA weights give the better images when both exist. */
export const WRAPPER_KEYS: readonly string[] = [
  'params_ema',
  'params',
  'state_dict',
  'model_state_dict',
  'model',
  'net',
  'network',
  'generator',
  'netG',
  'net_g',
  'g_ema',
  'weights',
];

/** Real checkpoints wrap at most two or three times; deeper nesting is not a wrapper. */
const MAX_WRAPPER_DEPTH = 6;

const MODULE_PREFIX = 'module.';

function hasTensorValues(dict: PickleDict): boolean {
  for (const value of dict.entries.values()) if (value instanceof PickledTensor) return true;
  return false;
}

/**
 * Whether a state dict lies at or below `dict` through wrapper keys, so that a wrapper holding
 * only configuration ({'model': {'arch': ...}}) is passed over for one holding weights.
 */
function leadsToTensors(dict: PickleDict, depthLeft: number, visited: Set<PickleDict>): boolean {
  if (visited.has(dict)) return false;
  visited.add(dict);
  if (hasTensorValues(dict)) return true;
  if (depthLeft === 0) return false;
  return WRAPPER_KEYS.some((key) => {
    const inner = dict.entries.get(key);
    return inner instanceof PickleDict && leadsToTensors(inner, depthLeft - 1, visited);
  });
}

/**
 * Drops DataParallel's 'module.' prefix when every key carries it; a partly prefixed dict is
 * left alone, since stripping only some keys could make two names collide.
 */
export function stripModulePrefix(sd: StateDict): StateDict {
  if (sd.size === 0) return sd;
  for (const key of sd.keys()) if (!key.startsWith(MODULE_PREFIX)) return sd;
  const stripped: StateDict = new Map();
  for (const [key, tensor] of sd) stripped.set(key.slice(MODULE_PREFIX.length), tensor);
  return stripped;
}

/**
 * The state dict inside an unpickled checkpoint: the object itself when its values are tensors,
 * otherwise the first wrapper key (params_ema, params, state_dict, model, net...) holding a dict,
 * looked into recursively. Entries that are not tensors (None, ints, nested config) are skipped.
 * The 'module.' prefix is removed. `label` names the file in errors.
 */
export function unwrapStateDict(obj: unknown, label: string): StateDict {
  let current: unknown = obj;
  const path: string[] = [];
  for (let depth = 0; depth <= MAX_WRAPPER_DEPTH; depth++) {
    const where = path.length ? `the object at ${path.map((k) => `['${k}']`).join('')}` : 'the top-level object';
    if (!(current instanceof PickleDict)) {
      const found =
        current === undefined
          ? 'nothing'
          : current instanceof PickledTensor
            ? 'a single tensor'
            : `a ${describePickleValue(current)}`;
      throw new Error(`${label}: ${where} is ${found}; expected a dict of tensors (a state dict)`);
    }
    const dict: PickleDict = current;
    const wrapperKey = WRAPPER_KEYS.find((key) => {
      const inner = dict.entries.get(key);
      return inner instanceof PickleDict && leadsToTensors(inner, MAX_WRAPPER_DEPTH - depth, new Set([dict]));
    });
    if (wrapperKey !== undefined) {
      path.push(wrapperKey);
      current = dict.entries.get(wrapperKey);
      continue;
    }
    if (hasTensorValues(dict)) return stripModulePrefix(collectTensors(dict));
    const keys = [...dict.entries.keys()].slice(0, 20).map((k) => `'${String(k)}'`);
    throw new Error(
      `${label}: ${where} has no tensors, and no wrapper key (${WRAPPER_KEYS.join(', ')}) in it leads to any ` +
        `(its keys: ${keys.join(', ') || 'none'}${dict.entries.size > 20 ? ', ...' : ''}); expected a state dict`,
    );
  }
  throw new Error(
    `${label}: the state dict is wrapped more than ${MAX_WRAPPER_DEPTH} levels deep; expected at most ${MAX_WRAPPER_DEPTH}`,
  );
}

function collectTensors(dict: PickleDict): StateDict {
  const sd: StateDict = new Map();
  for (const [key, value] of dict.entries) {
    if (typeof key !== 'string' || !(value instanceof PickledTensor)) continue;
    sd.set(key, value.tensor());
  }
  return sd;
}
