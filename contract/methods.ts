// The protocol's methods and notifications as descriptors: the name on the wire, the types
// of the parameters and the result, and the check the parameters get when they arrive. The
// server binds its handlers to these descriptors (daemon/server.ts) and the clients send
// through them (contract/rpc/connection.ts), so a method is named in one place and a
// renamed method or field fails to compile on both sides.
import {
  parseCancel,
  parseDownload,
  parseImport,
  parseInitialize,
  parseModelId,
  parseNoParams,
  type InitializeParams,
  type ModelsDownloadParams,
  type ModelsImportParams,
} from './params';
import { parseUpscale, type UpscaleParams } from './request';
import type {
  CancelParams,
  DownloadProgressParams,
  InitializeResult,
  LogParams,
  ModelIdParams,
  ModelsCatalogueResult,
  ModelsDownloadResult,
  ModelsImportResult,
  ModelsListResult,
  ModelsLoadResult,
  ModelsUnloadResult,
  NoParams,
  ProgressParams,
  ShutdownResult,
  UpscaleResult,
} from './protocol';

export interface RequestDescriptor<P, R> {
  readonly method: string;
  /** Checks what arrived: typed parameters, or an InvalidParams DaemonError naming the field. */
  readonly parse: (raw: unknown) => P;
  /** Never set: carries the result type to both sides. */
  readonly result?: R;
}

export interface NotificationDescriptor<P> {
  readonly method: string;
  /** Present for the notifications the daemon receives. */
  readonly parse?: (raw: unknown) => P;
  /** Never set: carries the parameter type to both sides. */
  readonly params?: P;
}

function request<P, R>(method: string, parse: (raw: unknown, method: string) => P): RequestDescriptor<P, R> {
  return { method, parse: (raw) => parse(raw, method) };
}

function notification<P>(method: string, parse?: (raw: unknown) => P): NotificationDescriptor<P> {
  return parse ? { method, parse } : { method };
}

const noParams = (raw: unknown, method: string): NoParams => parseNoParams(method, raw);
const modelId = (raw: unknown, method: string): ModelIdParams => parseModelId(method, raw);

/** Requests, from a client to the daemon. */
export const Requests = {
  initialize: request<InitializeParams, InitializeResult>('initialize', parseInitialize),
  modelsList: request<NoParams, ModelsListResult>('models/list', noParams),
  modelsLoad: request<ModelIdParams, ModelsLoadResult>('models/load', modelId),
  modelsUnload: request<ModelIdParams, ModelsUnloadResult>('models/unload', modelId),
  modelsImport: request<ModelsImportParams, ModelsImportResult>('models/import', parseImport),
  modelsDownload: request<ModelsDownloadParams, ModelsDownloadResult>('models/download', parseDownload),
  modelsCatalogue: request<NoParams, ModelsCatalogueResult>('models/catalogue', noParams),
  upscale: request<UpscaleParams, UpscaleResult>('upscale', parseUpscale),
  shutdown: request<NoParams, ShutdownResult>('shutdown', noParams),
} as const;

/** Notifications: progress and logs from the daemon; cancel and exit from a client. */
export const Notifications = {
  progress: notification<ProgressParams>('$/progress'),
  downloadProgress: notification<DownloadProgressParams>('$/downloadProgress'),
  log: notification<LogParams>('$/log'),
  cancelRequest: notification<CancelParams>('$/cancelRequest', parseCancel),
  // `exit` ends the daemon whatever else the message holds.
  exit: notification<NoParams>('exit', () => ({})),
} as const;
