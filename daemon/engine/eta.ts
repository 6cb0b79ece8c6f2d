// Time left in a job, from measured rates. Pure: the clock is passed in, and the rates are
// plain data that the daemon keeps in its cache folder between runs (daemon/rates-file.ts).
//
// Inference: each finished tile records how long it took under a key of model, provider
// and tile size (the tensor the model saw), so a later job with the same key has a rate
// before its first tile finishes. A key never measured borrows the rate of the same model
// and provider on another tile size, scaled by tile area (inference time grows about
// linearly with pixels), and a model never run on this provider borrows the provider's
// speed in multiply-accumulates (measured once per machine by a calibration run, then
// followed by every tile) times the model's MACs per pixel, read from its graph.
//
// The stages around inference (reading the image, loading the model, the final resize,
// writing the file) are timed per unit of work (pixels, bytes), starting from priors
// measured here, so that the time left covers the whole job.
import type { OutputFormat } from '../../contract/vocabulary';

export interface ThroughputKey {
  readonly model: string;
  readonly provider: string;
  /** fp16 and fp32 run at different rates on a GPU. */
  readonly precision: string;
  readonly tileWidth: number;
  readonly tileHeight: number;
}

/** The stages around inference, each with its own rate. */
export type TimedStage = 'decode' | 'load' | 'resize' | 'encode';

/** One stage of a job and its size in the units its rate counts. */
export interface StageWork {
  readonly stage: TimedStage;
  /**
   * What else its rate depends on: encoding the format (AVIF takes a hundred times what
   * JPEG does), decoding a little the format too, loading the provider; '' for the resize.
   */
  readonly detail: string;
  /**
   * What its time grows with: decoding and encoding the pixels read or written, loading the
   * model file's bytes, the resize the pixels it reads and writes.
   */
  readonly units: number;
}

function rateKey(w: StageWork): string {
  return w.detail === '' ? w.stage : `${w.stage} ${w.detail}`;
}

/**
 * Milliseconds per unit before anything was measured: a 2048×2048 photo encoded and
 * decoded by sharp, a Lanczos resize, and the two built-in models loaded on the CPU, on a
 * 2-core machine shared with other work (so rather high; one job corrects them).
 */
const STAGE_PRIORS: Readonly<Record<TimedStage, number>> = {
  decode: 100e-6,
  load: 60e-6,
  resize: 300e-6,
  encode: 300e-6,
};
const ENCODE_PRIORS: Readonly<Record<string, number>> = {
  png: 250e-6,
  jpg: 120e-6,
  webp: 900e-6,
  tif: 300e-6,
  avif: 12_000e-6,
} satisfies Readonly<Record<OutputFormat, number>>;

function stagePrior(w: StageWork): number {
  return (w.stage === 'encode' ? ENCODE_PRIORS[w.detail] : undefined) ?? STAGE_PRIORS[w.stage];
}

/** Weight of the newest measurement in the running averages. */
const NEWEST = 0.3;
/**
 * A tile smaller than this (in tensor pixels) says little about larger ones: the fixed cost
 * of a run dominates it. It keeps its own exact rate but sets no per-pixel or per-MAC rate.
 */
export const MIN_RATE_PIXELS = 64 * 64;
/** Entries kept per kind of rate; the least recently measured go first. */
const KEPT = 200;

/** The rates as stored: milliseconds per tile, per tensor pixel, per MAC and per stage unit. */
export interface RatesData {
  readonly tiles: Readonly<Record<string, number>>;
  readonly pixels: Readonly<Record<string, number>>;
  readonly macs: Readonly<Record<string, number>>;
  readonly stages: Readonly<Record<string, number>>;
}

function tileText(k: ThroughputKey): string {
  return `${modelText(k)} ${k.tileWidth}x${k.tileHeight}`;
}

function modelText(k: ThroughputKey): string {
  return `${k.model} ${k.provider} ${k.precision}`;
}

/** A running average per key, the newest last. */
class Averages {
  private readonly values: Map<string, number>;

  constructor(from: Readonly<Record<string, number>> = {}) {
    this.values = new Map(Object.entries(from).filter(([, v]) => Number.isFinite(v) && v >= 0));
  }

  get(key: string): number | undefined {
    return this.values.get(key);
  }

  add(key: string, value: number): void {
    const old = this.values.get(key);
    this.values.delete(key);
    this.values.set(key, old === undefined ? value : old + NEWEST * (value - old));
    for (const oldest of this.values.keys()) {
      if (this.values.size <= KEPT) break;
      this.values.delete(oldest);
    }
  }

  /** Replaces the value: a measurement made to stand for the key (a calibration). */
  set(key: string, value: number): void {
    this.values.delete(key);
    this.values.set(key, value);
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

export class ThroughputMemory {
  private readonly tiles: Averages;
  private readonly pixels: Averages;
  private readonly macs: Averages;
  private readonly stages: Averages;

  constructor(data?: RatesData) {
    this.tiles = new Averages(data?.tiles);
    this.pixels = new Averages(data?.pixels);
    this.macs = new Averages(data?.macs);
    this.stages = new Averages(data?.stages);
  }

  /** Records one tile that took `ms`; a model whose MACs per pixel are known also times the provider. */
  record(key: ThroughputKey, ms: number, macsPerPixel: number | null = null): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.tiles.add(tileText(key), ms);
    const pixels = key.tileWidth * key.tileHeight;
    if (pixels < MIN_RATE_PIXELS) return;
    this.pixels.add(modelText(key), ms / pixels);
    // The provider's speed is an fp32 one (its calibration runs fp32; fp16 runs faster on a GPU).
    if (macsPerPixel !== null && macsPerPixel > 0 && key.precision === 'fp32')
      this.macs.add(key.provider, ms / (pixels * macsPerPixel));
  }

  /** The provider's speed from a calibration run: `ms` for `macs` multiply-accumulates. */
  calibrated(provider: string, macs: number, ms: number): void {
    if (macs > 0 && ms > 0 && Number.isFinite(ms)) this.macs.set(provider, ms / macs);
  }

  /** Whether a model never run on `provider` can be estimated from its MACs. */
  knowsProvider(provider: string): boolean {
    return this.macs.get(provider) !== undefined;
  }

  /**
   * Milliseconds per tile for `key`: measured, else from another tile size of the same
   * model and provider, else from the provider's speed and the model's MACs per pixel.
   */
  msPerTile(key: ThroughputKey, macsPerPixel: number | null = null): number | undefined {
    const exact = this.tiles.get(tileText(key));
    if (exact !== undefined) return exact;
    const pixels = Math.max(1, key.tileWidth * key.tileHeight);
    const perPixel = this.pixels.get(modelText(key));
    if (perPixel !== undefined) return perPixel * pixels;
    const perMac = this.macs.get(key.provider);
    if (perMac === undefined || macsPerPixel === null || !(macsPerPixel > 0) || key.precision !== 'fp32')
      return undefined;
    return perMac * macsPerPixel * pixels;
  }

  recordStage(work: StageWork, ms: number): void {
    if (work.units > 0 && ms >= 0 && Number.isFinite(ms)) this.stages.add(rateKey(work), ms / work.units);
  }

  msForStage(work: StageWork): number {
    return (this.stages.get(rateKey(work)) ?? stagePrior(work)) * work.units;
  }

  toData(): RatesData {
    return {
      tiles: this.tiles.toRecord(),
      pixels: this.pixels.toRecord(),
      macs: this.macs.toRecord(),
      stages: this.stages.toRecord(),
    };
  }
}

/** A group of model runs on tiles of one size (a tile under TTA is several), still to run. */
export interface TileWork {
  readonly key: ThroughputKey;
  readonly tiles: number;
  /** The model's MACs per input pixel, when its graph told. */
  readonly macsPerPixel: number | null;
}

/** What a job has to do: its stages (those that run), and its passes' tiles. */
export interface JobWork {
  readonly stages: readonly StageWork[];
  readonly tiles: readonly TileWork[];
}

/** Where a job is: one of its timed stages, inference, or the end. */
export type JobPhase = TimedStage | 'infer' | 'done';

/**
 * Follows one job: the stages and tiles left, and the clock of the stage or tile under way.
 * `etaMs()` covers the whole job, and is undefined until some rate is known for every group
 * of tiles that has tiles left.
 */
export class JobEta {
  private work: JobWork;
  private left: number[];
  private readonly finished = new Set<TimedStage>();
  private phase: JobPhase | undefined;
  private phaseStart: number;
  private last: number;

  constructor(
    private readonly memory: ThroughputMemory,
    work: JobWork,
    private readonly now: () => number,
  ) {
    this.work = work;
    this.left = work.tiles.map((w) => w.tiles);
    this.phaseStart = this.last = now();
  }

  /** The work, planned again before any tile ran (decoding can drop an alpha plane's tiles); the clocks run on. */
  replan(work: JobWork): void {
    this.work = work;
    this.left = work.tiles.map((w) => w.tiles);
  }

  /** The job moves on to `phase`: the stage it leaves is timed and recorded. */
  enter(phase: JobPhase): void {
    const t = this.now();
    const leaving = this.phase;
    if (leaving !== undefined && leaving !== 'infer' && leaving !== 'done') {
      const stage = this.work.stages.find((s) => s.stage === leaving);
      if (stage) this.memory.recordStage(stage, t - this.phaseStart);
      this.finished.add(leaving);
    }
    this.phase = phase;
    this.phaseStart = t;
    this.last = t;
  }

  /** Restarts the tile clock (between passes, so that their setup is not counted as a tile). */
  resetClock(): void {
    this.last = this.now();
  }

  /** `runs` model runs of group `index` finished together (one tile): records the time of each and counts them off. */
  tileDone(index: number, runs = 1): void {
    const t = this.now();
    const group = this.work.tiles[index];
    const left = this.left[index];
    if (group && left !== undefined) {
      this.memory.record(group.key, (t - this.last) / runs, group.macsPerPixel);
      this.left[index] = Math.max(0, left - runs);
    }
    this.last = t;
  }

  etaMs(): number | undefined {
    let total = 0;
    for (const [i, group] of this.work.tiles.entries()) {
      const left = this.left[i] ?? 0;
      if (left === 0) continue;
      const ms = this.memory.msPerTile(group.key, group.macsPerPixel);
      if (ms === undefined) return undefined;
      total += ms * left;
    }
    for (const stage of this.work.stages) if (!this.finished.has(stage.stage)) total += this.memory.msForStage(stage);
    return Math.round(total);
  }
}
