// Time left in a job, from measured tile throughput. Pure: the clock is passed in.
//
// The daemon keeps one ThroughputMemory for its lifetime. Each finished tile records how
// long it took under a key of model, provider, precision and tile size (the tensor the
// model saw), so a later job with the same key has a rate before its first tile finishes.
// A key never measured borrows the rate of the same model, provider and precision on
// another tile size, scaled by tile area (inference time grows about linearly with pixels).

export interface ThroughputKey {
  readonly model: string;
  readonly provider: string;
  /** fp16 and fp32 run at different rates on a GPU. */
  readonly precision: string;
  readonly tileWidth: number;
  readonly tileHeight: number;
}

function keyText(k: ThroughputKey): string {
  return `${groupText(k)}\u0000${k.tileWidth}x${k.tileHeight}`;
}

function groupText(k: ThroughputKey): string {
  return `${k.model}\u0000${k.provider}\u0000${k.precision}`;
}

/** Weight of the newest measurement in the running average. */
const NEWEST = 0.3;

export class ThroughputMemory {
  private readonly perTile = new Map<string, number>();
  private readonly perPixel = new Map<string, number>();

  /** Records one tile that took `ms`. */
  record(key: ThroughputKey, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const k = keyText(key);
    const old = this.perTile.get(k);
    this.perTile.set(k, old === undefined ? ms : old + NEWEST * (ms - old));
    const pixels = Math.max(1, key.tileWidth * key.tileHeight);
    const g = groupText(key);
    const oldPx = this.perPixel.get(g);
    const px = ms / pixels;
    this.perPixel.set(g, oldPx === undefined ? px : oldPx + NEWEST * (px - oldPx));
  }

  /** Milliseconds per tile for `key`: measured, or estimated from another tile size of the same model, provider and precision. */
  msPerTile(key: ThroughputKey): number | undefined {
    const exact = this.perTile.get(keyText(key));
    if (exact !== undefined) return exact;
    const px = this.perPixel.get(groupText(key));
    return px === undefined ? undefined : px * Math.max(1, key.tileWidth * key.tileHeight);
  }
}

/** A group of model runs on tiles of one size (a tile under TTA is several), still to run. */
export interface Work {
  readonly key: ThroughputKey;
  readonly tiles: number;
}

/**
 * Follows one job: what is left, per tile size, and the clock between finished tiles.
 * `etaMs()` is undefined until some rate is known for every group that has tiles left.
 */
export class EtaTracker {
  private left: { key: ThroughputKey; tiles: number }[];
  private last: number;

  constructor(
    private readonly memory: ThroughputMemory,
    work: readonly Work[],
    private readonly now: () => number,
  ) {
    this.left = work.map((w) => ({ key: w.key, tiles: w.tiles }));
    this.last = now();
  }

  /** The work left, planned again before any tile ran (decoding can drop an alpha plane's tiles); the clock runs on. */
  replan(work: readonly Work[]): void {
    this.left = work.map((w) => ({ key: w.key, tiles: w.tiles }));
  }

  /** Restarts the tile clock (after loading, or between passes, so that non-tile work is not counted). */
  resetClock(): void {
    this.last = this.now();
  }

  /** `runs` model runs of group `index` finished together (one tile): records the time of each and counts them off. */
  tileDone(index: number, runs = 1): void {
    const t = this.now();
    const group = this.left[index];
    if (group) {
      this.memory.record(group.key, (t - this.last) / runs);
      group.tiles = Math.max(0, group.tiles - runs);
    }
    this.last = t;
  }

  etaMs(): number | undefined {
    let total = 0;
    for (const g of this.left) {
      if (g.tiles === 0) continue;
      const ms = this.memory.msPerTile(g.key);
      if (ms === undefined) return undefined;
      total += ms * g.tiles;
    }
    return Math.round(total);
  }
}
