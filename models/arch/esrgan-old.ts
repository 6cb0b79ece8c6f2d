// RRDBNet in the 2018 ESRGAN layout (`model.0`, `model.1.sub.N.RDBk.convj.0`, `model.3`,
// ...): the original RRDB_ESRGAN_x4.pth and most community "old arch" models of any scale.
// The network is BasicSR's RRDBNet under other names; only the key mapping lives here.
import type { Architecture, Detected } from './types';
import type { StateDict } from '../readers/state-dict';
import { buildRrdbNet, countBlocks, readRrdbConfig, type RrdbNetConfig } from './rrdb-block';

const WHY = 'RRDBNet (ESRGAN 2018 keys)';

/** A dense block's conv, its block index captured. */
const BLOCK_INDEX = /^model\.1\.sub\.(\d+)\.RDB\d+\./;
const TOP_LEVEL_CONV = /^model\.(\d+)\.(weight|bias)$/;

/**
 * The flattened nn.Sequential puts upsample convs at 3, 6, 9, ... (each stage is
 * Upsample, conv, LeakyReLU), then the HR conv, its LeakyReLU and the last conv; so the
 * indices after model.1 fix the number of stages: x4 is 3, 6, 8, 10, x2 is 3, 5, 7, x8 is
 * 3, 6, 9, 11, 13 and x1 is 2, 4.
 */
export function countOldUpsampleStages(keys: Iterable<string>): number {
  const indices = new Set<number>();
  for (const k of keys) {
    const m = TOP_LEVEL_CONV.exec(k);
    if (m && m[1] !== '0') indices.add(Number(m[1]));
  }
  const found = [...indices].sort((a, b) => a - b);
  const stages = found.length - 2;
  const expected: number[] = [];
  for (let i = 0; i < stages; i++) expected.push(3 + 3 * i);
  expected.push(3 * stages + 2, 3 * stages + 4);
  if (stages < 0 || found.some((v, i) => v !== expected[i])) {
    throw new Error(
      `${WHY}: top-level convs at ${found.map((i) => `model.${i}`).join(', ') || 'none'} after model.1, ` +
        'expected upsample convs at model.3, model.6, ... then the HR conv and the last conv two apart ' +
        '(x4: model.3, model.6, model.8, model.10)',
    );
  }
  return stages;
}

export const esrganOld: Architecture<RrdbNetConfig> = {
  name: 'esrgan-old',

  detect(sd: StateDict): Detected<RrdbNetConfig> | null {
    if (!sd.has('model.0.weight')) return null;
    const keys = [...sd.keys()];
    if (!keys.some((k) => BLOCK_INDEX.test(k))) return null;

    const config = readRrdbConfig(sd, 'esrgan-2018', countBlocks(keys, BLOCK_INDEX), countOldUpsampleStages(keys), WHY);
    const unshuffled = config.unshuffleFactor > 1 ? `, pixel_unshuffle ${config.unshuffleFactor}` : '';
    return {
      info: {
        family: 'esrgan',
        variant: `RRDBNet (old ESRGAN keys${unshuffled})`,
        scale: config.scale,
        inputMultiple: 1,
        // The 2018 constructor's argument names. Its `gc` argument was ignored upstream (growth
        // is hard-coded to 32 there); this is the growth the weights actually have.
        params: {
          in_nc: 3,
          out_nc: 3,
          nf: config.numFeat,
          nb: config.numBlock,
          gc: config.numGrowCh,
          upscale: config.scale,
          pixel_unshuffle: config.unshuffleFactor,
          upsample_stages: config.upsampleStages,
        },
      },
      config,
    };
  },

  build(sd: StateDict, config: RrdbNetConfig): Uint8Array {
    return buildRrdbNet(sd, config, 'esrgan_old');
  },
};
