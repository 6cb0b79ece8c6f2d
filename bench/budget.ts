// `--only budget`: what the memory budget trades, as the README's table states it. Each row
// is one job of the compact model in a fresh daemon (so the kernel's VmHWM is that job's
// alone) at a budget, the default when none; it reports the tiling the daemon chose, the
// resident peak and the wall time.
import type { ExecutionProviderChoice } from '../contract/vocabulary';
import { measureMemory, type MemoryPoint } from './memory';
import { fixed, formatTable } from './table';
import { memoryBudgetBytes } from '../daemon/engine/tile-size';

export interface BudgetRow {
  readonly inputSize: number;
  /** MiB; null for the daemon's default (a third of the machine's memory). */
  readonly budgetMib: number | null;
}

export async function measureBudgets(
  provider: ExecutionProviderChoice,
  model: string,
  rows: readonly BudgetRow[],
  log: (line: string) => void,
): Promise<MemoryPoint[]> {
  const points: MemoryPoint[] = [];
  for (const row of rows) {
    points.push(...(await measureMemory(provider, model, [row.inputSize], log, row.budgetMib ?? undefined)));
  }
  return points;
}

/** Markdown, ready for the README: output, budget, tiles, resident peak, wall time. */
export function budgetTable(points: readonly MemoryPoint[], memoryBytes: number): string {
  const mib = (b: number) => `${fixed(b / 2 ** 20, 0)} MiB`;
  const budget = (p: MemoryPoint) =>
    p.budgetMib === null
      ? `default (${fixed(memoryBudgetBytes(0, memoryBytes) / 2 ** 30, 1)} GiB)`
      : `${p.budgetMib} MiB`;
  return formatTable(
    ['output', 'input', 'budget', 'tiles the model sees', 'resident peak (VmHWM)', 'wall time'],
    points.map((p) => [
      `${p.outputSize}²`,
      `${p.inputSize}²`,
      budget(p),
      p.tiling,
      mib(p.hwmBytes),
      `${fixed(p.ms / 1000, 1)} s`,
    ]),
  );
}
