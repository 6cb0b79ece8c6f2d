// The real daemon (`out/daemon/upscale.js daemon`) driven over stdio, as the extension
// and the CLI drive it: every figure in the bench goes through the protocol.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/protocol/connection';
import type {
  ExecutionProviderChoice,
  InitializeResult,
  PrecisionChoice,
  ProgressParams,
  UpscaleParams,
  UpscaleResult,
} from '../daemon/protocol/protocol';

export const DAEMON_ENTRY = path.resolve('out', 'daemon', 'upscale.js');

export interface BenchDaemon extends SpawnedDaemon {
  readonly initialized: InitializeResult;
  /** Milliseconds from spawn to the `initialize` answer. */
  readonly startupMs: number;
  readonly pid: number;
  onProgress(handler: (p: ProgressParams) => void): () => void;
  stop(): Promise<void>;
}

export function benchTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `upscale-bench-${prefix}-`));
}

export async function startBenchDaemon(
  provider: ExecutionProviderChoice,
  precision: PrecisionChoice = 'auto',
): Promise<BenchDaemon> {
  const stderr: string[] = [];
  const spawnedAt = performance.now();
  const spawned = spawnDaemon(process.execPath, [DAEMON_ENTRY, 'daemon'], {
    // An empty user models folder: only the built-in models are listed.
    env: { ...process.env, UPSCALE_MODELS_DIR: benchTempDir('models') },
    onStderr: (t) => stderr.push(t),
  });
  const initialized = await spawned.connection
    .request('initialize', { clientName: 'upscale-bench', provider, precision })
    .catch((e: unknown) => {
      throw new Error(`the daemon did not initialize: ${(e as Error).message}\n${stderr.join('')}`);
    });
  const startupMs = performance.now() - spawnedAt;
  const pid = spawned.process.pid;
  if (pid === undefined) throw new Error('the daemon has no process id');
  return {
    ...spawned,
    initialized,
    startupMs,
    pid,
    onProgress: (handler) => spawned.connection.on('$/progress', handler),
    async stop() {
      if (spawned.process.exitCode === null && spawned.process.signalCode === null) {
        await spawned.connection.request('shutdown', {}).catch(() => undefined);
        spawned.connection.notify('exit', {});
      }
      await spawned.exited;
    },
  };
}

export interface TimedUpscale {
  readonly result: UpscaleResult;
  /** Client-side milliseconds from sending `upscale` to its answer. */
  readonly wallMs: number;
}

export async function timedUpscale(daemon: BenchDaemon, params: UpscaleParams): Promise<TimedUpscale> {
  const start = performance.now();
  const result = await daemon.connection.request('upscale', { overwrite: true, ...params });
  return { result, wallMs: performance.now() - start };
}
