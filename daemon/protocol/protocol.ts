// THE protocol between the daemon and its clients (the extension, the CLI, tests). Both
// sides import this module, so a renamed method or field breaks the build, not the user.
// Transport: JSON-RPC 2.0 messages framed as `Content-Length: N\r\n\r\n<json>` (as LSP).

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------
// Shared vocabulary

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];
export type ExecutionProvider = Exclude<ExecutionProviderChoice, 'auto'>;

/** fp16 runs weights and arithmetic in half precision on GPU providers (README, "GPU"). */
export const PRECISIONS = ['auto', 'fp32', 'fp16'] as const;
export type PrecisionChoice = (typeof PRECISIONS)[number];

export const OUTPUT_FORMATS = ['png', 'jpg', 'webp', 'tif', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const FITS = ['cover', 'contain', 'fill'] as const;
export type Fit = (typeof FITS)[number];

export const ALPHA_MODES = ['model', 'lanczos'] as const;
export type AlphaMode = (typeof ALPHA_MODES)[number];

/**
 * What the model sees past the image's borders: nothing added (its own zero padding, so a
 * whole-image run is exactly the model's output), a mirrored border, or the opposite edge
 * (tileable textures). Inner tile edges always get the real neighbouring pixels.
 */
export const PADDINGS = ['none', 'reflect', 'wrap'] as const;
export type Padding = (typeof PADDINGS)[number];
export const DEFAULT_PADDING: Padding = 'none';

/** SRVGGNetCompact's activations (upstream act_type); LeakyReLU's slope is 0.1, as upstream's. */
export const ACTIVATIONS = ['relu', 'leakyrelu', 'prelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
/** Who decided a model's activation: its weights (PReLU slopes), an assumption (ReLU: the weights cannot tell), or the user. */
export type ActivationSource = 'weights' | 'assumed' | 'user';

export interface ProviderStatus {
  readonly provider: ExecutionProvider;
  readonly available: boolean;
  /** Why it is not available (or not chosen), in words a user can act on. */
  readonly reason?: string;
}

export interface ModelInfo {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly variant: string;
  readonly scale: number;
  /** Input height and width the network needs to be a multiple of (1: any). */
  readonly inputMultiple: number;
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

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

// ---------------------------------------------------------------------------------------
// Requests (client -> daemon)

export interface InitializeParams {
  readonly clientName?: string;
  /** Preferred provider; default 'auto'. */
  readonly provider?: ExecutionProviderChoice;
  /** Precision models run at; default 'auto'. */
  readonly precision?: PrecisionChoice;
  /** The user's models folder (default: the platform's data folder, see README). */
  readonly modelsFolder?: string;
  /** Largest input image, in pixels. */
  readonly maxInputPixels?: number;
  /** Largest output (and intermediate pass) image, in pixels. */
  readonly maxOutputPixels?: number;
}

export interface InitializeResult {
  readonly version: string;
  readonly protocolVersion: number;
  readonly providers: readonly ProviderStatus[];
  readonly activeProvider: ExecutionProvider;
  /** Why the active provider: requested, or what `auto` measured or remembered. */
  readonly providerReason: string;
  readonly precision: PrecisionChoice;
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

export interface ModelsLoadResult {
  readonly id: string;
  readonly provider: ExecutionProvider;
  /** Milliseconds spent; near zero when the session was already resident. */
  readonly loadMs: number;
  readonly cached: boolean;
}

export interface ModelsUnloadResult {
  readonly id: string;
  readonly unloaded: boolean;
}

export interface UpscaleParams {
  /** Absolute path of the source image. */
  readonly input: string;
  /** Output file or folder (absolute). Default: beside the input, named by `template`. */
  readonly output?: string;
  /** Output name template: {name} {scale} {width} {height} {model} {ext}. Default `{name}@{scale}x.{ext}`. */
  readonly template?: string;
  readonly model?: string;
  /** Target scale factor (> 0). Exclusive with width/height. */
  readonly scale?: number;
  /** Exact target width; one of width/height alone keeps the aspect ratio. */
  readonly width?: number;
  readonly height?: number;
  /** With both width and height: scale to cover and crop (default), fit inside, or stretch. */
  readonly fit?: Fit;
  /** Input pixels each tile decides (as Real-ESRGAN's --tile); 0 = the whole image at once. Default: automatic. */
  readonly tile?: number;
  /** Context added on each side of a tile, in input pixels (Real-ESRGAN's tile_pad); neighbours blend across twice this. */
  readonly overlap?: number;
  readonly format?: OutputFormat;
  readonly quality?: number;
  readonly alpha?: AlphaMode;
  readonly overwrite?: boolean;
  /** Send encoded tile previews with progress, scaled so the whole output is at most this wide. */
  readonly previewWidth?: number;
  /** With fit 'contain': the colour of the padding, `#rrggbb` or `transparent` (default: transparent where the format has alpha, else white). */
  readonly background?: string;
  /** Border handling (default 'none': the model's own output); 'reflect' mirrors a border in, 'wrap' keeps tileable textures tileable. */
  readonly padding?: Padding;
  /** Plan only: check everything, return the plan in `UpscaleResult.plan`, write nothing. */
  readonly dryRun?: boolean;
  /** Also write `OUTPUT.json` beside the output: hashes, parameters, plan, provider, versions, timings. */
  readonly sidecar?: boolean;
}

/** One model pass of a plan. */
export interface PlannedPass {
  readonly model: string;
  readonly scale: number;
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
}

/** What an upscale will do (returned with `dryRun`, and recorded in the sidecar). */
export interface UpscalePlan {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly model: string;
  /** Why this model: named by the request, or chosen (see README, "Which model"). */
  readonly modelReason: string;
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

export interface UpscaleResult {
  readonly jobId: string;
  readonly input: string;
  readonly outputPath: string;
  readonly width: number;
  readonly height: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly model: string;
  readonly passes: number;
  readonly provider: ExecutionProvider;
  /** The precision the model ran at (absent with dryRun). */
  readonly precision?: 'fp32' | 'fp16';
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

export interface ModelsImportParams {
  /** Absolute path of a .pth, .safetensors, .onnx or ncnn .param file. */
  readonly path: string;
  /**
   * SRVGGNetCompact weights only: the activation the model was trained with. Needed only when
   * the weights hold no PReLU slopes (ReLU is then assumed, with a warning); refused when it
   * contradicts the weights or the file is another architecture.
   */
  readonly activation?: Activation;
}

export interface ModelsImportResult {
  readonly model: ModelInfo;
  /** What the user should know, e.g. an activation that was assumed. */
  readonly warnings: readonly string[];
}

export interface ShutdownResult {
  readonly ok: true;
}

export interface ModelsDownloadParams {
  /** A catalogue id (models/catalogue.json). */
  readonly id: string;
  /** Required for catalogue entries without a published SHA-256 (`verified: false`). */
  readonly allowUnverified?: boolean;
  /** Keep the downloaded release file in `<modelsFolder>/sources/` (default: removed). */
  readonly keepSource?: boolean;
  /** A proxy URL (VS Code's http.proxy); overrides HTTPS_PROXY/HTTP_PROXY. NO_PROXY still applies. */
  readonly proxy?: string;
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

/** Method name -> [params, result]. The one table both sides agree on. */
export interface RequestMap {
  initialize: [InitializeParams, InitializeResult];
  'models/list': [Record<string, never>, ModelsListResult];
  'models/load': [ModelIdParams, ModelsLoadResult];
  'models/unload': [ModelIdParams, ModelsUnloadResult];
  'models/import': [ModelsImportParams, ModelsImportResult];
  'models/download': [ModelsDownloadParams, ModelsDownloadResult];
  upscale: [UpscaleParams, UpscaleResult];
  shutdown: [Record<string, never>, ShutdownResult];
}
export type RequestMethod = keyof RequestMap;
export type ParamsOf<M extends RequestMethod> = RequestMap[M][0];
export type ResultOf<M extends RequestMethod> = RequestMap[M][1];

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
  /** Tiles finished and total in this pass. */
  readonly done: number;
  readonly total: number;
  /** The finished tile's rectangle in this pass's output pixels. */
  readonly tile?: Rect;
  /** Size of this pass's output. */
  readonly passWidth?: number;
  readonly passHeight?: number;
  /** With previewWidth: the tile as PNG (base64), scaled by `previewScale`, for the final output's geometry. */
  readonly preview?: { readonly png: string; readonly rect: Rect; readonly scale: number };
  /** Queue position while stage is 'queued' (0 = next). */
  readonly queuePosition?: number;
  /** Estimated milliseconds of inference left, from measured tile throughput (per model, provider and tile size). */
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

/** Progress of a `models/download` request (bytes, then verification and conversion). */
export interface DownloadProgressParams {
  /** The id of the `models/download` request. */
  readonly requestId: number | string;
  /** The catalogue id. */
  readonly id: string;
  readonly phase: 'connecting' | 'downloading' | 'verifying' | 'converting' | 'done';
  readonly bytesDone: number;
  /** Null when neither the server nor the catalogue says. */
  readonly bytesTotal: number | null;
  /** The URL being fetched, after redirects. */
  readonly url: string;
}

export interface NotificationMap {
  '$/progress': ProgressParams;
  '$/downloadProgress': DownloadProgressParams;
  '$/log': LogParams;
  '$/cancelRequest': CancelParams;
  exit: Record<string, never>;
}
export type NotificationMethod = keyof NotificationMap;

// ---------------------------------------------------------------------------------------
// Errors

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The job was cancelled (LSP's RequestCancelled). */
  Cancelled: -32800,
  /** The input could not be read or decoded. */
  DecodeFailed: -32001,
  /** Input, output or format size limit exceeded. */
  ImageTooLarge: -32002,
  ModelNotFound: -32003,
  ModelInvalid: -32004,
  OutOfMemory: -32005,
  OutputNotWritable: -32006,
  InputNotFound: -32007,
  ShuttingDown: -32008,
  /** A model download failed: unreachable, HTTP error, Google Drive refusing (quota, access), or a hash or size that does not match. */
  DownloadFailed: -32009,
  /** The requested execution provider cannot run here (not in this build, files or driver missing, device refused). */
  ProviderUnavailable: -32010,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** `data` of application errors: which file, so clients can point at it. */
export interface ErrorData {
  readonly file?: string;
  readonly name: keyof typeof ErrorCode;
}
