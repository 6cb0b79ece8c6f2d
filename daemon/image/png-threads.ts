// The PNG writer's threads (png-worker.ts), one per core up to 4, started with the daemon's
// first streamed PNG and kept: a thread takes tens of milliseconds to start, which a
// whole-image job would otherwise wait for after its only tile. Idle, they keep no process
// alive; a thread that dies fails its bands and is replaced by the next band's call.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PngBand, PngBandAnswer } from './png-worker';

/** The worker's script: beside this module, in `out/` as in the bundle's `dist/`. */
const WORKER_SCRIPT = path.join(__dirname, 'png-worker.js');

/** How many bands may run at once. */
export const PNG_THREADS = Math.max(1, Math.min(4, os.availableParallelism()));

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, (answer: PngBandAnswer) => void>;
}

let threads: Thread[] = [];
let turn = 0;
let nextId = 0;

function spawn(): Thread {
  const worker = new Worker(WORKER_SCRIPT);
  worker.unref();
  const thread: Thread = { worker, pending: new Map() };
  worker.on('message', (answer: PngBandAnswer) => {
    const resolve = thread.pending.get(answer.id);
    thread.pending.delete(answer.id);
    if (thread.pending.size === 0) worker.unref();
    resolve?.(answer);
  });
  const lost = (why: string): void => {
    threads = threads.filter((t) => t !== thread);
    for (const [id, resolve] of thread.pending) resolve({ id, error: why });
    thread.pending.clear();
  };
  worker.on('error', (e) => lost(e.message));
  worker.on('exit', (code) => lost(`a PNG encoder thread stopped (exit code ${code})`));
  return thread;
}

/** Filters and deflates one band on the next thread, in turn; never rejects (a failure is an answer). */
export function encodeBand(band: Omit<PngBand, 'id'>): Promise<PngBandAnswer> {
  while (threads.length < PNG_THREADS) threads.push(spawn());
  const thread = threads[turn++ % threads.length] as Thread;
  const id = nextId++;
  return new Promise((resolve) => {
    thread.pending.set(id, resolve);
    // Held while it has work, so a process waiting only for its answer stays alive.
    thread.worker.ref();
    thread.worker.postMessage({ ...band, id } satisfies PngBand);
  });
}
