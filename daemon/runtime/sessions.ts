// Resident ONNX sessions: loaded once, kept between jobs, evicted least recently used when
// the estimated memory of all resident sessions exceeds the budget. One model can be
// resident once per provider and precision (its fp16 file is a session of its own), with
// the intra-op threads of the job that last loaded it.
import * as ort from 'onnxruntime-node';
import { intraOpThreads, sessionOptions } from './session-options';
import type { ExecutionProvider, Precision } from '../../contract/vocabulary';

/** Resident memory per byte of ONNX weights (weights plus prepacked copies and arenas). */
const MEMORY_PER_WEIGHT_BYTE = 3;

export interface SessionSource {
  readonly id: string;
  /** The file to load: the model's own ONNX, or its fp16 derivative. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly precision: Precision;
}

export interface Resident {
  readonly id: string;
  readonly session: ort.InferenceSession;
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

function keyOf(id: string, provider: ExecutionProvider, precision: Precision): string {
  return `${id}\u0000${provider}\u0000${precision}`;
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
      ort.InferenceSession.create(path, sessionOptions(provider, { threads })),
  ) {}

  /** The model's session on `provider` with `requestedThreads` intra-op threads (0 or none: every core). */
  async acquire(source: SessionSource, provider: ExecutionProvider, requestedThreads?: number): Promise<Acquired> {
    const start = performance.now();
    const threads = intraOpThreads(requestedThreads);
    const key = keyOf(source.id, provider, source.precision);
    const existing = this.resident.get(key);
    if (existing && existing.threads === threads) {
      existing.lastUsed = ++this.clock;
      return { session: existing.session, loadMs: performance.now() - start, cached: true };
    }
    if (existing) await this.release(key);
    const estimatedBytes = source.sizeBytes * MEMORY_PER_WEIGHT_BYTE;
    await this.evictFor(estimatedBytes);
    const session = await this.create(source.path, provider, threads);
    this.resident.set(key, { id: source.id, session, threads, estimatedBytes, lastUsed: ++this.clock });
    return { session, loadMs: performance.now() - start, cached: false };
  }

  isLoaded(id: string): boolean {
    return [...this.resident.values()].some((r) => r.id === id);
  }

  /** Releases every resident session of model `id`; false when none was resident. */
  async unload(id: string): Promise<boolean> {
    const keys = [...this.resident].filter(([, r]) => r.id === id).map(([k]) => k);
    for (const key of keys) await this.release(key);
    return keys.length > 0;
  }

  async unloadAll(): Promise<void> {
    for (const key of [...this.resident.keys()]) await this.release(key);
  }

  residentBytes(): number {
    let total = 0;
    for (const r of this.resident.values()) total += r.estimatedBytes;
    return total;
  }

  private async release(key: string): Promise<void> {
    const r = this.resident.get(key);
    if (!r) return;
    this.resident.delete(key);
    await r.session.release();
  }

  /** Evicts least recently used sessions until `incoming` more bytes fit (one always fits). */
  private async evictFor(incoming: number): Promise<void> {
    while (this.resident.size > 0 && this.residentBytes() + incoming > this.budgetBytes) {
      let oldest: string | undefined;
      let oldestUse = Infinity;
      for (const [key, r] of this.resident) {
        if (r.lastUsed < oldestUse) {
          oldestUse = r.lastUsed;
          oldest = key;
        }
      }
      if (oldest === undefined) return;
      await this.release(oldest);
    }
  }
}
