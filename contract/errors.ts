// The errors of every layer, each with a code: the JSON-RPC codes and the named
// application codes. A layer below the protocol throws a DaemonError (or a subclass of its
// own, such as the downloader's) with the code that says what went wrong and the file it
// concerns; the server sends the code as it is (daemon/server.ts) and the client turns the
// response back into a DaemonError (contract/rpc/connection.ts), so both sides see the same
// and nothing is recognised by its message.

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
/** `data` of application errors: which file, so clients can point at it. */
export interface ErrorData {
  readonly file?: string;
  readonly name: keyof typeof ErrorCode;
}

export type ErrorName = keyof typeof ErrorCode;

export class DaemonError extends Error {
  /** The numeric code the response carries. */
  readonly code: number;
  readonly data: ErrorData;

  constructor(
    readonly errorName: ErrorName,
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DaemonError';
    this.code = ErrorCode[errorName];
    this.data = file === undefined ? { name: errorName } : { name: errorName, file };
  }
}

/** Why a file-system write failed, in words, for the errors that have an errno code. */
export const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EDQUOT: 'the disk quota is exceeded',
};

/** A job's check between its steps: throws its Cancelled error once its request's signal is aborted. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new DaemonError('Cancelled', 'the job was cancelled');
}

export function isCancelled(e: unknown): boolean {
  return e instanceof DaemonError && e.errorName === 'Cancelled';
}

/** The code name for a numeric code, for clients that receive plain error objects. */
export function errorNameOf(code: number): ErrorName | undefined {
  return (Object.keys(ErrorCode) as ErrorName[]).find((k) => ErrorCode[k] === code);
}
