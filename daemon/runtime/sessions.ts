// Resident ONNX sessions: loaded once, kept between jobs, evicted least recently used when
// the estimated memory of all resident sessions exceeds the budget.
import * as ort from 'onnxruntime-node';
import { intraOpThreads, sessionOptions } from './providers';
import type { ExecutionProvider } from '../../contract/vocabulary';

/** Resident memory per byte of ONNX weights (weights plus prepacked copies and arenas). */
const MEMORY_PER_WEIGHT_BYTE = 3;

export interface SessionSource {
  readonly id: string;
  readonly path: string;
  readonly sizeBytes: number;
}

export interface Resident {
  readonly session: ort.InferenceSession;
  readonly provider: ExecutionProvider;
  /** Its intra-op threads: a job asking for another count gets the model loaded again with it. */
  readonly threads: number;
  readonly estimatedBytes: number;
  lastUsed: number;
}

export interface Acquired {
  readonly session: ort.InferenceSession;
  readonly loadMs: number;
  readonly cached: boolean;
}

export class SessionCache {
  private readonly resident = new Map<string, Resident>();
  private clock = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly create: (
      path: string,
      provider: ExecutionProvider,
      threads: number,
    ) => Promise<ort.InferenceSession> = (path, provider, threads) =>
      ort.InferenceSession.create(path, sessionOptions(provider, threads)),
  ) {}

  /** The model's session on `provider` with `requestedThreads` intra-op threads (0 or none: every core). */
  async acquire(source: SessionSource, provider: ExecutionProvider, requestedThreads?: number): Promise<Acquired> {
    const start = performance.now();
    const threads = intraOpThreads(requestedThreads);
    const existing = this.resident.get(source.id);
    if (existing && existing.provider === provider && existing.threads === threads) {
      existing.lastUsed = ++this.clock;
      return { session: existing.session, loadMs: performance.now() - start, cached: true };
    }
    if (existing) await this.unload(source.id);
    const estimatedBytes = source.sizeBytes * MEMORY_PER_WEIGHT_BYTE;
    await this.evictFor(estimatedBytes);
    const session = await this.create(source.path, provider, threads);
    this.resident.set(source.id, { session, provider, threads, estimatedBytes, lastUsed: ++this.clock });
    return { session, loadMs: performance.now() - start, cached: false };
  }

  isLoaded(id: string): boolean {
    return this.resident.has(id);
  }

  async unload(id: string): Promise<boolean> {
    const r = this.resident.get(id);
    if (!r) return false;
    this.resident.delete(id);
    await r.session.release();
    return true;
  }

  async unloadAll(): Promise<void> {
    for (const id of [...this.resident.keys()]) await this.unload(id);
  }

  residentBytes(): number {
    let total = 0;
    for (const r of this.resident.values()) total += r.estimatedBytes;
    return total;
  }

  /** Evicts least recently used sessions until `incoming` more bytes fit (one always fits). */
  private async evictFor(incoming: number): Promise<void> {
    while (this.resident.size > 0 && this.residentBytes() + incoming > this.budgetBytes) {
      let oldest: string | undefined;
      let oldestUse = Infinity;
      for (const [id, r] of this.resident) {
        if (r.lastUsed < oldestUse) {
          oldestUse = r.lastUsed;
          oldest = id;
        }
      }
      if (oldest === undefined) return;
      await this.unload(oldest);
    }
  }
}
