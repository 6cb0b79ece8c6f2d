// Which architecture a state dict belongs to. Every module is asked; the key layouts are
// disjoint by design, so a second match means a module's recogniser is too loose, which
// must surface as an error rather than silently picking whichever was asked first.
import type { StateDict } from '../readers/state-dict';
import type { ArchInfo, Architecture, Detected, Family } from './types';
import { rrdbnet } from './rrdbnet';
import { esrganOld } from './esrgan-old';
import { srvgg } from './srvgg';
import { swinir } from './swinir';
import { hat } from './hat';
import { dat } from './dat';

/** Every architecture the importer can convert, in the order they are tried. */
export const ARCHITECTURES: readonly Architecture<unknown>[] = [rrdbnet, esrganOld, srvgg, swinir, hat, dat];

/** What a user can bring, worded for error messages. */
export const SUPPORTED_FAMILIES: readonly string[] = [
  'ESRGAN / Real-ESRGAN RRDBNet (BasicSR keys such as conv_first, body.0.rdb1.conv1, or ESRGAN 2019 keys such as RRDB_trunk.0.RDB1.conv1)',
  'ESRGAN 2018 RRDB_Net (model.0, model.1.sub.0.RDB1.conv1.0, ...)',
  'Real-ESRGAN SRVGGNetCompact (body.0 ... body.N)',
  'SwinIR',
  'HAT',
  'DAT',
];

const FAMILY_NAMES: Record<Family, string> = {
  esrgan: 'ESRGAN',
  'real-esrgan': 'Real-ESRGAN',
  swinir: 'SwinIR',
  hat: 'HAT',
  dat: 'DAT',
};

export interface DetectedArchitecture {
  readonly arch: Architecture<unknown>;
  readonly detected: Detected<unknown>;
}

const SAMPLE_KEY_COUNT = 6;

/** A few key names that show what the file holds: the first ones and the last one. */
export function sampleKeys(keys: readonly string[]): string[] {
  if (keys.length <= SAMPLE_KEY_COUNT) return [...keys];
  return [...keys.slice(0, SAMPLE_KEY_COUNT - 1), '...', keys[keys.length - 1] as string];
}

/**
 * Recognises the state dict's architecture and reads its configuration. `label` names the
 * file in errors. Throws when no module or more than one recognises it; a module that
 * recognises the keys but finds them inconsistent throws its own error, prefixed by `label`.
 */
export function detectArchitecture(sd: StateDict, label: string): DetectedArchitecture {
  return detectAmong(ARCHITECTURES, sd, label);
}

/** detectArchitecture over a given list of modules (tests pass their own). */
export function detectAmong(
  architectures: readonly Architecture<unknown>[],
  sd: StateDict,
  label: string,
): DetectedArchitecture {
  const matches: DetectedArchitecture[] = [];
  // A module that recognises the keys but rejects their shapes is only reported when no
  // other module accepts the weights outright.
  const misfits: string[] = [];
  for (const arch of architectures) {
    try {
      const detected = arch.detect(sd);
      if (detected) matches.push({ arch, detected });
    } catch (e) {
      misfits.push(`the weights look like ${arch.name} but do not fit it: ${(e as Error).message}`);
    }
  }
  if (matches.length === 1) return matches[0] as DetectedArchitecture;
  if (matches.length > 1) {
    throw new Error(
      `${label}: the weights match more than one architecture (${matches.map((m) => m.arch.name).join(', ')}); ` +
        'they cannot be converted safely. Please report this file.',
    );
  }
  if (misfits.length > 0) throw new Error(`${label}: ${misfits.join('; ')}`);
  const keys = [...sd.keys()];
  const found =
    keys.length === 0
      ? 'no tensors at all'
      : `${keys.length} tensor${keys.length === 1 ? '' : 's'} with keys such as ${sampleKeys(keys)
          .map((k) => (k === '...' ? k : `'${k}'`))
          .join(', ')}`;
  throw new Error(`${label}: unknown architecture: found ${found}. ` + `Supported: ${SUPPORTED_FAMILIES.join('; ')}.`);
}

/** One line for lists and logs, e.g. "SwinIR x4 — SwinIR lightweight (input multiple 8)". */
export function describeArch(info: ArchInfo): string {
  const multiple = info.inputMultiple > 1 ? ` (input multiple ${info.inputMultiple})` : '';
  return `${FAMILY_NAMES[info.family]} x${info.scale} — ${info.variant}${multiple}`;
}
