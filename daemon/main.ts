// `upscale daemon`: serve the protocol on stdin/stdout until the client says `exit` or
// goes away. stdout belongs to the protocol, so console output is sent to stderr.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { serveDaemon } from './server';
import { log } from './log';
import { removeAbandoned } from './temp-files';

/** V8's full collector, or null where it cannot be had. */
function fullGc(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/**
 * Node never collects while idle, so the garbage of a burst (large or hostile messages, a
 * finished job's buffers) would hold the daemon's memory up for as long as the editor
 * stays open. When no job is queued and the heap has grown well past its last collected
 * size, collect once.
 */
function collectWhenIdle(isIdle: () => boolean): void {
  const gc = fullGc();
  if (!gc) return;
  const size = (): number => {
    const m = process.memoryUsage();
    return m.heapTotal + m.arrayBuffers;
  };
  let settled = size();
  setInterval(() => {
    if (!isIdle() || size() < settled * 1.2 + 8 * 1024 * 1024) return;
    gc();
    settled = size();
  }, 3000).unref();
}

/** Removes what daemons killed mid-write left behind (daemon/temp-files.ts), saying what. */
export function cleanUp(): void {
  for (const file of removeAbandoned())
    log('info', `removed ${file}, left by a daemon that was killed while writing it`);
}

export async function runDaemon(): Promise<void> {
  // Anything that calls console.log must not corrupt the frame stream.
  console.log = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
  process.on('uncaughtException', (e) => log('error', `uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log('error', `unhandled rejection: ${String(e)}`));
  cleanUp();
  const endpoint = serveDaemon(process.stdin, process.stdout);
  collectWhenIdle(() => endpoint.service.queueLength === 0);
  await endpoint.closed;
  await endpoint.service.shutdown();
  // Let the last responses drain before leaving.
  process.stdout.write('', () => process.exit(0));
}
