// The client side of the protocol, shared by the CLI, the extension and the tests: typed
// requests with their ids (so they can be cancelled), typed notifications, and error
// responses turned back into DaemonErrors.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { JSONRPCClient, type JSONRPCResponse } from 'json-rpc-2.0';
import { attachFraming } from './framing';
import { DaemonError, errorNameOf } from '../errors';
import { Notifications, type NotificationDescriptor, type RequestDescriptor } from '../methods';
import type { LogParams } from '../protocol';

export interface PendingRequest<T> {
  readonly id: number;
  readonly result: Promise<T>;
}

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
        this.emit(Notifications.log.method, {
          level: 'error',
          message: `malformed frame from the daemon: ${problem}`,
        } satisfies LogParams),
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
    if (typeof m.method === 'string') this.emit(m.method, m.params);
    else this.client.receive(message as JSONRPCResponse);
  }

  /** The daemon's notifications are trusted as typed: it is the side that wrote them. */
  private emit(method: string, params: unknown): void {
    for (const h of this.handlers.get(method) ?? []) h(params);
  }

  on<P>(notification: NotificationDescriptor<P>, handler: (params: P) => void): () => void {
    let set = this.handlers.get(notification.method);
    if (!set) this.handlers.set(notification.method, (set = new Set()));
    const h = handler as (params: unknown) => void;
    set.add(h);
    return () => set?.delete(h);
  }

  /** Sends a request and returns its id with the eventual result. */
  start<P, R>(request: RequestDescriptor<P, R>, params: NoInfer<P>): PendingRequest<R> {
    const id = this.nextId++;
    if (this.closedError) return { id, result: Promise.reject(this.closedError) };
    const message = { jsonrpc: '2.0' as const, id, method: request.method, params };
    const result = Promise.resolve(this.client.requestAdvanced(message)).then((response) => {
      if (response.error) {
        const name = errorNameOf(response.error.code) ?? 'InternalError';
        const data = response.error.data as { file?: string } | undefined;
        throw new DaemonError(name, response.error.message, data?.file);
      }
      return response.result as R;
    });
    return { id, result };
  }

  request<P, R>(request: RequestDescriptor<P, R>, params: NoInfer<P>): Promise<R> {
    return this.start(request, params).result;
  }

  notify<P>(notification: NotificationDescriptor<P>, params: NoInfer<P>): void {
    this.send({ jsonrpc: '2.0', method: notification.method, params });
  }

  cancel(id: number): void {
    this.notify(Notifications.cancelRequest, { id });
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
  const child = spawn(command, [...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    // On Windows a console program (node.exe) started by one without a console (the
    // editor) opens a console window of its own unless told not to.
    windowsHide: true,
  });
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
