// The job queue: jobs run one at a time (one model on the accelerator at once), in
// submission order, and any job, queued or running, can be cancelled by its request id.
// A running job notices cancellation at its next checkpoint (before every tile).
import { DaemonError } from '../contract/errors';

export type Checkpoint = () => void;

interface QueuedJob {
  readonly requestId: number | string;
  readonly run: (checkpoint: Checkpoint) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly onPosition?: ((position: number) => void) | undefined;
  cancelled: boolean;
}

export class JobQueue {
  private readonly waiting: QueuedJob[] = [];
  private running: QueuedJob | null = null;

  /** Jobs waiting plus the one running. */
  get length(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  enqueue<T>(
    requestId: number | string,
    run: (checkpoint: Checkpoint) => Promise<T>,
    onPosition?: (position: number) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: QueuedJob = {
        requestId,
        run,
        resolve: resolve as (v: unknown) => void,
        reject,
        onPosition,
        cancelled: false,
      };
      this.waiting.push(job);
      if (this.running) onPosition?.(this.waiting.length - 1);
      void this.pump();
    });
  }

  /** Cancels the job answering `requestId`; false when there is none. */
  cancel(requestId: number | string): boolean {
    if (this.running?.requestId === requestId) {
      this.running.cancelled = true;
      return true;
    }
    const i = this.waiting.findIndex((j) => j.requestId === requestId);
    if (i < 0) return false;
    const [job] = this.waiting.splice(i, 1);
    job?.reject(new DaemonError('Cancelled', 'the job was cancelled before it started'));
    this.announcePositions();
    return true;
  }

  cancelAll(): void {
    for (const job of this.waiting.splice(0))
      job.reject(new DaemonError('Cancelled', 'the job was cancelled before it started'));
    if (this.running) this.running.cancelled = true;
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
    const checkpoint: Checkpoint = () => {
      if (job.cancelled) throw new DaemonError('Cancelled', 'the job was cancelled');
    };
    try {
      job.resolve(await job.run(checkpoint));
    } catch (e) {
      job.reject(
        job.cancelled && !(e instanceof DaemonError && e.errorName !== 'Cancelled')
          ? new DaemonError('Cancelled', 'the job was cancelled')
          : e,
      );
    } finally {
      this.running = null;
      void this.pump();
    }
  }
}
