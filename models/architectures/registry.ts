// Every architecture Upscale recognises, in the order their key conditions are tried:
// those it converts by their module, the rest of spandrel 0.4.2's by their recognition
// entry (recognised.ts). Detection, the architecture id type, labels, family names and the
// list of what is supported all derive from this list. Where two architectures' keys
// overlap, the one whose keys include the other's comes first: MMRealSR before ESRGAN
// (MMRealSR is an RRDBNet with a degradation branch), HAT and Swin2SR before SwinIR.
// Otherwise the order is spandrel's (its main_registry.py), with the converted ones first
// among their neighbours so that the supported list starts with the most common.
//
// Adding an architecture: its module folder, its line here in place of `R.<id>` (and the
// entry deleted from recognised.ts), and its fixture folder.
import type { ArchitectureModule, Family } from './types';
import { RECOGNISED as R, type Recognised } from './recognised';
import { mmrealsr } from './mmrealsr';
import { esrgan } from './esrgan';
import { compact } from './compact';
import { swiftsrgan } from './swiftsrgan';
import { hat } from './hat';
import { grl } from './grl';
import { swin2sr } from './swin2sr';
import { swinir } from './swinir';
import { omnisr } from './omnisr';
import { rgt } from './rgt';
import { dat } from './dat';
import { craft } from './craft';
import { ditn } from './ditn';
import { span } from './span';
import { realcugan } from './realcugan';
import { safmn } from './safmn';
import { safmnbcie } from './safmnbcie';
import { dctlsa } from './dctlsa';
import { atd } from './atd';
import { drct } from './drct';
import { plksr } from './plksr';
import { seemore } from './seemore';
import { mosr } from './mosr';
import { moesr } from './moesr';
import { rcan } from './rcan';
import { fdat } from './fdat';

export const DETECTION_ORDER = [
  mmrealsr,
  esrgan,
  compact,
  swiftsrgan,
  hat,
  grl,
  swin2sr,
  swinir,
  R.gfpgan,
  R.restoreformer,
  R.lama,
  omnisr,
  R.scunet,
  R.fbcnn,
  R.uformer,
  rgt,
  dat,
  craft,
  R.kbnet,
  ditn,
  span,
  realcugan,
  safmn,
  safmnbcie,
  dctlsa,
  R.fftformer,
  R.nafnet,
  atd,
  R.mixdehazenet,
  R.drunet,
  R.dncnn,
  R.ipt,
  drct,
  plksr,
  R.retinexformer,
  R.hvicidnet,
  seemore,
  mosr,
  moesr,
  rcan,
  fdat,
  R.aurasr,
] as const;

type Entry = (typeof DETECTION_ORDER)[number];

/** The id of an architecture Upscale converts ('esrgan', 'compact', 'swinir', 'hat', 'dat', …). */
export type ArchitectureId = Extract<Entry, { readonly build: unknown }>['id'];

/** Any converting module, whatever its configuration type. */
export type AnyArchitecture = ArchitectureModule<ArchitectureId, unknown>;

function isModule(entry: Entry): entry is Extract<Entry, { readonly build: unknown }> {
  return 'build' in entry;
}

/** The converting modules, in detection order. */
export const ARCHITECTURES: readonly AnyArchitecture[] = DETECTION_ORDER.filter(isModule);

/** The recognised-only entries, in detection order. */
export const RECOGNISED_ONLY: readonly Recognised[] = DETECTION_ORDER.filter(
  (e: Entry): e is Exclude<Entry, { readonly build: unknown }> => !isModule(e),
);

/** The family a module's models are listed under: its own unless it names another. */
export function familyOf(module: AnyArchitecture): Family {
  return module.family ?? { id: module.id, label: module.label };
}

/** How users know a family ('real-esrgan' → 'Real-ESRGAN'); an unknown id is shown as it is. */
export function familyLabel(id: string): string {
  return ARCHITECTURES.map(familyOf).find((f) => f.id === id)?.label ?? id;
}
