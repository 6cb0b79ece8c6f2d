// THE protocol between the daemon and its clients (the extension, the CLI, tests): the
// parameters and results of every method and notification. contract/methods.ts binds them
// to method names; both sides import both, so a renamed method or field breaks the build,
// not the user. Transport: JSON-RPC 2.0 messages framed as `Content-Length: N\r\n\r\n<json>`
// (as LSP; contract/rpc/framing.ts).

import type {
  Activation,
  ActivationSource,
  AlphaMode,
  ExecutionProvider,
  Fit,
  OutputFormat,
  Padding,
  Precision,
  Rect,
} from './vocabulary';
import type { CatalogueEntry } from './catalogue';

export const PROTOCOL_VERSION = 1;

export interface ProviderStatus {
  readonly provider: ExecutionProvider;
  readonly available: boolean;
  /** Why it is not available (or not chosen), in words a user can act on. */
  readonly reason?: string;
}

/**
 * What a converted model is and needs, as spandrel's model descriptor states it for the same
 * weights: its image channels, the input size it needs, whether tiling suits it, and whether
 * it runs correctly in fp16 and bf16.
 */
export interface ModelTraits {
  readonly channels: { readonly input: number; readonly output: number };
  /** Each side at least `minimum` and a multiple of `multiple`; `square`: height equal to width. */
  readonly size: { readonly minimum: number; readonly multiple: number; readonly square: boolean };
  /** 'discouraged': tiles visibly change the result; 'internal': the model tiles by itself. */
  readonly tiling: 'supported' | 'discouraged' | 'internal';
  /**
   * 'global': part of the network normalises, pools or attends over the whole input, so
   * a tile comes out differently from the same pixels of the whole image (measured: the
   * seam figure); automatic tiles then take the whole image where it fits in memory.
   */
  readonly context: 'local' | 'global';
  readonly fp16: boolean;
  readonly bf16: boolean;
}

/** Where and how a model runs, and why: the daemon's provider and the precision of one job or load. */
export interface RunsOn {
  readonly provider: ExecutionProvider;
  /** Why this provider: requested, or what `auto` measured or remembered. */
  readonly providerReason: string;
  readonly precision: Precision;
  /** Why this precision: requested, or what `auto` made of the model and the device. */
  readonly precisionReason: string;
}

export interface ModelInfo {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  /** The converter's architecture id for models converted from weights (absent for ONNX, ncnn, TF.js). */
  readonly architecture?: string;
  readonly variant: string;
  readonly scale: number;
  /** Input height and width the network needs to be a multiple of (1: any). */
  readonly inputMultiple: number;
  /** Known for models converted from weights. */
  readonly traits?: ModelTraits;
  /** Size of the ONNX file in bytes. */
  readonly sizeBytes: number;
  readonly source: 'builtin' | 'user';
  readonly license: string;
  readonly credit: string;
  readonly loaded: boolean;
  /** SRVGGNetCompact only: the activation the model runs, and who decided it. */
  readonly activation?: Activation;
  readonly activationSource?: ActivationSource;
}

// ---------------------------------------------------------------------------------------
// Requests (client -> daemon)

export interface InitializeResult {
  readonly version: string;
  readonly protocolVersion: number;
  readonly providers: readonly ProviderStatus[];
  readonly activeProvider: ExecutionProvider;
  /** Why the active provider: requested, or what `auto` measured or remembered. */
  readonly providerReason: string;
  /** Whether requests may ask for `precision: 'fp16'` on the active provider, and why not. */
  readonly fp16: { readonly available: boolean; readonly reason?: string };
  readonly modelsFolder: string;
  readonly defaultModel: string;
  /** Models that could not be registered, with the reason. */
  readonly modelProblems: readonly string[];
}

export interface ModelsListResult {
  readonly models: readonly ModelInfo[];
}

export interface ModelIdParams {
  readonly id: string;
}

/** The model's session at the precision a request with `precision: 'auto'` runs it at. */
export interface ModelsLoadResult extends RunsOn {
  readonly id: string;
  /** Milliseconds spent; near zero when the session was already resident. */
  readonly loadMs: number;
  readonly cached: boolean;
}

export interface ModelsUnloadResult {
  readonly id: string;
  readonly unloaded: boolean;
}

/** One model pass of a plan. */
export interface PlannedPass {
  readonly model: string;
  readonly scale: number;
  /** A pass of the output's own models, or of the blend mixed into it. */
  readonly branch: 'main' | 'blend';
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly outputWidth: number;
  readonly outputHeight: number;
  /** The tile the model sees, in this pass's input pixels, context and border included. */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Input pixels neighbouring tiles share. */
  readonly overlap: number;
  readonly columns: number;
  readonly rows: number;
  /** Tiles in this pass, alpha-plane tiles included. */
  readonly tiles: number;
  /** Model runs in this pass: its tiles times the TTA level. */
  readonly runs: number;
}

/** What an upscale will do (returned with `dryRun`, and recorded in the sidecar). */
export interface UpscalePlan {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly model: string;
  /** Why this model: named by the request, or chosen (see README, "Which model"). */
  readonly modelReason: string;
  /** The models the output goes through, in order: `model` alone, or a chain. */
  readonly chain: readonly string[];
  /** A second model's result mixed in: (1 - weight) x the chain's + weight x its own. */
  readonly blend: { readonly model: string; readonly weight: number } | null;
  /** Test-time augmentation: the model runs on each tile under this many flips and rotations (1: once). */
  readonly tta: number;
  readonly passes: readonly PlannedPass[];
  /** Lanczos-3 after the passes, or null when the last pass is already the exact size. */
  readonly finalResize: {
    readonly fromWidth: number;
    readonly fromHeight: number;
    readonly toWidth: number;
    readonly toHeight: number;
  } | null;
  readonly fit: Fit;
  /** Where the upscaled picture sits in the output (smaller than the output only with fit 'contain'). */
  readonly content: Rect;
  readonly background: string | null;
  readonly padding: Padding;
  readonly alpha: AlphaMode | null;
  readonly outputPath: string;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly depth: number;
}

export interface UpscaleTimings {
  readonly decodeMs: number;
  readonly inferMs: number;
  readonly encodeMs: number;
  readonly totalMs: number;
}

/** The job's result; with dryRun, what would run: the same provider and precision (RunsOn). */
export interface UpscaleResult extends RunsOn {
  readonly jobId: string;
  readonly input: string;
  readonly outputPath: string;
  readonly width: number;
  readonly height: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly model: string;
  readonly passes: number;
  readonly tile: number;
  readonly overlap: number;
  readonly timings: UpscaleTimings;
  readonly warnings: readonly string[];
  /** The plan that ran (or, with dryRun, would run). */
  readonly plan?: UpscalePlan;
  /** True when nothing was written (dryRun). */
  readonly dryRun?: boolean;
  /** With `sidecar`: where the JSON record was written. */
  readonly sidecarPath?: string;
}

export interface ModelsImportResult {
  readonly model: ModelInfo;
  /** What the user should know, e.g. an activation that was assumed. */
  readonly warnings: readonly string[];
}

export interface ShutdownResult {
  readonly ok: true;
}

export interface ModelsDownloadResult {
  readonly model: ModelInfo;
  /** SHA-256 of the downloaded file. */
  readonly sha256: string;
  /** Whether it matched a published hash (false only with allowUnverified). */
  readonly verified: boolean;
  readonly bytes: number;
  /** Bytes resumed from an earlier, interrupted attempt or connection. */
  readonly resumedBytes: number;
  /** With keepSource: where the release file is. */
  readonly sourcePath?: string;
  /** The models folder already held this very release; nothing was fetched. */
  readonly alreadyInstalled?: boolean;
}

/** The official releases `models/download` can fetch (models/catalogue.json, or $UPSCALE_CATALOGUE). */
export interface ModelsCatalogueResult {
  /** Family id → the label to show, in listing order. */
  readonly families: Readonly<Record<string, string>>;
  readonly models: readonly CatalogueEntry[];
}

/** Parameters of a method that takes none. */
export type NoParams = Record<string, never>;

// ---------------------------------------------------------------------------------------
// Notifications

export type JobStage = 'queued' | 'decode' | 'load' | 'infer' | 'resize' | 'encode' | 'done';

export interface ProgressParams {
  readonly jobId: string;
  /** The id of the `upscale` request this job answers. */
  readonly requestId: number | string;
  readonly stage: JobStage;
  /** 1-based pass number and the planned number of passes. */
  readonly pass: number;
  readonly passes: number;
  /** Model runs finished and total in this pass: its tiles, each run `runsPerTile` times. */
  readonly done: number;
  readonly total: number;
  /** With TTA: the runs each tile takes (absent for one). */
  readonly runsPerTile?: number;
  /** The finished tile's rectangle in this pass's output pixels. */
  readonly tile?: Rect;
  /** Size of this pass's output. */
  readonly passWidth?: number;
  readonly passHeight?: number;
  /** With previewWidth: the tile as PNG (base64), scaled by `previewScale`, for the final output's geometry. */
  readonly preview?: { readonly png: string; readonly rect: Rect; readonly scale: number };
  /** Queue position while stage is 'queued' (0 = next). */
  readonly queuePosition?: number;
  /**
   * Estimated milliseconds left in the whole job (reading, loading, tiles, resize, writing),
   * from rates the daemon measured and keeps between runs: per model, provider, precision
   * and tile size, else from the provider's measured speed and the model's MACs per pixel.
   */
  readonly etaMs?: number;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogParams {
  readonly level: LogLevel;
  readonly message: string;
}

export interface CancelParams {
  /** The id of the request to cancel (an `upscale` request id). */
  readonly id: number | string;
}

/** How far a download is: bytes, then verification and conversion. */
export interface DownloadProgress {
  /** The catalogue id. */
  readonly id: string;
  readonly phase: 'connecting' | 'downloading' | 'verifying' | 'converting' | 'done';
  readonly bytesDone: number;
  /** Null when neither the server nor the catalogue says. */
  readonly bytesTotal: number | null;
  /** The URL being fetched, after redirects. */
  readonly url: string;
}

/** Progress of a `models/download` request. */
export interface DownloadProgressParams extends DownloadProgress {
  /** The id of the `models/download` request. */
  readonly requestId: number | string;
}
