// How a job's progress reads in a notification. Pure: the notification
// (extension/job-runner.ts) only forwards what these return. The words themselves are the
// panel's too (webview/progress.ts).
import * as path from 'node:path';
import type { ProgressParams } from '../contract/protocol';
import { progressWords, type ProgressEstimate } from '../webview/progress';

/**
 * "photo.png: 3 of 12 tiles · about 40 s left"; without `input` (a single job, whose
 * notification title already names the file) just "3 of 12 tiles · about 40 s left".
 */
export function progressMessage(p: ProgressParams, input?: string, estimate?: ProgressEstimate): string {
  return `${input === undefined ? '' : `${path.basename(input)}: `}${progressWords(p, estimate)}`;
}

/**
 * vscode.Progress takes increments, not positions. This turns positions (which may repeat
 * or go back, e.g. when the daemon retries with a smaller tile, or a slow tile raises the
 * estimate) into increments that never go backwards and add up to at most 100.
 */
export class ProgressMeter {
  private reported = 0;

  /** Percent to add so that the bar shows `fraction` (0..1) of the whole, or 0. */
  advanceTo(fraction: number): number {
    const target = Math.min(Math.max(fraction, 0), 1) * 100;
    if (target <= this.reported) return 0;
    const increment = target - this.reported;
    this.reported = target;
    return increment;
  }

  get percent(): number {
    return this.reported;
  }
}

/** Fraction of a batch: finished jobs plus the running one's share. */
export function batchFraction(finished: number, count: number, current: number): number {
  if (count <= 0) return 1;
  return Math.min((finished + Math.min(Math.max(current, 0), 1)) / count, 1);
}
