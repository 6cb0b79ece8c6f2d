// Moving a finished file into place, on every operating system. On Windows a rename over an
// existing file, or the removal of one, fails while another program holds it open without
// sharing deletion (an antivirus or indexer scanning the file just written, a preview
// reading it): EPERM, EACCES or EBUSY, for a moment. There the operation is tried again, a
// bounded number of times; on other systems those errors are lasting (permissions, a
// read-only folder) and are thrown at once.
import * as fs from 'node:fs/promises';

/** The errors Windows gives for a file another program holds for a moment. */
const HELD = new Set(['EPERM', 'EACCES', 'EBUSY']);

/**
 * The waits between tries on Windows, in milliseconds: doubling from 10 to 1 s, about 10 s
 * in all, longer than a scan holds a file. A file held open for longer is reported.
 */
export const HELD_RETRY_DELAYS_MS: readonly number[] = [10, 20, 40, 80, 160, 320, 640, ...Array<number>(9).fill(1000)];

export interface RetryOptions {
  /** Default: this process's platform. */
  readonly platform?: NodeJS.Platform;
  /** Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `op` on a file another program may hold; on Windows tries again while it is held (see the top of this file). */
export async function retryWhileHeld<T>(op: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const delays = (options.platform ?? process.platform) === 'win32' ? HELD_RETRY_DELAYS_MS : [];
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      const delay = delays[attempt];
      if (delay === undefined || !HELD.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      await (options.sleep ?? wait)(delay);
    }
  }
}

/** Renames `from` to `to`, replacing a file at `to`: the one way the code places a finished file. */
export function renameIntoPlace(from: string, to: string, options: RetryOptions = {}): Promise<void> {
  return retryWhileHeld(() => fs.rename(from, to), options);
}
