// `auto`'s decisions, remembered per machine identity (machine-identity.ts) in a small file
// in the cache folder, so that only the first start on a machine (or after a driver
// change) pays for measuring. A missing, unreadable or foreign file is simply not used.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { renameIntoPlace } from '../../platform/rename';
import type { ProviderStatus } from '../../contract/protocol';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../contract/vocabulary';

const FORMAT = 1;
/** Machines (identities) remembered; the oldest decision is dropped beyond this. */
const KEPT = 8;

export interface RememberedDecision {
  readonly decidedAt: string;
  readonly active: ExecutionProvider;
  readonly reason: string;
  readonly statuses: readonly ProviderStatus[];
  /** Whether the active provider ran the fp16 probe on its device (false for the CPU). */
  readonly deviceFp16: boolean;
  /** Milliseconds the measuring took. */
  readonly probeMs: number;
  readonly facts: readonly string[];
}

interface MemoryFile {
  readonly format: number;
  readonly decisions: Record<string, RememberedDecision>;
}

export function memoryPath(cacheDir: string): string {
  return path.join(cacheDir, 'providers.json');
}

function isDecision(v: unknown): v is RememberedDecision {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.decidedAt === 'string' &&
    (EXECUTION_PROVIDERS as readonly unknown[]).includes(d.active) &&
    d.active !== 'auto' &&
    typeof d.reason === 'string' &&
    Array.isArray(d.statuses) &&
    typeof d.deviceFp16 === 'boolean'
  );
}

async function readMemory(file: string): Promise<Record<string, RememberedDecision>> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<MemoryFile>;
    if (parsed.format !== FORMAT || typeof parsed.decisions !== 'object' || parsed.decisions === null) return {};
    return Object.fromEntries(Object.entries(parsed.decisions).filter(([, d]) => isDecision(d)));
  } catch {
    return {};
  }
}

export async function recall(cacheDir: string, key: string): Promise<RememberedDecision | null> {
  return (await readMemory(memoryPath(cacheDir)))[key] ?? null;
}

async function write(cacheDir: string, decisions: Record<string, RememberedDecision>): Promise<void> {
  const file = memoryPath(cacheDir);
  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await fs.writeFile(tmp, `${JSON.stringify({ format: FORMAT, decisions }, null, 2)}\n`);
    await renameIntoPlace(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function remember(cacheDir: string, key: string, decision: RememberedDecision): Promise<void> {
  const all = { ...(await readMemory(memoryPath(cacheDir))), [key]: decision };
  const newest = Object.entries(all)
    .sort(([, a], [, b]) => b.decidedAt.localeCompare(a.decidedAt))
    .slice(0, KEPT);
  await write(cacheDir, Object.fromEntries(newest));
}

export async function forget(cacheDir: string, key: string): Promise<void> {
  const all = await readMemory(memoryPath(cacheDir));
  if (!(key in all)) return;
  delete all[key];
  await write(cacheDir, all);
}
