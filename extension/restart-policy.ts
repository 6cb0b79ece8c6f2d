// When to restart a daemon that died, as vscode-languageclient does: restart with a
// growing delay, but give up after too many crashes in a short time (a crash loop helps no
// one and hides the first error). Pure: the caller passes the time, so tests need no clock.

export interface RestartPolicyOptions {
  /** Crashes within `windowMs` that stop the restarts. */
  readonly maxCrashes: number;
  readonly windowMs: number;
  /** Delay before the first restart; doubled for each further crash in the window. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  maxCrashes: 5,
  windowMs: 3 * 60_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly crashesInWindow: number }
  | { readonly restart: false; readonly crashesInWindow: number; readonly reason: string };

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Records a crash at `now` (ms) and says whether and when to restart. */
  crashed(now: number): RestartDecision {
    this.crashes = [...this.crashes.filter((t) => now - t < this.options.windowMs), now];
    const n = this.crashes.length;
    if (n >= this.options.maxCrashes) {
      const minutes = this.options.windowMs / 60_000;
      return {
        restart: false,
        crashesInWindow: n,
        reason: `the Upscale daemon crashed ${n} times in the last ${minutes} minute${minutes === 1 ? '' : 's'}; it will not be restarted automatically`,
      };
    }
    const delayMs = Math.min(this.options.baseDelayMs * 2 ** (n - 1), this.options.maxDelayMs);
    return { restart: true, delayMs, crashesInWindow: n };
  }

  /** Forgets past crashes: the user asked for a restart, so they get a fresh budget. */
  reset(): void {
    this.crashes = [];
  }
}
