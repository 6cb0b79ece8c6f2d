// The daemon's state and its methods, independent of the transport: the active provider,
// the model registry, resident sessions and the job queue.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { DaemonError } from './protocol/errors';
import type {
  InitializeParams,
  InitializeResult,
  ModelIdParams,
  ModelInfo,
  ModelsListResult,
  ModelsLoadResult,
  ModelsImportParams,
  ModelsImportResult,
  ModelsUnloadResult,
  ProgressParams,
  ExecutionProvider,
  PrecisionChoice,
  ProviderStatus,
  UpscaleParams,
  UpscaleResult,
} from './protocol/protocol';
import { PROTOCOL_VERSION } from './protocol/protocol';
import { JobQueue } from './jobs';
import { ProviderUnavailable, deviceRunsFp16, selectProvider } from './runtime/providers';
import { SessionCache, type Acquired, type SessionSource } from './runtime/sessions';
import { decidePrecision, fp16Safety, type Precision } from './runtime/precision';
import { ensureFp16Model } from '../models/convert/fp16-cache';
import { sessionInference } from './runtime/inference';
import { runPipeline } from './engine/pipeline';
import { chooseModel } from './engine/model-choice';
import type { Target } from './engine/plan';
import { scanModels, type RegisteredModel } from '../models/registry';
import { importModel } from '../models/import';
import { activationWarnings } from '../models/arch/srvgg-activation';
import { builtinModelsDir, cacheRoot, userModelsDir } from '../models/paths';
import { DEFAULT_MODEL_ID } from '../models/builtin';
import { log } from './log';
import type { DownloadProgressParams, ModelsDownloadParams, ModelsDownloadResult } from './protocol/protocol';
import { downloadModel } from '../models/download';
import { DownloadError } from '../models/http';

export const DAEMON_VERSION = '0.1.0';

const DEFAULT_MAX_INPUT_PIXELS = 200_000_000;
/** A gigapixel: 30000x30000 PNG/TIFF fits; the output raster stays within one typed array. */
const DEFAULT_MAX_OUTPUT_PIXELS = 1_000_000_000;
/** Memory budget for resident sessions. */
const SESSION_BUDGET_BYTES = 2 * 1024 * 1024 * 1024;

export interface ServiceOptions {
  readonly builtinDir?: string;
  readonly userDir?: string;
  readonly notifyProgress: (params: ProgressParams) => void;
  /** `$/downloadProgress` for `models/download` requests. */
  readonly notifyDownload?: (params: DownloadProgressParams) => void;
}

/** The model `id` (the default when absent) among `models`, or ModelNotFound listing what is installed. */
function findIn(models: readonly RegisteredModel[], id: string | undefined): RegisteredModel {
  const wanted = id ?? DEFAULT_MODEL_ID;
  const model = models.find((m) => m.id === wanted);
  if (!model) {
    const known = models.map((m) => m.id).join(', ') || 'none (run `npm run setup-models`)';
    throw new DaemonError('ModelNotFound', `no model '${wanted}'; installed: ${known}`);
  }
  return model;
}

export class UpscaleService {
  private readonly queue = new JobQueue();
  private readonly sessions = new SessionCache(SESSION_BUDGET_BYTES);
  private provider: ExecutionProvider = 'cpu';
  private providerReason = '';
  private providers: readonly ProviderStatus[] = [];
  private precision: PrecisionChoice = 'auto';
  /** Whether the active provider's device runs fp16; null until first needed. */
  private deviceFp16: boolean | null = null;
  /** The last `initialize` asked for: a daemon whose named provider was refused keeps refusing it. */
  private requested: InitializeParams = {};
  /** Models whose fp16 version could not be made or loaded: `auto` runs them in fp32 without trying again. */
  private readonly fp16Failed = new Set<string>();
  private initialized = false;
  private shuttingDown = false;
  private builtinDir: string;
  private userDir: string;
  private maxInputPixels = DEFAULT_MAX_INPUT_PIXELS;
  private maxOutputPixels = DEFAULT_MAX_OUTPUT_PIXELS;

  constructor(private readonly options: ServiceOptions) {
    this.builtinDir = options.builtinDir ?? builtinModelsDir();
    this.userDir = options.userDir ?? userModelsDir();
  }

  get queueLength(): number {
    return this.queue.length;
  }

  async initialize(params: InitializeParams): Promise<InitializeResult> {
    this.requested = params;
    const refuse = (e: unknown): never => {
      // Until an `initialize` succeeds, every request asks again, and is refused again.
      this.initialized = false;
      throw e instanceof ProviderUnavailable ? new DaemonError('ProviderUnavailable', e.message) : e;
    };
    const selection = await selectProvider(params.provider ?? 'auto', { cacheDir: cacheRoot() }).catch(refuse);
    for (const line of selection.details) log('debug', line);
    this.provider = selection.active;
    this.providerReason = selection.reason;
    this.providers = selection.statuses;
    this.deviceFp16 = selection.deviceFp16;
    this.precision = params.precision ?? 'auto';
    if (this.precision === 'fp16') {
      // An explicit fp16 that cannot run is refused now, before any work.
      const refusal = decidePrecision({
        choice: 'fp16',
        provider: this.provider,
        deviceFp16: await this.deviceRunsFp16(),
        safety: { safe: true, why: '' },
      });
      if ('refused' in refusal) refuse(new DaemonError('InvalidParams', refusal.refused));
    }
    if (params.modelsFolder) this.userDir = params.modelsFolder;
    if (params.maxInputPixels) this.maxInputPixels = params.maxInputPixels;
    if (params.maxOutputPixels) this.maxOutputPixels = params.maxOutputPixels;
    this.initialized = true;
    const scan = await scanModels(this.builtinDir, this.userDir);
    for (const problem of scan.problems) log('warn', `model skipped: ${problem}`);
    log('info', selection.summary);
    log('info', `${scan.models.length} model(s); models folder ${this.userDir}; precision ${this.precision}`);
    return {
      version: DAEMON_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      providers: this.providers,
      activeProvider: this.provider,
      providerReason: this.providerReason,
      precision: this.precision,
      modelsFolder: this.userDir,
      defaultModel: DEFAULT_MODEL_ID,
      modelProblems: scan.problems,
    };
  }

  private async ensureInitialized(): Promise<void> {
    if (!this.initialized) await this.initialize(this.requested);
  }

  private async findModel(id: string | undefined): Promise<RegisteredModel> {
    return findIn((await scanModels(this.builtinDir, this.userDir)).models, id);
  }

  private modelInfo(m: RegisteredModel): ModelInfo {
    return {
      id: m.id,
      name: m.name,
      family: m.family,
      variant: m.variant,
      scale: m.scale,
      inputMultiple: m.inputMultiple,
      sizeBytes: m.sizeBytes,
      source: m.source,
      license: m.license,
      credit: m.credit,
      loaded: this.sessions.isLoaded(m.id),
      ...(m.activation !== undefined && { activation: m.activation }),
      ...(m.activationSource !== undefined && { activationSource: m.activationSource }),
    };
  }

  async listModels(): Promise<ModelsListResult> {
    const { models } = await scanModels(this.builtinDir, this.userDir);
    return { models: models.map((m) => this.modelInfo(m)) };
  }

  /** Converts a user's model file into the models folder (nothing half-written on failure). */
  async importModel(params: ModelsImportParams): Promise<ModelsImportResult> {
    this.refuseWhenShuttingDown();
    const stat = await fs.stat(params.path).catch(() => null);
    if (!stat) throw new DaemonError('InputNotFound', `${params.path}: no such file`, params.path);
    try {
      const model = await importModel(params.path, this.userDir, {
        ...(params.activation !== undefined && { activation: params.activation }),
      });
      log('info', `imported ${params.path} as ${model.id} (${model.family}, x${model.scale})`);
      // From the record, not the conversion: a re-import that keeps an earlier choice warns as that choice does.
      const warnings = activationWarnings(params.path, model.activationSource, 'import');
      for (const w of warnings) log('warn', w);
      return { model: this.modelInfo(model), warnings };
    } catch (e) {
      const message = (e as Error).message;
      throw new DaemonError(
        'ModelInvalid',
        message.includes(params.path) ? message : `${params.path}: ${message}`,
        params.path,
      );
    }
  }

  private async deviceRunsFp16(): Promise<boolean> {
    this.deviceFp16 ??= await deviceRunsFp16(this.provider);
    return this.deviceFp16;
  }

  /** The session for `model` at the precision this daemon runs it at (README, "GPU"), and what the user should know. */
  private async acquire(
    model: RegisteredModel,
  ): Promise<Acquired & { readonly precision: Precision; readonly warnings: readonly string[] }> {
    const decision = decidePrecision({
      choice: this.precision === 'auto' && this.fp16Failed.has(model.id) ? 'fp32' : this.precision,
      provider: this.provider,
      deviceFp16: this.provider === 'cpu' ? false : await this.deviceRunsFp16(),
      safety: fp16Safety(model),
    });
    if ('refused' in decision) throw new DaemonError('InvalidParams', `${model.id}: ${decision.refused}`);
    const fp32: SessionSource = { id: model.id, path: model.onnxPath, sizeBytes: model.sizeBytes, precision: 'fp32' };
    const warnings = decision.warning === undefined ? [] : [decision.warning];
    if (decision.precision === 'fp16') {
      try {
        const derived = await ensureFp16Model(model.onnxPath);
        if (derived.derivedMs !== null)
          log('info', `${model.id}: fp16 model derived in ${Math.round(derived.derivedMs)} ms (${derived.path})`);
        const size = (await fs.stat(derived.path)).size;
        const acquired = await this.sessions.acquire(
          { id: model.id, path: derived.path, sizeBytes: size, precision: 'fp16' },
          this.provider,
        );
        return { ...acquired, precision: 'fp16', warnings };
      } catch (e) {
        const why = (e as Error).message.split('\n')[0] ?? '';
        if (this.precision === 'fp16')
          throw new DaemonError('ModelInvalid', `${model.id} cannot run in fp16: ${why}`, model.onnxPath);
        this.fp16Failed.add(model.id);
        log('warn', `${model.id} runs in fp32: its fp16 version could not be made or loaded (${why})`);
      }
    } else log('debug', `${model.id} runs in fp32: ${decision.reason}`);
    try {
      return { ...(await this.sessions.acquire(fp32, this.provider)), precision: 'fp32', warnings };
    } catch (e) {
      throw new DaemonError(
        'ModelInvalid',
        `${model.onnxPath}: onnxruntime could not load the model: ${(e as Error).message.split('\n')[0]}`,
        model.onnxPath,
      );
    }
  }

  async loadModel(params: ModelIdParams): Promise<ModelsLoadResult> {
    this.refuseWhenShuttingDown();
    await this.ensureInitialized();
    const model = await this.findModel(params.id);
    const acquired = await this.acquire(model);
    return { id: model.id, provider: this.provider, loadMs: acquired.loadMs, cached: acquired.cached };
  }

  async unloadModel(params: ModelIdParams): Promise<ModelsUnloadResult> {
    await this.findModel(params.id);
    // Wait for running work so a session is never released under a job.
    await this.queue.idle();
    return { id: params.id, unloaded: await this.sessions.unload(params.id) };
  }

  upscale(params: UpscaleParams, requestId: number | string): Promise<UpscaleResult> {
    this.refuseWhenShuttingDown();
    const jobId = randomUUID();
    const notify = this.options.notifyProgress;
    // Queued at once, before any await, so a `$/cancelRequest` that follows the request
    // always finds its job. A dry run reads only the header and loads no model, so it does
    // not wait behind running jobs (the extension plans with it while a batch runs).
    const job = async (checkpoint: () => void): Promise<UpscaleResult> => {
      await this.ensureInitialized();
      const { models } = await scanModels(this.builtinDir, this.userDir);
      const choice = chooseModel(
        models,
        params.model,
        DEFAULT_MODEL_ID,
        params.width === undefined && params.height === undefined ? params.scale : undefined,
      );
      const model = findIn(models, choice.id);
      log('info', `job ${jobId}: ${params.input} with ${model.id} (${choice.reason})`);
      let ran: { precision: Precision; warnings: readonly string[] } | undefined;
      const target: Target =
        params.width !== undefined || params.height !== undefined
          ? {
              kind: 'size',
              ...(params.width !== undefined && { width: params.width }),
              ...(params.height !== undefined && { height: params.height }),
              ...(params.fit && { fit: params.fit }),
            }
          : { kind: 'scale', scale: params.scale ?? model.scale };
      const result = await runPipeline(
        {
          input: params.input,
          ...(params.output !== undefined && { output: params.output }),
          ...(params.template !== undefined && { template: params.template }),
          target,
          ...(params.tile !== undefined && { tile: params.tile }),
          ...(params.overlap !== undefined && { overlap: params.overlap }),
          ...(params.format !== undefined && { format: params.format }),
          ...(params.quality !== undefined && { quality: params.quality }),
          alpha: params.alpha ?? 'model',
          overwrite: params.overwrite ?? false,
          ...(params.previewWidth !== undefined && { previewWidth: params.previewWidth }),
          ...(params.background !== undefined && { background: params.background }),
          ...(params.padding !== undefined && { padding: params.padding }),
          ...(params.dryRun !== undefined && { dryRun: params.dryRun }),
          ...(params.sidecar !== undefined && { sidecar: params.sidecar }),
          params: { ...params },
          modelReason: choice.reason,
        },
        {
          jobId,
          model,
          provider: this.provider,
          load: async () => {
            const acquired = await this.acquire(model);
            ran = acquired;
            return sessionInference(acquired.session);
          },
          checkpoint,
          progress: (u) => notify({ jobId, requestId, ...u }),
          limits: {
            maxInputPixels: this.maxInputPixels,
            maxOutputPixels: this.maxOutputPixels,
            memoryBytes: os.totalmem(),
          },
          daemonVersion: DAEMON_VERSION,
        },
      );
      return ran ? { ...result, precision: ran.precision, warnings: [...ran.warnings, ...result.warnings] } : result;
    };
    if (params.dryRun) return job(() => undefined);
    return this.queue.enqueue(requestId, job, (position) =>
      notify({ jobId, requestId, stage: 'queued', pass: 0, passes: 0, done: 0, total: 0, queuePosition: position }),
    );
  }

  /** Downloads in flight by request id, so `$/cancelRequest` and shutdown can stop them. */
  private readonly downloads = new Map<number | string, AbortController>();

  /** Downloads a catalogued release, checks its hash and imports it (models/download.ts). */
  async downloadModel(params: ModelsDownloadParams, requestId: number | string): Promise<ModelsDownloadResult> {
    this.refuseWhenShuttingDown();
    await this.ensureInitialized();
    const controller = new AbortController();
    this.downloads.set(requestId, controller);
    try {
      const r = await downloadModel(params.id, {
        modelsDir: this.userDir,
        signal: controller.signal,
        ...(params.allowUnverified !== undefined && { allowUnverified: params.allowUnverified }),
        ...(params.keepSource !== undefined && { keepSource: params.keepSource }),
        ...(params.proxy !== undefined && { proxy: params.proxy }),
        onProgress: (p) => this.options.notifyDownload?.({ requestId, ...p }),
      });
      log(
        'info',
        `downloaded ${params.id} (${r.bytes} bytes, sha256 ${r.sha256}${r.verified ? ', verified' : ', UNVERIFIED'}) as ${r.model.id}`,
      );
      return {
        model: this.modelInfo(r.model),
        sha256: r.sha256,
        verified: r.verified,
        bytes: r.bytes,
        resumedBytes: r.resumedBytes,
        ...(r.sourcePath !== undefined && { sourcePath: r.sourcePath }),
        ...(r.alreadyInstalled && { alreadyInstalled: true }),
      };
    } catch (e) {
      const message = (e as Error).message;
      if (e instanceof DownloadError && e.kind === 'cancelled') throw new DaemonError('Cancelled', message);
      if (e instanceof DownloadError && (e.kind === 'unverified' || e.kind === 'manual'))
        throw new DaemonError('InvalidParams', message);
      if (e instanceof DownloadError && e.kind === 'convert') throw new DaemonError('ModelInvalid', message);
      if (/^no model '.*' in the catalogue/.test(message)) throw new DaemonError('ModelNotFound', message);
      throw new DaemonError('DownloadFailed', message);
    } finally {
      this.downloads.delete(requestId);
    }
  }

  cancel(requestId: number | string): boolean {
    const download = this.downloads.get(requestId);
    if (download) {
      download.abort();
      return true;
    }
    return this.queue.cancel(requestId);
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const d of this.downloads.values()) d.abort();
    this.queue.cancelAll();
    await this.queue.idle();
    await this.sessions.unloadAll();
  }

  private refuseWhenShuttingDown(): void {
    if (this.shuttingDown)
      throw new DaemonError('ShuttingDown', 'the daemon is shutting down; no new work is accepted');
  }
}
