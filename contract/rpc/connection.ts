// The client side of the protocol, shared by the CLI, the extension and the tests: typed
// requests with their ids (so they can be cancelled), typed notifications, and error
// responses turned back into DaemonErrors.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { JSONRPCClient, type JSONRPCResponse } from 'json-rpc-2.0';
import { attachFraming } from './framing';
import { DaemonError, errorNameOf } from '../errors';
import type { NotificationMap, NotificationMethod, ParamsOf, RequestMethod, ResultOf } from '../protocol';

export interface PendingRequest<T> {
  readonly id: number;
  readonly result: Promise<T>;
}

type Handler<M extends NotificationMethod> = (params: NotificationMap[M]) => void;

export class DaemonConnection {
  private readonly client: JSONRPCClient;
  private readonly send: (message: object) => void;
  private readonly handlers = new Map<string, Set<(params: unknown) => void>>();
  private nextId = 1;
  private closedError: Error | null = null;

  constructor(input: Readable, output: Writable) {
    this.client = new JSONRPCClient((request: object) => {
      this.send(request);
    });
    this.send = attachFraming(input, output, {
      message: (text) => this.receive(text),
      malformed: (problem) =>
        this.emit('$/log', { level: 'error', message: `malformed frame from the daemon: ${problem}` }),
    });
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const m = message as { method?: unknown; params?: unknown; id?: unknown };
    if (typeof m.method === 'string') this.emit(m.method as NotificationMethod, m.params as never);
    else this.client.receive(message as JSONRPCResponse);
  }

  private emit<M extends NotificationMethod>(method: M, params: NotificationMap[M]): void {
    for (const h of this.handlers.get(method) ?? []) h(params);
  }

  on<M extends NotificationMethod>(method: M, handler: Handler<M>): () => void {
    let set = this.handlers.get(method);
    if (!set) this.handlers.set(method, (set = new Set()));
    const h = handler as (params: unknown) => void;
    set.add(h);
    return () => set?.delete(h);
  }

  /** Sends a request and returns its id with the eventual result. */
  start<M extends RequestMethod>(method: M, params: ParamsOf<M>): PendingRequest<ResultOf<M>> {
    const id = this.nextId++;
    if (this.closedError) return { id, result: Promise.reject(this.closedError) };
    const result = Promise.resolve(this.client.requestAdvanced({ jsonrpc: '2.0', id, method, params })).then(
      (response) => {
        if (response.error) {
          const name = errorNameOf(response.error.code) ?? 'InternalError';
          const data = response.error.data as { file?: string } | undefined;
          throw new DaemonError(name, response.error.message, data?.file);
        }
        return response.result as ResultOf<M>;
      },
    );
    return { id, result };
  }

  request<M extends RequestMethod>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.start(method, params).result;
  }

  notify<M extends NotificationMethod>(method: M, params: NotificationMap[M]): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  cancel(id: number): void {
    this.notify('$/cancelRequest', { id });
  }

  /** Fails every pending and later request with `error` (the daemon went away). */
  close(error: Error): void {
    this.closedError = error;
    this.client.rejectAllPendingRequests(error.message);
  }
}

export interface SpawnedDaemon {
  readonly connection: DaemonConnection;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `command args` as a daemon and connects to it over its stdio. */
export function spawnDaemon(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string) => void } = {},
): SpawnedDaemon {
  const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  const connection = new DaemonConnection(child.stdout, child.stdin);
  child.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk.toString('utf8')));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      connection.close(new DaemonError('InternalError', `the daemon exited (${signal ?? `code ${code}`})`));
      resolve({ code, signal });
    });
    child.on('error', (e) => {
      connection.close(new DaemonError('InternalError', `the daemon could not start: ${e.message}`));
      resolve({ code: null, signal: null });
    });
  });
  return { connection, process: child, exited };
}
