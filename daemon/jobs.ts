// The job queue: jobs run one at a time (one model on the accelerator at once), in
// submission order. Each job comes with the AbortSignal of its request (daemon/service.ts
// aborts it on `$/cancelRequest` or shutdown): a job still waiting leaves the queue at once,
// a running one is handed the signal and stops at its next check (before every tile).
import { DaemonError } from '../contract/errors';

interface QueuedJob {
  readonly run: (signal: AbortSignal) => Promise<unknown>;
  readonly signal: AbortSignal;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly onPosition?: ((position: number) => void) | undefined;
}

export class JobQueue {
  private readonly waiting: QueuedJob[] = [];
  private running: QueuedJob | null = null;

  /** Jobs waiting plus the one running. */
  get length(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  enqueue<T>(
    signal: AbortSignal,
    run: (signal: AbortSignal) => Promise<T>,
    onPosition?: (position: number) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: QueuedJob = { run, signal, resolve: resolve as (v: unknown) => void, reject, onPosition };
      if (signal.aborted) {
        reject(new DaemonError('Cancelled', 'the job was cancelled before it started'));
        return;
      }
      signal.addEventListener('abort', () => this.drop(job), { once: true });
      this.waiting.push(job);
      if (this.running) onPosition?.(this.waiting.length - 1);
      void this.pump();
    });
  }

  /** A waiting job whose request was cancelled leaves the queue; a running one sees its signal. */
  private drop(job: QueuedJob): void {
    const i = this.waiting.indexOf(job);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    job.reject(new DaemonError('Cancelled', 'the job was cancelled before it started'));
    this.announcePositions();
  }

  /** Resolves once nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private announcePositions(): void {
    this.waiting.forEach((j, i) => j.onPosition?.(i));
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    this.announcePositions();
    try {
      job.resolve(await job.run(job.signal));
    } catch (e) {
      job.reject(
        job.signal.aborted && !(e instanceof DaemonError && e.errorName !== 'Cancelled')
          ? new DaemonError('Cancelled', 'the job was cancelled')
          : e,
      );
    } finally {
      this.running = null;
      void this.pump();
    }
  }
}
