// The measured rates behind time estimates (engine/eta.ts), kept in the cache folder so
// that a restarted daemon, or the next editor session, estimates from the first
// notification. The file says which machine measured it: rates from another CPU (a home
// folder shared between machines) are not used. A missing, unreadable or foreign file
// gives an empty memory; writing it is best effort.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheRoot } from '../models/paths';
import { renameIntoPlace } from '../platform/rename';
import { ThroughputMemory, type RatesData } from './engine/eta';

const FORMAT = 1;

interface RatesFile {
  readonly format: number;
  readonly machine: string;
  readonly rates: RatesData;
}

export function ratesPath(cacheDir: string = cacheRoot()): string {
  return path.join(cacheDir, 'rates.json');
}

/** The processor and how many threads it has: what the rates were measured on. */
export function machineOf(): string {
  const cpus = os.cpus();
  return `${os.platform()} ${os.arch()}, ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}`;
}

function isRateTable(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'number');
}

function isRatesFile(v: unknown): v is RatesFile {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Partial<Record<keyof RatesFile, unknown>>;
  if (typeof f.rates !== 'object' || f.rates === null) return false;
  const r = f.rates as Partial<Record<keyof RatesData, unknown>>;
  return (
    f.format === FORMAT &&
    typeof f.machine === 'string' &&
    isRateTable(r.tiles) &&
    isRateTable(r.pixels) &&
    isRateTable(r.macs) &&
    isRateTable(r.stages)
  );
}

export async function readRates(file: string, machine: string = machineOf()): Promise<ThroughputMemory> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    return isRatesFile(parsed) && parsed.machine === machine
      ? new ThroughputMemory(parsed.rates)
      : new ThroughputMemory();
  } catch {
    return new ThroughputMemory();
  }
}

/** Replaces the file whole (a temporary file renamed over it), so a reader never sees half of it. */
export async function writeRates(file: string, memory: ThroughputMemory, machine: string = machineOf()): Promise<void> {
  const content: RatesFile = { format: FORMAT, machine, rates: memory.toData() };
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(temporary, `${JSON.stringify(content, null, 1)}\n`);
    await renameIntoPlace(temporary, file);
  } finally {
    await fs.rm(temporary, { force: true });
  }
}
