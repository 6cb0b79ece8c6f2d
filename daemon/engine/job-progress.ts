// Progress of one job as the protocol reports it: the stage, pass k of n, tiles done of
// total with the finished tile's rectangle, an ETA from measured tile throughput, and,
// when asked for, every Nth finished tile (and a pass's last) as a small PNG in the final
// output's geometry.
import type { ProgressParams, RunsOn } from '../../contract/protocol';
import type { Rect } from '../../contract/vocabulary';
import { encodePreview } from '../image/encode';
import { item } from '../image/checked';
import type { PlanarImage, Raster } from '../image/types';
import { EtaTracker, type ThroughputMemory, type Work } from './eta';
import { layoutPlanes, type JobPlan, type PassLayout, type PipelineRequest } from './job-plan';
import { resizeLanczos } from './lanczos';
import type { PassHooks, PlaneKind } from './passes';
import { quantisePlanes } from './quantise';
import type { TileDone } from './tiled-pass';

/** A progress notification before the daemon adds the job and request ids. */
export type ProgressUpdate = Omit<ProgressParams, 'jobId' | 'requestId' | 'queuePosition'>;

export class JobProgress {
  /** The ETA, built once from the plan (replanned, not rebuilt, once decoding settles it). */
  private readonly eta: EtaTracker;
  /** Tile updates go out in order, each after its preview is encoded. */
  private sent: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (update: ProgressUpdate) => void,
    private plan: JobPlan,
    /** The provider and precision the job runs on: their rates differ. */
    private runsOn: Pick<RunsOn, 'provider' | 'precision'>,
    memory: ThroughputMemory,
    /** The request's previewWidth and previewEvery. */
    private readonly preview: Pick<PipelineRequest, 'previewWidth' | 'previewEvery'>,
    now: () => number,
  ) {
    this.eta = new EtaTracker(memory, this.work(), now);
  }

  /** The plan settled by decoding (settleAlpha): an alpha plane found opaque runs no tiles. */
  replan(plan: JobPlan): void {
    this.plan = plan;
    this.eta.replan(this.work());
  }

  /** The model is loaded, at the precision it runs at (the planned one, unless its fp16 version failed). */
  loaded(runsOn: Pick<RunsOn, 'provider' | 'precision'>): void {
    this.runsOn = runsOn;
    this.eta.replan(this.work());
  }

  /** A stage before the passes, with the ETA. */
  started(stage: 'decode' | 'load'): void {
    this.send(this.withEta({ stage, pass: 0, passes: this.passes(), done: 0, total: 0 }));
  }

  /** A stage after the passes. */
  finishing(stage: 'resize' | 'encode' | 'done'): void {
    this.send({ stage, pass: this.passes(), passes: this.passes(), done: 0, total: 0 });
  }

  /** runPasses' hooks; `afterTiles` runs once every tile's update has gone out. */
  passHooks(afterTiles: () => void): PassHooks {
    return {
      passStarted: (p) => this.passStarted(p),
      tileDone: (p, done, tile, plane) => this.tileDone(p, done, tile, plane),
      passesDone: async () => {
        await this.sent;
        afterTiles();
      },
      resizing: () => this.finishing('resize'),
    };
  }

  private passStarted(p: number): void {
    this.send(this.withEta({ ...this.passUpdate(p), done: 0 }));
    this.eta.resetClock();
  }

  private tileDone(p: number, done: number, tile: TileDone, plane: PlaneKind): void {
    const runs = this.plan.tta;
    this.eta.tileDone(p, runs);
    const update = this.withEta({ ...this.passUpdate(p), done: done * runs, tile: tile.rect });
    const { width } = this.plan.geometry.final;
    const { previewWidth, previewEvery = 1 } = this.preview;
    const scale = previewWidth ? Math.min(1, previewWidth / width) : 0;
    const previewed = tile.done % previewEvery === 0 || tile.done === tile.total;
    if (scale === 0 || plane !== 'rgb' || !previewed) {
      this.sent = this.sent.then(() => this.send(update));
      return;
    }
    const rect = previewRect(this.plan, item(this.plan.layouts, p), tile.rect, scale);
    this.sent = this.sent.then(async () => {
      const png = await encodePreview(previewRaster(tile.pixels, rect.width, rect.height));
      this.send({ ...update, preview: { png, rect, scale } });
    });
  }

  private passUpdate(p: number): Omit<ProgressUpdate, 'done'> & { readonly stage: 'infer' } {
    const layout = item(this.plan.layouts, p);
    return {
      stage: 'infer',
      pass: p + 1,
      passes: this.passes(),
      total: layout.columns * layout.rows * layoutPlanes(this.plan, layout) * this.plan.tta,
      ...(this.plan.tta > 1 && { runsPerTile: this.plan.tta }),
      passWidth: layout.output.width,
      passHeight: layout.output.height,
    };
  }

  private withEta(update: ProgressUpdate): ProgressUpdate {
    const ms = this.eta.etaMs();
    return ms === undefined ? update : { ...update, etaMs: ms };
  }

  private passes(): number {
    return this.plan.layouts.length;
  }

  private work(): Work[] {
    return this.plan.layouts.map((l) => ({
      key: {
        model: l.model.id,
        provider: this.runsOn.provider,
        precision: this.runsOn.precision,
        tileWidth: l.tensorWidth,
        tileHeight: l.tensorHeight,
      },
      tiles: l.columns * l.rows * layoutPlanes(this.plan, l) * this.plan.tta,
    }));
  }
}

/** A tile's rectangle in the final output's geometry, scaled to the preview. */
function previewRect(plan: JobPlan, layout: PassLayout, tile: Rect, scale: number): Rect {
  const { content } = plan.geometry;
  const fx = (content.width / layout.output.width) * scale;
  const fy = (content.height / layout.output.height) * scale;
  return {
    x: Math.floor(content.x * scale + tile.x * fx),
    y: Math.floor(content.y * scale + tile.y * fy),
    width: Math.max(1, Math.round(tile.width * fx)),
    height: Math.max(1, Math.round(tile.height * fy)),
  };
}

/** A tile's pixels at preview size, as an 8-bit raster. */
function previewRaster(pixels: PlanarImage, width: number, height: number): Raster & { readonly depth: 8 } {
  const small = resizeLanczos(pixels, width, height);
  const data = new Uint8Array(width * height * 3);
  quantisePlanes(data, width, 3, 0, 0, width, height, small.data, 3, 0);
  return { width, height, channels: 3, depth: 8, data };
}
