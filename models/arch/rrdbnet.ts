// RRDBNet as BasicSR and Real-ESRGAN store it (`conv_first`, `body.N.rdbK.convJ`,
// `conv_body`, `conv_upN`, `conv_hr`, `conv_last`): RealESRGAN_x4plus, x2plus, anime_6B and
// the many community models trained with BasicSR. The x8 forks (ai-forever/Real-ESRGAN)
// add `conv_up3`, one more nearest x2 stage; any number of `conv_upN` is accepted.
// Also read here, because it shares `conv_first`: the names ESRGAN's 2019 re-release,
// BSRGAN and pre-1.0 BasicSR use (`RRDB_trunk.N.RDBk.convJ`, `trunk_conv`, `upconvN`,
// `HRconv`, `conv_last`).
import type { Architecture, Detected } from './types';
import type { StateDict } from '../readers/state-dict';
import { buildRrdbNet, countBlocks, readRrdbConfig, type RrdbLayout, type RrdbNetConfig } from './rrdb-block';

export type { RrdbNetConfig } from './rrdb-block';

interface ConvFirstLayout {
  readonly layout: RrdbLayout;
  readonly label: string;
  /** Matches a dense conv inside the body and captures its block index. */
  readonly denseConv: RegExp;
  /** Matches an upsample conv and captures its 1-based stage number. */
  readonly upConv: RegExp;
  readonly upName: (stage: number) => string;
}

const LAYOUTS: readonly ConvFirstLayout[] = [
  {
    layout: 'basicsr',
    label: 'BasicSR / Real-ESRGAN keys',
    denseConv: /^body\.(\d+)\.rdb\d+\.conv\d+\.(weight|bias)$/,
    upConv: /^conv_up(\d+)\./,
    upName: (i) => `conv_up${i}`,
  },
  {
    layout: 'esrgan-2019',
    label: 'ESRGAN 2019 / BSRGAN keys',
    denseConv: /^RRDB_trunk\.(\d+)\.RDB\d+\.conv\d+\.(weight|bias)$/,
    upConv: /^upconv(\d+)\./,
    upName: (i) => `upconv${i}`,
  },
];

const MIN_UPSAMPLE_STAGES = 2;

/**
 * Upsample convs must be numbered 1, 2, ... without gaps. Both upstreams always build at
 * least two (x2 and x1 models get there through pixel_unshuffle), so fewer means a
 * truncated file, not a smaller scale.
 */
export function countUpsampleStages(
  keys: Iterable<string>,
  upConv: RegExp,
  upName: (stage: number) => string,
  why: string,
): number {
  const present = new Set<number>();
  for (const k of keys) {
    const m = upConv.exec(k);
    if (m) present.add(Number(m[1]));
  }
  const highest = Math.max(MIN_UPSAMPLE_STAGES, ...present);
  for (let i = 1; i <= highest; i++) {
    if (!present.has(i)) {
      throw new Error(
        `${why}: the weights have no tensor '${upName(i)}.weight' (expected upsample convs ${upName(1)}..${upName(highest)})`,
      );
    }
  }
  return highest;
}

export const rrdbnet: Architecture<RrdbNetConfig> = {
  name: 'rrdbnet',

  detect(sd: StateDict): Detected<RrdbNetConfig> | null {
    if (!sd.has('conv_first.weight')) return null;
    const keys = [...sd.keys()];
    const named = LAYOUTS.find((l) => keys.some((k) => l.denseConv.test(k)));
    if (!named) return null;

    const why = `RRDBNet (${named.label})`;
    const config = readRrdbConfig(
      sd,
      named.layout,
      countBlocks(keys, named.denseConv),
      countUpsampleStages(keys, named.upConv, named.upName, why),
      why,
    );
    const unshuffled = config.unshuffleFactor > 1 ? `, pixel_unshuffle ${config.unshuffleFactor}` : '';
    return {
      info: {
        family: 'esrgan',
        variant: `RRDBNet (${named.label}${unshuffled})`,
        scale: config.scale,
        // Odd sizes are reflect-padded inside the graph, so no multiple is needed.
        inputMultiple: 1,
        // Upstream's constructor argument names, so the registry reads like the training config.
        params: {
          num_in_ch: 3,
          num_out_ch: 3,
          scale: config.scale,
          num_feat: config.numFeat,
          num_block: config.numBlock,
          num_grow_ch: config.numGrowCh,
          pixel_unshuffle: config.unshuffleFactor,
          upsample_stages: config.upsampleStages,
        },
      },
      config,
    };
  },

  build(sd: StateDict, config: RrdbNetConfig): Uint8Array {
    return buildRrdbNet(sd, config, 'rrdbnet');
  },
};
