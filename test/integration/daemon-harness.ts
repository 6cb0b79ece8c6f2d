// Starts the real daemon (the compiled `upscale daemon`) over real stdio for a test, with
// an empty user models folder of its own; the built-in models come from the cache that
// `npm run setup-models` (run by `pretest`) fills.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { spawnDaemon, type SpawnedDaemon } from '../../contract/rpc/connection';
import type { ProgressParams } from '../../contract/protocol';
import { REPO_ROOT } from '../fixtures';
import { Requests, Notifications } from '../../contract/methods';

export const DAEMON_ENTRY = path.join(REPO_ROOT, 'out', 'daemon', 'upscale.js');

export interface TestDaemon extends SpawnedDaemon {
  readonly progress: ProgressParams[];
  readonly stderr: string[];
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `upscale-${prefix}-`));
}

export function startDaemon(env: NodeJS.ProcessEnv = {}): TestDaemon {
  const stderr: string[] = [];
  const spawned = spawnDaemon(process.execPath, [DAEMON_ENTRY, 'daemon'], {
    env: { ...process.env, UPSCALE_MODELS_DIR: tempDir('models'), ...env },
    onStderr: (t) => stderr.push(t),
  });
  const progress: ProgressParams[] = [];
  spawned.connection.on(Notifications.progress, (p) => progress.push(p));
  return {
    ...spawned,
    progress,
    stderr,
    async stop() {
      if (spawned.process.exitCode === null && spawned.process.signalCode === null) {
        await spawned.connection.request(Requests.shutdown, {}).catch(() => undefined);
        spawned.connection.notify(Notifications.exit, {});
      }
      await spawned.exited;
    },
  };
}

/** A small RGB test image with structure (gradients and edges). */
export async function writeTestImage(
  file: string,
  width: number,
  height: number,
  opts: { alpha?: boolean } = {},
): Promise<void> {
  const channels = opts.alpha ? 4 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = (x + y) % 8 < 4 ? 40 : 220;
      if (opts.alpha) data[o + 3] = x < width / 2 ? 255 : 0;
    }
  await sharp(data, { raw: { width, height, channels } }).toFile(file);
}
