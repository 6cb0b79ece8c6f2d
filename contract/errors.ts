// Application errors carried over JSON-RPC. A DaemonError is thrown anywhere in the daemon
// with a named code and the file it concerns; the server turns it into an error response
// and the client turns the response back into a DaemonError, so both sides see the same.
import { JSONRPCErrorException } from 'json-rpc-2.0';
import { ErrorCode, type ErrorData } from './protocol';

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
