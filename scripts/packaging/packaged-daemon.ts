// Runs the daemon of an unpacked package as the extension does (`node dist/upscale.js
// daemon`, spoken to over stdio), with nothing from this machine's caches: a fresh HOME
// and models folder, and the package's own default model. The runtime is the host's Node
// or another architecture's Node under an emulator (see qemu.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnDaemon } from '../../contract/rpc/connection';
import { Notifications, Requests } from '../../contract/methods';
import type { UpscaleResult } from '../../contract/protocol';
import type { UpscaleParams } from '../../contract/request';

/** How to start Node: `command ...args script daemon`. */
export interface NodeRuntime {
  readonly command: string;
  readonly args: readonly string[];
  /** For messages: `node v20.20.2 (x64)`, `qemu-aarch64-static + node v20 (arm64)`. */
  readonly label: string;
}

export const HOST_NODE: NodeRuntime = {
  command: process.execPath,
  args: [],
  label: `node ${process.version} (${process.arch})`,
};

/**
 * Upscales with the packaged daemon in `extensionDir` and returns its result. `work` is a
 * scratch folder for HOME and the models folder.
 */
export async function upscaleWithPackage(
  extensionDir: string,
  runtime: NodeRuntime,
  params: UpscaleParams,
  work: string,
): Promise<UpscaleResult> {
  const home = path.join(work, 'home');
  fs.mkdirSync(home, { recursive: true });
  const stderr: string[] = [];
  const daemon = spawnDaemon(
    runtime.command,
    [...runtime.args, path.join(extensionDir, 'dist', 'upscale.js'), 'daemon'],
    {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        UPSCALE_BUILTIN_DIR: path.join(extensionDir, 'dist', 'models'),
        UPSCALE_MODELS_DIR: path.join(work, 'models'),
      },
      onStderr: (t) => stderr.push(t),
    },
  );
  try {
    await daemon.connection.request(Requests.initialize, { clientName: 'package-check', provider: 'cpu' });
    return await daemon.connection.request(Requests.upscale, params);
  } catch (e) {
    throw new Error(`the packaged daemon under ${runtime.label} failed: ${(e as Error).message}\n${stderr.join('')}`);
  } finally {
    if (daemon.process.exitCode === null && daemon.process.signalCode === null) {
      await daemon.connection.request(Requests.shutdown, {}).catch(() => undefined);
      daemon.connection.notify(Notifications.exit, {});
    }
    await daemon.exited;
  }
}
