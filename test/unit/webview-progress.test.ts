// How progress reads in the notification and the panel: one time format, the time left
// rounded so it does not flicker, and a job's fraction moving by time between notifications.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advanceEstimate,
  formatDuration,
  formatTimeLeft,
  JobClock,
  progressWords,
  tileFraction,
  type ProgressCounts,
} from '../../webview/progress';

const close = (actual: number | undefined, expected: number, message?: string) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${message ?? ''} ${actual} != ${expected}`);

const counts = (over: Partial<ProgressCounts>): ProgressCounts => ({
  stage: 'infer',
  pass: 1,
  passes: 1,
  done: 0,
  total: 1,
  ...over,
});

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 10_000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

test('durations: tenths under a minute, then minutes and seconds, then hours and minutes', () => {
  assert.equal(formatDuration(0), '0.0 s');
  assert.equal(formatDuration(420), '0.4 s');
  assert.equal(formatDuration(12_800), '12.8 s');
  assert.equal(formatDuration(59_940), '59.9 s');
  assert.equal(formatDuration(59_960), '1 min');
  assert.equal(formatDuration(146_700), '2 min 27 s');
  assert.equal(formatDuration(3_780_000), '1 h 3 min');
  assert.equal(formatDuration(7_200_000), '2 h');
  assert.equal(formatDuration(Number.NaN), '0.0 s');
  assert.equal(formatDuration(-5), '0.0 s');
});

test('time left: rounded to 5 s, then 10 s, then minutes; never negative', () => {
  assert.equal(formatTimeLeft(0), 'under 10 s left');
  assert.equal(formatTimeLeft(9_999), 'under 10 s left');
  assert.equal(formatTimeLeft(12_000), 'about 10 s left');
  assert.equal(formatTimeLeft(43_000), 'about 45 s left');
  assert.equal(formatTimeLeft(58_000), 'about 1 min left');
  assert.equal(formatTimeLeft(146_700), 'about 2 min 30 s left');
  assert.equal(formatTimeLeft(1_234_000), 'about 21 min left');
  assert.equal(formatTimeLeft(3_900_000), 'about 1 h 5 min left');
  assert.equal(formatTimeLeft(-1), 'under 10 s left');
});

test('the words: pass and tiles while inferring, one tile says upscaling, the time left only while working', () => {
  assert.equal(progressWords(counts({ pass: 2, passes: 3, done: 5, total: 12 })), 'pass 2 of 3 · 5 of 12 tiles');
  assert.equal(progressWords(counts({ done: 0, total: 1 })), 'upscaling');
  assert.equal(progressWords(counts({ stage: 'decode', pass: 0, passes: 2 })), 'reading the image');
  assert.equal(
    progressWords(counts({ stage: 'resize', pass: 2, passes: 2 })),
    'pass 2 of 2 · resizing to the exact size',
  );
  assert.equal(progressWords({ ...counts({ stage: 'queued' }), queuePosition: 1 }), 'waiting (1 job ahead)');
  assert.equal(
    progressWords(counts({ done: 3, total: 12 }), { fraction: 0.3, leftMs: 40_000 }),
    '3 of 12 tiles · about 40 s left',
  );
  assert.equal(
    progressWords(counts({ stage: 'load' }), { fraction: 0, leftMs: 40_000 }),
    'loading the model · about 40 s left',
  );
  assert.equal(
    progressWords(counts({ stage: 'encode' }), { fraction: 0.9, leftMs: 40_000 }),
    'writing the file · about 40 s left',
  );
  assert.equal(progressWords(counts({ stage: 'done' }), { fraction: 1, leftMs: 0 }), 'done');
});

test('tile fractions: passes share the job evenly, tiles share a pass', () => {
  assert.equal(tileFraction(counts({ done: 3, total: 12 })), 0.25);
  assert.equal(tileFraction(counts({ pass: 2, passes: 2, done: 2, total: 4 })), 0.75);
  assert.equal(tileFraction(counts({ stage: 'resize', pass: 2, passes: 2 })), 1);
  assert.equal(tileFraction(counts({ stage: 'decode' })), 0);
  assert.equal(tileFraction(counts({ stage: 'done' })), 1);
});

test('between notifications the fraction moves by time, toward but never to the end', () => {
  const e = { fraction: 0.5, leftMs: 10_000 };
  assert.deepEqual(advanceEstimate(e, 0), e);
  const later = advanceEstimate(e, 4_000);
  close(later.fraction, 0.7);
  assert.equal(later.leftMs, 6_000);
  const overdue = advanceEstimate(e, 60_000);
  close(overdue.fraction, 0.5 + 0.5 * 0.95, 'held short of the end');
  assert.equal(overdue.leftMs, 0);
  // Without an estimate of the time left there is nothing to move by.
  assert.deepEqual(advanceEstimate({ fraction: 0.25 }, 5_000), { fraction: 0.25 });
});

test('a job without an estimate from the daemon: no time left, and the fraction counts tiles', () => {
  const c = clock();
  const job = new JobClock(c.now);
  assert.equal(job.current(), undefined);
  assert.deepEqual(job.update(counts({ stage: 'decode', pass: 0, total: 0 })), { fraction: 0 });
  assert.deepEqual(job.update(counts({ done: 0, total: 1 })), { fraction: 0 });
  c.advance(30_000);
  assert.deepEqual(job.current(), { fraction: 0 });
  assert.deepEqual(job.update(counts({ stage: 'encode' })), { fraction: 1 });
});

test("a job with the daemon's estimate: time spent over time spent plus left, moving by time within a tile", () => {
  const c = clock();
  const job = new JobClock(c.now);
  // The estimate comes with the first notification, before any tile is done.
  assert.deepEqual(job.update(counts({ stage: 'decode', pass: 0, total: 0, etaMs: 40_000 })), {
    fraction: 0,
    leftMs: 40_000,
  });
  c.advance(10_000);
  const start = job.update(counts({ done: 0, total: 1, etaMs: 30_000 }));
  assert.deepEqual(start, { fraction: 0.25, leftMs: 30_000 });
  // One tile, one notification at its end: in between the fraction moves by time.
  c.advance(15_000);
  const mid = job.current();
  close(mid?.fraction, 0.625);
  assert.equal(mid?.leftMs, 15_000);
  // Writing the file is part of the job: its time is counted too.
  c.advance(14_000);
  const writing = job.update(counts({ stage: 'encode', etaMs: 1_000 }));
  close(writing.fraction, 39 / 40);
  assert.equal(writing.leftMs, 1_000);
  // Several tiles: after 3 of 12 in 30 s with 90 s left, a quarter is done.
  const multi = new JobClock(c.now);
  multi.update(counts({ done: 0, total: 12 }));
  c.advance(30_000);
  const e = multi.update(counts({ done: 3, total: 12, etaMs: 90_000 }));
  close(e.fraction, 0.25);
  assert.equal(e.leftMs, 90_000);
  // A queued job's estimate would count down while it waits: none is given.
  assert.deepEqual(new JobClock(c.now).update(counts({ stage: 'queued', etaMs: 5_000 })), { fraction: 0 });
});
