// Command-line options of `npm run bench`. The provider is passed straight to the
// daemon's `initialize` and to the in-process ceiling session, so the same harness
// measures a GPU provider unchanged.
import * as path from 'node:path';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../contract/vocabulary';

/** The sections a run can be limited to with --only. */
export const BENCH_SECTIONS = [
  'speed',
  'sweep',
  'memory',
  'budget',
  'lifecycle',
  'quality',
  'border',
  'combos',
  'arch',
  'busy',
  'precision',
] as const;

export interface BenchOptions {
  /** A fast look (under 3 minutes): fewer sizes, x4plus only small, one photo. */
  readonly quick: boolean;
  readonly provider: ExecutionProviderChoice;
  readonly outDir: string;
  /** Sections to run (all when empty): speed, sweep, memory, budget, lifecycle, quality, border, combos, arch, busy, precision (GPU providers only). */
  readonly only: readonly string[];
  /** A 1x restoration model's file, imported for the combos section's chain; none: no chain is measured. */
  readonly restoration: string | null;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let quick = false;
  let provider: ExecutionProviderChoice = 'cpu';
  let outDir = path.resolve('bench-results');
  const only: string[] = [];
  let restoration: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--provider') {
      const p = value();
      if (!(EXECUTION_PROVIDERS as readonly string[]).includes(p))
        throw new Error(`--provider must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
      provider = p as ExecutionProviderChoice;
    } else if (arg === '--out') outDir = path.resolve(value());
    else if (arg === '--restoration') restoration = path.resolve(value());
    else if (arg === '--only') {
      const names = value().split(',');
      // A misspelt section would run nothing and still rewrite summary.json.
      const unknown = names.filter((n) => !(BENCH_SECTIONS as readonly string[]).includes(n));
      if (unknown.length > 0)
        throw new Error(`--only ${unknown.join(',')}: the sections are ${BENCH_SECTIONS.join(', ')}`);
      only.push(...names);
    } else
      throw new Error(
        `unknown option ${arg} (options: --quick, --provider P, --out DIR, --only ${BENCH_SECTIONS.join(',')}, --restoration FILE)`,
      );
  }
  return { quick, provider, outDir, only, restoration };
}
