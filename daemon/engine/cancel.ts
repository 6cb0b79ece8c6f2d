// Cancellation inside a job: one AbortSignal from the request down to the tile loop,
// checked between tiles and between stages.
import { DaemonError } from '../protocol/errors';

/** Throws the protocol's Cancelled error once `signal` is aborted. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new DaemonError('Cancelled', 'the job was cancelled');
}
