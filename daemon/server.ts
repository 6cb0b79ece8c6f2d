// The daemon's JSON-RPC endpoint: frames on stdin/stdout, the method table, and the
// mapping of every failure to an error response. No request can end the process; only
// `exit` (or the client closing stdin) does.
import type { Readable, Writable } from 'node:stream';
import { JSONRPCServer, createJSONRPCErrorResponse, type JSONRPCID, type JSONRPCRequest } from 'json-rpc-2.0';
import { attachFraming } from '../contract/rpc/framing';
import { DaemonError, ErrorCode } from '../contract/errors';
import { Notifications, Requests, type NotificationDescriptor, type RequestDescriptor } from '../contract/methods';
import { UpscaleService } from './service';
import { forwardLogs, log } from './log';

/** Largest batch answered; our clients never batch, so this only bounds hostile input. */
const MAX_BATCH = 100;
const MAX_ID_LENGTH = 256;

/**
 * What is wrong with a message's JSON-RPC 2.0 envelope, or null. Checked before the
 * library sees it: a non-object entry in a batch would make it throw (no answer at all),
 * and an id that is an object or array would be echoed back, however deep or large.
 */
export function envelopeProblem(message: unknown): string | null {
  if (typeof message !== 'object' || message === null || Array.isArray(message))
    return 'a message must be a JSON object';
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return '\'jsonrpc\' must be "2.0"';
  if (typeof m.method !== 'string') return "'method' must be a string";
  if ('id' in m && !validId(m.id))
    return `'id' must be a string of at most ${MAX_ID_LENGTH} characters, an integer or null`;
  if ('result' in m || 'error' in m) return 'a request carries no result or error';
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null))
    return "'params' must be an object or an array";
  return null;
}

function validId(id: unknown): boolean {
  return (
    id === null ||
    (typeof id === 'string' && id.length <= MAX_ID_LENGTH) ||
    (typeof id === 'number' && Number.isSafeInteger(id))
  );
}

function invalidRequest(message: unknown, problem: string): object {
  const id =
    typeof message === 'object' && message !== null && !Array.isArray(message)
      ? (message as { id?: unknown }).id
      : null;
  return createJSONRPCErrorResponse(
    validId(id) ? (id as JSONRPCID) : null,
    ErrorCode.InvalidRequest,
    `invalid request: ${problem}`,
  );
}

/** A batch's answers: one alone is sent as itself, as JSON-RPC 2.0 answers a batch of one. */
function oneOrBatch(answers: readonly object[]): object {
  const [first] = answers;
  return answers.length === 1 && first !== undefined ? first : answers;
}

interface RequestContext {
  readonly requestId: JSONRPCID | undefined;
}

export interface DaemonEndpoint {
  readonly service: UpscaleService;
  /** Resolves when the client has asked to exit or closed the connection. */
  readonly closed: Promise<void>;
}

export function serveDaemon(
  input: Readable,
  output: Writable,
  dirs: { builtinDir?: string; userDir?: string } = {},
): DaemonEndpoint {
  let send: (message: object) => void = () => undefined;
  const notify = <P>(notification: NotificationDescriptor<P>, params: P) =>
    send({ jsonrpc: '2.0', method: notification.method, params });

  const service = new UpscaleService({
    ...dirs,
    notifyProgress: (p) => notify(Notifications.progress, p),
    notifyDownload: (p) => notify(Notifications.downloadProgress, p),
  });
  const server = new JSONRPCServer<RequestContext>();
  server.mapErrorToJSONRPCErrorResponse = (id, error: unknown) => {
    if (error instanceof DaemonError) return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
    const message = error instanceof Error ? error.message : String(error);
    log('error', `internal error: ${error instanceof Error ? (error.stack ?? message) : message}`);
    return createJSONRPCErrorResponse(id, ErrorCode.InternalError, `internal error: ${message}`);
  };
  server.applyMiddleware((next, request, _ctx) => next(request, { requestId: request.id }));

  let exitRequested!: () => void;
  const closed = new Promise<void>((resolve) => (exitRequested = resolve));

  /** Binds a request's handler to its descriptor: the parameters arrive checked and typed. */
  const handle = <P, R>(
    request: RequestDescriptor<P, R>,
    handler: (params: P, ctx: RequestContext) => R | Promise<R>,
  ): void => server.addMethod(request.method, (raw, ctx) => handler(request.parse(raw), ctx));
  /** A notification the daemon receives; answered with null should a client send it with an id. */
  const receive = <P>(notification: NotificationDescriptor<P>, handler: (params: P) => void): void => {
    const parse = notification.parse;
    if (!parse) throw new Error(`${notification.method} is not sent to the daemon`);
    server.addMethod(notification.method, (raw) => {
      handler(parse(raw));
      return null;
    });
  };
  // A notification (no id) cannot be cancelled or answered; it still gets a job id.
  const idOf = (ctx: RequestContext) => ctx.requestId ?? `notification-${Date.now()}`;

  handle(Requests.initialize, (params) => service.initialize(params));
  handle(Requests.modelsList, () => service.listModels());
  handle(Requests.modelsLoad, (params) => service.loadModel(params));
  handle(Requests.modelsUnload, (params) => service.unloadModel(params));
  handle(Requests.modelsImport, (params) => service.importModel(params));
  handle(Requests.modelsDownload, (params, ctx) => service.downloadModel(params, idOf(ctx)));
  handle(Requests.modelsCatalogue, () => service.catalogue());
  handle(Requests.upscale, (params, ctx) => service.upscale(params, idOf(ctx)));
  handle(Requests.shutdown, async () => {
    await service.shutdown();
    return { ok: true as const };
  });
  receive(Notifications.cancelRequest, (params) => void service.cancel(params.id));
  receive(Notifications.exit, () => exitRequested());

  const answer = (message: unknown): void => {
    Promise.resolve(server.receive(message as JSONRPCRequest))
      .then(
        (response) => {
          if (response !== null && !(Array.isArray(response) && response.length === 0)) send(response);
        },
        (e: unknown) => log('error', `failed to answer a message: ${String(e)}`),
      )
      .catch((e: unknown) => log('error', `failed to send an answer: ${String(e)}`));
  };

  send = attachFraming(input, output, {
    message: (text) => {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch (e) {
        const why = e instanceof RangeError ? 'it is nested too deeply' : 'it is not valid JSON';
        send(createJSONRPCErrorResponse(null, ErrorCode.ParseError, `cannot read the message: ${why}`));
        return;
      }
      if (!Array.isArray(message)) {
        const problem = envelopeProblem(message);
        if (problem) send(invalidRequest(message, problem));
        else answer(message);
        return;
      }
      // A batch: the envelope of each entry is checked here; the valid ones are answered
      // together, in one array, as JSON-RPC 2.0 asks.
      if (message.length === 0 || message.length > MAX_BATCH) {
        send(
          createJSONRPCErrorResponse(
            null,
            ErrorCode.InvalidRequest,
            message.length === 0
              ? 'an empty batch is not a request'
              : `a batch of ${message.length} messages; at most ${MAX_BATCH} are accepted`,
          ),
        );
        return;
      }
      const refused = message.flatMap((m) => {
        const problem = envelopeProblem(m);
        return problem ? [invalidRequest(m, problem)] : [];
      });
      const valid = message.filter((m) => envelopeProblem(m) === null);
      if (valid.length === 0) {
        send(oneOrBatch(refused));
        return;
      }
      Promise.resolve(server.receive(valid as JSONRPCRequest[]))
        .then(
          (responses) => {
            const all = [...refused, ...(responses === null ? [] : Array.isArray(responses) ? responses : [responses])];
            if (all.length > 0) send(oneOrBatch(all));
          },
          (e: unknown) => log('error', `failed to answer a batch: ${String(e)}`),
        )
        .catch((e: unknown) => log('error', `failed to send an answer: ${String(e)}`));
    },
    malformed: (problem) => {
      log('warn', `malformed frame: ${problem}`);
      send(createJSONRPCErrorResponse(null, ErrorCode.ParseError, `malformed frame: ${problem}`));
    },
  });
  forwardLogs((p) => notify(Notifications.log, p));
  input.on('end', () => exitRequested());
  return { service, closed };
}
