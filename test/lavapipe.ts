// Mesa's lavapipe (software Vulkan) as the only Vulkan driver, for the tests of the WebGPU
// path: unpacked into the cache by scripts/lavapipe.sh (which .ci/run calls). When it is
// missing the tests fail with that command, rather than being skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../models/paths';

export interface Lavapipe {
  /** Environment that makes Mesa 25's lavapipe the only Vulkan driver of a child process. */
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  /** The manifest of Debian 12's own lavapipe (Mesa 22), which Dawn refuses. */
  readonly refusedIcd: string;
}

export function lavapipe(): Lavapipe {
  const file = path.join(cacheRoot(), 'lavapipe', 'env');
  const missing = (what: string) =>
    new Error(`${what}: run \`bash scripts/lavapipe.sh\` (as .ci/run does) to unpack Mesa's lavapipe into the cache`);
  if (!fs.existsSync(file)) throw missing(`lavapipe is not unpacked (${file} is missing)`);
  const values = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1));
  }
  const get = (key: string): string => {
    const v = values.get(key);
    if (v === undefined) throw missing(`${file} has no ${key}`);
    return v;
  };
  const icd = get('VK_DRIVER_FILES');
  if (!fs.existsSync(icd)) throw missing(`${icd} is missing`);
  const inherited = process.env.LD_LIBRARY_PATH;
  return {
    env: {
      VK_DRIVER_FILES: icd,
      VK_ICD_FILENAMES: get('VK_ICD_FILENAMES'),
      LD_LIBRARY_PATH: inherited ? `${get('LD_LIBRARY_PATH')}:${inherited}` : get('LD_LIBRARY_PATH'),
    },
    version: get('LAVAPIPE_VERSION'),
    refusedIcd: get('REFUSED_LAVAPIPE_ICD'),
  };
}
