// Progress of one job as the protocol reports it: the stage, pass k of n, tiles done of
// total with the finished tile's rectangle, the time left in the whole job from measured
// rates (eta.ts), and, when asked for, every Nth finished tile (and a pass's last) as a
// small PNG in the final output's geometry.
import type { ProgressParams, RunsOn } from '../../contract/protocol';
import type { Rect } from '../../contract/vocabulary';
import { encodePreview } from '../image/encode';
import { item } from '../image/checked';
import type { PlanarImage, Raster } from '../image/types';
import { JobEta, type JobWork, type StageWork, type ThroughputMemory } from './eta';
import { layoutPlanes, type JobPlan, type PassLayout, type PipelineRequest } from './job-plan';
import { resizeLanczos } from './lanczos';
import type { PassHooks, PlaneKind } from './passes';
import { quantisePlanes } from './quantise';
import type { TileDone } from './tiled-pass';

/** A progress notification before the daemon adds the job and request ids. */
export type ProgressUpdate = Omit<ProgressParams, 'jobId' | 'requestId' | 'queuePosition'>;

/** What the estimate needs besides the plan. */
export interface EstimateContext {
  /** The provider and precision the job runs on: their rates differ. */
  readonly runsOn: Pick<RunsOn, 'provider' | 'precision'>;
  /** Whether the model's session is already loaded: loading then takes no time. */
  readonly resident: boolean;
  readonly memory: ThroughputMemory;
  readonly now: () => number;
}

export class JobProgress {
  /** The estimate, built once from the plan (replanned, not rebuilt, once decoding settles it). */
  private readonly eta: JobEta;
  /** The planned provider and precision, until the model is loaded at the ones it runs at. */
  private runsOn: Pick<RunsOn, 'provider' | 'precision'>;
  /** Tile updates go out in order, each after its preview is encoded. */
  private sent: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (update: ProgressUpdate) => void,
    private plan: JobPlan,
    private readonly estimate: EstimateContext,
    /** The request's previewWidth and previewEvery. */
    private readonly preview: Pick<PipelineRequest, 'previewWidth' | 'previewEvery'>,
  ) {
    this.runsOn = estimate.runsOn;
    this.eta = new JobEta(estimate.memory, this.work(), estimate.now);
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

  /** A stage before the passes. */
  started(stage: 'decode' | 'load'): void {
    this.eta.enter(stage);
    this.send(this.withEta({ stage, pass: 0, passes: this.passes(), done: 0, total: 0 }));
  }

  /** A stage after the passes: the time left is the file's writing (and the resize before it). */
  finishing(stage: 'resize' | 'encode' | 'done'): void {
    this.eta.enter(stage);
    const update: ProgressUpdate = { stage, pass: this.passes(), passes: this.passes(), done: 0, total: 0 };
    this.send(stage === 'done' ? update : this.withEta(update));
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
    if (p === 0) this.eta.enter('infer');
    else this.eta.resetClock();
    this.send(this.withEta({ ...this.passUpdate(p), done: 0 }));
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

  private work(): JobWork {
    const { plan } = this;
    const { provider, precision } = this.runsOn;
    const { resident } = this.estimate;
    const area = (s: { readonly width: number; readonly height: number }) => s.width * s.height;
    const last = plan.layouts[plan.layouts.length - 1];
    const stages: StageWork[] = [{ stage: 'decode', detail: plan.input.format, units: area(plan.input) }];
    // Loading counts the job's models' files; the main one's session may be loaded already.
    const models = new Map(plan.layouts.map((l) => [l.model.id, l.model]));
    if (resident) models.delete(plan.model.id);
    const bytes = [...models.values()].reduce((n, m) => n + (m.sizeBytes ?? 0), 0);
    if (bytes > 0) stages.push({ stage: 'load', detail: provider, units: bytes });
    if (plan.geometry.resize && last)
      stages.push({ stage: 'resize', detail: '', units: area(last.output) + area(plan.geometry.content) });
    stages.push({ stage: 'encode', detail: plan.output.format, units: area(plan.geometry.final) });
    return {
      stages,
      tiles: plan.layouts.map((l) => ({
        key: { model: l.model.id, provider, precision, tileWidth: l.tensorWidth, tileHeight: l.tensorHeight },
        tiles: l.columns * l.rows * layoutPlanes(plan, l) * plan.tta,
        macsPerPixel: l.model.macsPerPixel ?? null,
      })),
    };
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
