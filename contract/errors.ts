// Application errors carried over JSON-RPC. A DaemonError is thrown anywhere in the daemon
// with a named code and the file it concerns; the server turns it into an error response
// and the client turns the response back into a DaemonError, so both sides see the same.
import { JSONRPCErrorException } from 'json-rpc-2.0';

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
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** `data` of application errors: which file, so clients can point at it. */
export interface ErrorData {
  readonly file?: string;
  readonly name: keyof typeof ErrorCode;
}

export type ErrorName = keyof typeof ErrorCode;

export class DaemonError extends JSONRPCErrorException {
  readonly errorName: ErrorName;
  readonly file: string | undefined;

  constructor(name: ErrorName, message: string, file?: string) {
    const data: ErrorData = file === undefined ? { name } : { name, file };
    super(message, ErrorCode[name], data);
    // json-rpc-2.0's base class resets the prototype to its own in its constructor,
    // which would make `instanceof DaemonError` false.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'DaemonError';
    this.errorName = name;
    this.file = file;
  }
}

export function isCancelled(e: unknown): boolean {
  return e instanceof DaemonError && e.errorName === 'Cancelled';
}

/** The code name for a numeric code, for clients that receive plain error objects. */
export function errorNameOf(code: number): ErrorName | undefined {
  return (Object.keys(ErrorCode) as ErrorName[]).find((k) => ErrorCode[k] === code);
}
