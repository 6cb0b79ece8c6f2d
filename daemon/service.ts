// The daemon's state and its methods, independent of the transport: the active provider,
// the model registry, resident sessions and the job queue.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { DaemonError } from '../contract/errors';
import {
  PROTOCOL_VERSION,
  type DownloadProgressParams,
  type InitializeResult,
  type ModelIdParams,
  type ModelInfo,
  type ModelsCatalogueResult,
  type ModelsDownloadResult,
  type ModelsImportResult,
  type ModelsListResult,
  type ModelsLoadResult,
  type ModelsUnloadResult,
  type ProgressParams,
  type ProviderStatus,
  type RunsOn,
  type UpscaleResult,
} from '../contract/protocol';
import { parseBlend, parseChain, targetOf, UPSCALE_FIELDS, type UpscaleParams } from '../contract/request';
import type { InitializeParams, ModelsDownloadParams, ModelsImportParams } from '../contract/params';
import type { ExecutionProvider, PrecisionChoice } from '../contract/vocabulary';
import { JobQueue } from './jobs';
import { TemporaryFiles } from './temp-files';
import { deviceRunsFp16, selectProvider } from './runtime/providers';
import { deviceTensorLimit } from './runtime/device-limits';
import { SessionCache, type Acquired } from './runtime/sessions';
import { decidePrecision, fp16Safety, type PrecisionDecision } from './runtime/precision';
import { ensureFp16Model } from '../models/convert/fp16-cache';
import { sessionInference } from './runtime/inference';
import { runPipeline, type LoadedModel } from './engine/pipeline';
import { measureSpeed } from './runtime/calibration';
import type { ThroughputMemory } from './engine/eta';
import { ratesPath, readRates, writeRates } from './rates-file';
import { chooseModel } from './engine/model-choice';
import { scanModels, type RegisteredModel } from '../models/registry';
import { importModel } from '../models/import';
import { activationWarnings } from '../models/architectures/compact/activation';
import { builtinModelsDir, cacheRoot, userModelsDir } from '../models/paths';
import { DEFAULT_MODEL_ID } from '../models/builtin';
import { log } from './log';
import { downloadModel } from '../models/download';
import { catalogueFromEnv } from '../models/catalogue';

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

/**
 * The models of a job: the main one (the last of a chain that upscales, else its last) and
 * those the chain runs before and after it, and the blend's; each must be installed.
 */
function jobModels(
  models: readonly RegisteredModel[],
  params: UpscaleParams,
  chosen: string,
): {
  model: RegisteredModel;
  others: {
    before: RegisteredModel[];
    after: RegisteredModel[];
    blend: { model: RegisteredModel; weight: number } | null;
  };
} {
  const blendSpec = params.blend === undefined ? null : parseBlend(params.blend);
  const blend = blendSpec && { model: findIn(models, blendSpec.model), weight: blendSpec.weight };
  const chain = params.chain === undefined ? null : parseChain(params.chain);
  if (chain === null) return { model: findIn(models, chosen), others: { before: [], after: [], blend } };
  const found = chain.map((id) => findIn(models, id));
  const upscalers = found.flatMap((m, i) => (m.scale > 1 ? [i] : []));
  const main = upscalers.at(-1) ?? found.length - 1;
  const model = found[main];
  if (!model) throw new DaemonError('InvalidParams', `upscale: 'chain' is empty`);
  return { model, others: { before: found.slice(0, main), after: found.slice(main + 1), blend } };
}

export class UpscaleService {
  private readonly queue = new JobQueue();
  private readonly temporaryFiles = new TemporaryFiles();
  private readonly sessions = new SessionCache(SESSION_BUDGET_BYTES);
  private provider: ExecutionProvider = 'cpu';
  private providerReason = '';
  private providers: readonly ProviderStatus[] = [];
  /** Whether the active provider's device runs fp16 (false on the CPU). */
  private deviceFp16 = false;
  /** The last `initialize` asked for: a daemon whose named provider was refused keeps refusing it. */
  private requested: InitializeParams = {};
  /** Models whose fp16 version could not be made or loaded: `auto` runs them in fp32 without trying again. */
  private readonly fp16Failed = new Map<string, string>();
  private initialized = false;
  private shuttingDown = false;
  private builtinDir: string;
  private userDir: string;
  private maxInputPixels = DEFAULT_MAX_INPUT_PIXELS;
  private maxOutputPixels = DEFAULT_MAX_OUTPUT_PIXELS;
  /** The measured rates behind time estimates, read from the cache folder once and written after each job. */
  private rates: Promise<ThroughputMemory> | null = null;
  private readonly ratesFile = ratesPath();

  constructor(private readonly options: ServiceOptions) {
    this.builtinDir = options.builtinDir ?? builtinModelsDir();
    this.userDir = options.userDir ?? userModelsDir();
  }

  get queueLength(): number {
    return this.queue.length;
  }

  async initialize(params: InitializeParams): Promise<InitializeResult> {
    this.requested = params;
    const selection = await selectProvider(params.provider ?? 'auto', { cacheDir: cacheRoot() }).catch((e: unknown) => {
      // Until an `initialize` succeeds, every request asks again, and a refused provider is refused again.
      this.initialized = false;
      throw e;
    });
    for (const line of selection.details) log('debug', line);
    this.provider = selection.active;
    this.providerReason = selection.reason;
    this.providers = selection.statuses;
    // Known before any request, so that one asking for fp16 where it cannot run is refused before any work.
    this.deviceFp16 = selection.deviceFp16 ?? (await deviceRunsFp16(this.provider));
    if (params.modelsFolder) this.userDir = params.modelsFolder;
    if (params.maxInputPixels) this.maxInputPixels = params.maxInputPixels;
    if (params.maxOutputPixels) this.maxOutputPixels = params.maxOutputPixels;
    this.initialized = true;
    const scan = await scanModels(this.builtinDir, this.userDir);
    for (const problem of scan.problems) log('warn', `model skipped: ${problem}`);
    log('info', `${selection.summary}; fp16 ${this.fp16Support().available ? 'available' : 'not available'}`);
    log('info', `${scan.models.length} model(s); models folder ${this.userDir}`);
    return {
      version: DAEMON_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      providers: this.providers,
      activeProvider: this.provider,
      providerReason: this.providerReason,
      fp16: this.fp16Support(),
      modelsFolder: this.userDir,
      defaultModel: DEFAULT_MODEL_ID,
      modelProblems: scan.problems,
    };
  }

  private async ensureInitialized(): Promise<void> {
    if (!this.initialized) await this.initialize(this.requested);
  }

  /** Whether a request may ask for fp16 here: what decidePrecision says of an fp16-safe model. */
  private fp16Support(): InitializeResult['fp16'] {
    const d = decidePrecision({
      choice: 'fp16',
      provider: this.provider,
      deviceFp16: this.deviceFp16,
      safety: { safe: true, ruledOut: false, why: '' },
    });
    return 'refused' in d ? { available: false, reason: d.refused } : { available: true };
  }

  /**
   * The precision `model` runs at for the request's `choice` (README, "GPU"), decided before
   * any work: an explicit fp16 that cannot run is refused here, with the reason.
   */
  private precisionFor(
    model: RegisteredModel,
    choice: PrecisionChoice,
  ): Extract<PrecisionDecision, { precision: unknown }> {
    const failed = choice === 'auto' ? this.fp16Failed.get(model.id) : undefined;
    if (failed !== undefined)
      return { precision: 'fp32', reason: `auto: its fp16 version could not be made or loaded (${failed})` };
    const decision = decidePrecision({
      choice,
      provider: this.provider,
      deviceFp16: this.deviceFp16,
      safety: fp16Safety(model),
    });
    if ('refused' in decision)
      throw new DaemonError(
        'InvalidParams',
        `upscale: ${decision.refused} (model ${model.id} on ${this.provider}); use precision auto or fp32`,
      );
    return decision;
  }

  /**
   * One precision for every model of a job (a chain's, a blend's), so that what the result
   * reports is what ran: an explicit choice must suit each model (else it is refused, naming
   * the one that cannot); `auto` takes fp16 only where it would for each of them.
   */
  private precisionForJob(
    models: readonly RegisteredModel[],
    choice: PrecisionChoice,
  ): Extract<PrecisionDecision, { precision: unknown }> {
    const decided = models.map((m) => ({ id: m.id, ...this.precisionFor(m, choice) }));
    const [first, ...rest] = decided;
    if (first === undefined) throw new RangeError('a job has at least one model');
    if (rest.length === 0) return first;
    const fp32 = decided.find((d) => d.precision === 'fp32');
    if (fp32 !== undefined)
      return {
        precision: 'fp32',
        reason: choice === 'auto' ? `${fp32.reason} (${fp32.id}; one precision per job)` : fp32.reason,
      };
    const warnings = decided.flatMap((d) => (d.warning === undefined ? [] : [`${d.id}: ${d.warning}`]));
    return { precision: 'fp16', reason: first.reason, ...(warnings.length > 0 && { warning: warnings.join('; ') }) };
  }

  private runsOn(decision: { precision: RunsOn['precision']; reason: string }): RunsOn {
    return {
      provider: this.provider,
      providerReason: this.providerReason,
      precision: decision.precision,
      precisionReason: decision.reason,
    };
  }

  private async findModel(id: string | undefined): Promise<RegisteredModel> {
    return findIn((await scanModels(this.builtinDir, this.userDir)).models, id);
  }

  private modelInfo(m: RegisteredModel): ModelInfo {
    return {
      id: m.id,
      name: m.name,
      family: m.family,
      ...(m.architecture !== undefined && { architecture: m.architecture }),
      variant: m.variant,
      scale: m.scale,
      inputMultiple: m.inputMultiple,
      ...(m.traits !== undefined && { traits: m.traits }),
      sizeBytes: m.sizeBytes,
      source: m.source,
      license: m.license,
      credit: m.credit,
      loaded: this.sessions.isLoaded(m.id),
      activation: m.activation,
      activationSource: m.activationSource,
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
    // ModelInvalid for a file that cannot be converted, OutputNotWritable for a folder that cannot take it.
    const model = await importModel(params.path, this.userDir, { activation: params.activation });
    log('info', `imported ${params.path} as ${model.id} (${model.family}, x${model.scale})`);
    // From the record, not the conversion: a re-import that keeps an earlier choice warns as that choice does.
    const warnings = activationWarnings(params.path, model.activationSource, 'import');
    for (const w of warnings) log('warn', w);
    return { model: this.modelInfo(model), warnings };
  }

  /**
   * The session of `model` at the decided precision. `auto`'s fp16 falls back to fp32, once
   * per model and daemon, when the fp16 version cannot be made or loaded; an explicit fp16
   * then fails with the reason.
   */
  private async acquire(
    model: RegisteredModel,
    decision: { precision: RunsOn['precision']; reason: string },
    choice: PrecisionChoice,
    threads?: number,
  ): Promise<Acquired & { readonly runsOn: RunsOn }> {
    if (decision.precision === 'fp16') {
      try {
        const derived = await ensureFp16Model(model.onnxPath);
        if (derived.derivedMs !== null)
          log('info', `${model.id}: fp16 model derived in ${Math.round(derived.derivedMs)} ms (${derived.path})`);
        const size = (await fs.stat(derived.path)).size;
        const acquired = await this.sessions.acquire(
          { id: model.id, path: derived.path, sizeBytes: size, precision: 'fp16' },
          this.provider,
          threads,
        );
        return { ...acquired, runsOn: this.runsOn(decision) };
      } catch (e) {
        const why = (e as Error).message.split('\n')[0] ?? '';
        if (choice === 'fp16')
          throw new DaemonError('ModelInvalid', `${model.id} cannot run in fp16: ${why}`, model.onnxPath);
        this.fp16Failed.set(model.id, why);
        log('warn', `${model.id} runs in fp32: its fp16 version could not be made or loaded (${why})`);
        decision = this.precisionFor(model, 'auto');
      }
    }
    try {
      const acquired = await this.sessions.acquire(
        { id: model.id, path: model.onnxPath, sizeBytes: model.sizeBytes, precision: 'fp32' },
        this.provider,
        threads,
      );
      return { ...acquired, runsOn: this.runsOn(decision) };
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
    const acquired = await this.acquire(model, this.precisionFor(model, 'auto'), 'auto');
    return { id: model.id, ...acquired.runsOn, loadMs: acquired.loadMs, cached: acquired.cached };
  }

  async unloadModel(params: ModelIdParams): Promise<ModelsUnloadResult> {
    await this.findModel(params.id);
    // Wait for running work so a session is never released under a job.
    await this.queue.idle();
    return { id: params.id, unloaded: await this.sessions.unload(params.id) };
  }

  /**
   * The requests in flight that can be cancelled (upscale jobs and downloads), by request id:
   * `$/cancelRequest` and shutdown abort their signal, which reaches the tile loop and the
   * download.
   */
  private readonly inFlight = new Map<number | string, AbortController>();

  /** Runs `work` with a signal that `cancel(requestId)` aborts. Registered at once, before any await. */
  private cancellable<T>(requestId: number | string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.inFlight.set(requestId, controller);
    const settled = () => {
      if (this.inFlight.get(requestId) === controller) this.inFlight.delete(requestId);
    };
    return work(controller.signal).finally(settled);
  }

  upscale(params: UpscaleParams, requestId: number | string): Promise<UpscaleResult> {
    this.refuseWhenShuttingDown();
    const jobId = randomUUID();
    const notify = this.options.notifyProgress;
    // Registered and queued at once, before any await, so a `$/cancelRequest` that follows
    // the request always finds its job. A dry run reads only the header and loads no model,
    // so it does not wait behind running jobs (the extension plans with it while a batch runs).
    const job = async (signal: AbortSignal): Promise<UpscaleResult> => {
      await this.ensureInitialized();
      const { models } = await scanModels(this.builtinDir, this.userDir);
      const choice = chooseModel(
        models,
        params.model,
        DEFAULT_MODEL_ID,
        params.width === undefined && params.height === undefined ? params.scale : undefined,
      );
      const { model, others } = jobModels(models, params, choice.id);
      const all = [model, ...others.before, ...others.after, ...(others.blend ? [others.blend.model] : [])];
      const byId = new Map(all.map((m) => [m.id, m]));
      const precisionChoice = params.precision ?? UPSCALE_FIELDS.precision.default;
      const decision = this.precisionForJob(all, precisionChoice);
      const named = [...others.before, model, ...others.after].map((m) => m.id).join(' > ');
      // A dry run is the extension's planning (the scale picker names the output with one): at
      // info level each job it plans would read as two in the log.
      log(
        params.dryRun ? 'debug' : 'info',
        `job ${jobId}: ${params.input} with ${named} (${choice.reason}) on ${this.provider} in ${decision.precision} (${decision.reason})`,
      );
      const throughput = await this.throughput(model, params.dryRun === true);
      const load = async (m: { readonly id: string }): Promise<LoadedModel> => {
        const registered = findIn([...byId.values()], m.id);
        const acquired = await this.acquire(registered, decision, precisionChoice, params.threads);
        return { infer: sessionInference(acquired.session, registered.io), runsOn: acquired.runsOn };
      };
      const result = await runPipeline(
        {
          // The pipeline's request is the protocol's, with the target gathered into one
          // union and the defaults the pipeline does not apply itself filled in.
          ...params,
          target: targetOf(params, model.scale),
          alpha: params.alpha ?? UPSCALE_FIELDS.alpha.default,
          overwrite: params.overwrite ?? UPSCALE_FIELDS.overwrite.default,
          params: { ...params },
          modelReason: params.chain === undefined ? choice.reason : 'named in the request',
        },
        {
          jobId,
          model,
          models: others,
          runsOn: this.runsOn(decision),
          load,
          signal,
          progress: (u) => notify({ jobId, requestId, ...u }),
          warn: (message) => log('warn', `job ${jobId}: ${message}`),
          temporaryFile: (file) => this.temporaryFiles.record(jobId, file),
          limits: {
            maxInputPixels: this.maxInputPixels,
            maxOutputPixels: this.maxOutputPixels,
            memoryBytes: os.totalmem(),
            device: deviceTensorLimit(this.provider, decision.precision),
          },
          throughput,
          resident: this.sessions.isLoaded(model.id),
          daemonVersion: DAEMON_VERSION,
        },
      ).finally(
        // What this job measured, kept for the next daemon (even a failed job timed its
        // stages), before the answer: a client that stops the daemon then loses nothing.
        () =>
          params.dryRun ||
          writeRates(this.ratesFile, throughput).catch((e: Error) =>
            log('debug', `could not write ${this.ratesFile}: ${e.message}`),
          ),
      );
      return decision.warning === undefined ? result : { ...result, warnings: [decision.warning, ...result.warnings] };
    };
    const run = (signal: AbortSignal) => job(signal).finally(() => this.temporaryFiles.release(jobId));
    return this.cancellable(requestId, (signal) =>
      params.dryRun
        ? run(signal)
        : this.queue.enqueue(signal, run, (position) =>
            notify({
              jobId,
              requestId,
              stage: 'queued',
              pass: 0,
              passes: 0,
              done: 0,
              total: 0,
              queuePosition: position,
            }),
          ),
    );
  }

  /**
   * The remembered rates. Before a job of a model that has never run on this provider, a
   * provider that has never been timed on this machine is timed once (a fraction of a
   * second), so that the model's MACs per pixel give the job an estimate from the start.
   */
  private async throughput(model: RegisteredModel, dryRun: boolean): Promise<ThroughputMemory> {
    this.rates ??= readRates(this.ratesFile);
    const rates = await this.rates;
    if (dryRun || rates.knowsProvider(this.provider) || model.macsPerPixel === undefined || model.macsPerPixel === null)
      return rates;
    try {
      const { macs, ms } = await measureSpeed(this.provider);
      rates.calibrated(this.provider, macs, ms);
      log(
        'info',
        `${this.provider} runs convolutions at ${(macs / ms / 1e6).toFixed(1)} GMAC/s (timed once, for time estimates)`,
      );
    } catch (e) {
      log('debug', `could not time the ${this.provider} provider for time estimates: ${(e as Error).message}`);
    }
    return rates;
  }

  /** The releases `models/download` can fetch; clients show them without reading the file themselves. */
  catalogue(): ModelsCatalogueResult {
    const { families, models } = catalogueFromEnv();
    return { families, models };
  }

  /** Downloads a catalogued release, checks its hash and imports it (models/download.ts). */
  downloadModel(params: ModelsDownloadParams, requestId: number | string): Promise<ModelsDownloadResult> {
    this.refuseWhenShuttingDown();
    return this.cancellable(requestId, (signal) => this.download(params, requestId, signal));
  }

  private async download(
    params: ModelsDownloadParams,
    requestId: number | string,
    signal: AbortSignal,
  ): Promise<ModelsDownloadResult> {
    await this.ensureInitialized();
    try {
      const r = await downloadModel(params.id, {
        modelsDir: this.userDir,
        signal,
        allowUnverified: params.allowUnverified,
        keepSource: params.keepSource,
        proxy: params.proxy,
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
        sourcePath: r.sourcePath,
        alreadyInstalled: r.alreadyInstalled,
      };
    } catch (e) {
      // The downloader's errors carry their codes; one without (the catalogue file unreadable, say) is a failed download.
      throw e instanceof DaemonError ? e : new DaemonError('DownloadFailed', (e as Error).message);
    }
  }

  /** Cancels the job or download answering `requestId`; false when there is none. */
  cancel(requestId: number | string): boolean {
    const controller = this.inFlight.get(requestId);
    controller?.abort();
    return controller !== undefined;
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const controller of this.inFlight.values()) controller.abort();
    await this.queue.idle();
    await this.sessions.unloadAll();
  }

  private refuseWhenShuttingDown(): void {
    if (this.shuttingDown)
      throw new DaemonError('ShuttingDown', 'the daemon is shutting down; no new work is accepted');
  }
}
