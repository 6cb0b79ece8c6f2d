// A job's progress as the user reads it, in the notification and the preview panel alike:
// the words for each stage, durations, time left, and how far along the job is between two
// notifications. Pure, and free of DOM and Node imports, so both the extension and the
// webview bundle use it.

import type { JobStage } from '../contract/protocol';

/** Hours, minutes and seconds in the one style used everywhere: "47 s", "2 min 27 s", "1 h 3 min". */
function clockText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return s === 0 ? `${m} min` : `${m} min ${s} s`;
  }
  const minutes = Math.round(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A measured time: "0.4 s" and "12.8 s" under a minute, then "2 min 27 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  // 59.96 s would print as "60.0 s"; from there on whole seconds.
  if (safe < 59_950) return `${(safe / 1000).toFixed(1)} s`;
  return clockText(Math.round(safe / 1000));
}

/**
 * An estimate of the time left, rounded so that it does not flicker while it counts down:
 * to 5 s under a minute, 10 s under ten minutes, then whole minutes.
 */
export function formatTimeLeft(ms: number): string {
  const seconds = Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
  if (seconds < 10) return 'under 10 s left';
  const step = seconds < 60 ? 5 : seconds < 600 ? 10 : 60;
  return `about ${clockText(Math.round(seconds / step) * step)} left`;
}

/** How far along a job is, as of one moment. */
export interface ProgressEstimate {
  /** Fraction of the job done, 0..1. */
  readonly fraction: number;
  /** Estimated milliseconds of work left; absent while the daemon has no estimate. */
  readonly leftMs?: number;
}

/**
 * Interpolation between notifications stops short of the end, so a job that runs slower
 * than estimated waits near the end rather than sitting at 100% while still working.
 */
const MAX_INTERPOLATED = 0.95;

/**
 * The estimate `elapsedMs` after it was made, assuming the work goes on at the estimated
 * rate: progress moves by time between notifications (a one-tile job gets one notification
 * at its end), and with no estimate of the time left it stays where it was.
 */
export function advanceEstimate(e: ProgressEstimate, elapsedMs: number): ProgressEstimate {
  if (e.leftMs === undefined || e.leftMs <= 0 || !(elapsedMs > 0)) return e;
  const share = Math.min(elapsedMs / e.leftMs, MAX_INTERPOLATED);
  return { fraction: e.fraction + (1 - e.fraction) * share, leftMs: Math.max(0, e.leftMs - elapsedMs) };
}

/** What a job's progress notifications say that the estimate needs. */
export interface ProgressCounts {
  readonly stage: JobStage;
  readonly pass: number;
  readonly passes: number;
  readonly done: number;
  readonly total: number;
  /** With TTA: the model runs each tile takes; done and total then count runs. */
  readonly runsPerTile?: number;
  /** The daemon's estimate of the time left in the whole job, from the rates it has measured. */
  readonly etaMs?: number;
}

/** Fraction (0..1) of one job done by tiles alone: passes share the job evenly, tiles share a pass. */
export function tileFraction(p: ProgressCounts): number {
  if (p.stage === 'done') return 1;
  if (p.passes <= 0 || p.stage === 'queued' || p.stage === 'decode' || p.stage === 'load') return 0;
  const inPass = p.stage === 'infer' ? (p.total > 0 ? p.done / p.total : 0) : 1;
  const f = (Math.max(p.pass, 1) - 1 + inPass) / p.passes;
  return Math.min(Math.max(f, 0), 1);
}

/**
 * Follows one job's notifications and says how far along it is. With the daemon's estimate
 * of the time left in the job, the fraction is the time the job has run over that time plus
 * the time left, so it moves by time, not by tiles or stages; without one it counts tiles.
 */
export class JobClock {
  private startedAt: number | undefined;
  private last: { readonly estimate: ProgressEstimate; readonly at: number } | undefined;

  constructor(private readonly now: () => number) {}

  /** A notification arrived: the estimate as of now. */
  update(p: ProgressCounts): ProgressEstimate {
    const at = this.now();
    // A queued job's estimate would count down while it waits: its clock starts when it runs.
    const running = p.stage !== 'queued' && p.stage !== 'done';
    if (running) this.startedAt ??= at;
    const eta = p.etaMs !== undefined && Number.isFinite(p.etaMs) && p.etaMs >= 0 ? p.etaMs : undefined;
    let estimate: ProgressEstimate;
    if (running && eta !== undefined && this.startedAt !== undefined) {
      const spent = at - this.startedAt;
      estimate = { fraction: spent + eta > 0 ? spent / (spent + eta) : tileFraction(p), leftMs: eta };
    } else {
      estimate = { fraction: tileFraction(p) };
    }
    this.last = { estimate, at };
    return estimate;
  }

  /** The estimate now, moved on by the time since the last notification. */
  current(): ProgressEstimate | undefined {
    return this.last && advanceEstimate(this.last.estimate, this.now() - this.last.at);
  }
}

const STAGE_WORDS: Readonly<Record<ProgressCounts['stage'], string>> = {
  queued: 'waiting',
  decode: 'reading the image',
  load: 'loading the model',
  infer: 'upscaling',
  resize: 'resizing to the exact size',
  encode: 'writing the file',
  done: 'done',
};

/**
 * "pass 1 of 2 · 3 of 12 tiles · about 40 s left", "waiting (2 jobs ahead)", "writing the
 * file". A job in one tile says "upscaling" rather than counting to one; the time left is
 * said while the job still works and an estimate exists.
 */
export function progressWords(p: ProgressCounts & { readonly queuePosition?: number }, e?: ProgressEstimate): string {
  if (p.stage === 'queued') {
    const ahead = p.queuePosition ?? 0;
    return `waiting${ahead > 0 ? ` (${ahead} job${ahead === 1 ? '' : 's'} ahead)` : ''}`;
  }
  const parts: string[] = [];
  if (p.passes > 1 && p.pass > 0 && (p.stage === 'infer' || p.stage === 'resize'))
    parts.push(`pass ${Math.min(p.pass, p.passes)} of ${p.passes}`);
  const unit = (p.runsPerTile ?? 1) > 1 ? 'runs' : 'tiles';
  parts.push(p.stage === 'infer' && p.total > 1 ? `${p.done} of ${p.total} ${unit}` : STAGE_WORDS[p.stage]);
  if (p.stage !== 'done' && e?.leftMs !== undefined) parts.push(formatTimeLeft(e.leftMs));
  return parts.join(' · ');
}
