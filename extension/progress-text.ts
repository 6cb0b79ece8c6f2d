// How a job's progress reads in a notification, and how far along it is. Pure: the
// notification (extension/job-runner.ts) only forwards what these return.
import * as path from 'node:path';
import type { ProgressParams } from '../contract/protocol';

const STAGE_WORDS: Readonly<Record<ProgressParams['stage'], string>> = {
  queued: 'waiting',
  decode: 'reading',
  load: 'loading the model',
  infer: 'upscaling',
  resize: 'resizing',
  encode: 'writing',
  done: 'done',
};

/**
 * "photo.png: pass 1 of 2, tile 3 of 12" and the like; without `input` (a single job whose
 * notification title already names the file) just "pass 1 of 2, tile 3 of 12".
 */
export function progressMessage(p: ProgressParams, input?: string): string {
  const prefix = input === undefined ? '' : `${path.basename(input)}: `;
  if (p.stage === 'queued') {
    const ahead = p.queuePosition ?? 0;
    return `${prefix}waiting${ahead > 0 ? ` (${ahead} job${ahead === 1 ? '' : 's'} ahead)` : ''}`;
  }
  const parts: string[] = [];
  if (p.passes > 1) parts.push(`pass ${p.pass} of ${p.passes}`);
  if (p.stage === 'infer' && p.total > 0) parts.push(`tile ${p.done} of ${p.total}`);
  else parts.push(STAGE_WORDS[p.stage]);
  return `${prefix}${parts.join(', ')}`;
}

/** Fraction (0..1) of one job done: passes share the job evenly, tiles share a pass. */
export function jobFraction(p: ProgressParams): number {
  if (p.stage === 'done') return 1;
  if (p.passes <= 0 || p.stage === 'queued' || p.stage === 'decode' || p.stage === 'load') return 0;
  const inPass = p.stage === 'infer' ? (p.total > 0 ? p.done / p.total : 0) : 1;
  const f = (Math.max(p.pass, 1) - 1 + inPass) / p.passes;
  return Math.min(Math.max(f, 0), 1);
}

/**
 * vscode.Progress takes increments, not positions. This turns positions (which may repeat
 * or go back, e.g. when the daemon retries with a smaller tile) into increments that never
 * go backwards and add up to at most 100.
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
