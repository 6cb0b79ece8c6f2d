// The daemon's JSON-RPC endpoint: frames on stdin/stdout, the method table, and the
// mapping of every failure to an error response. No request can end the process; only
// `exit` (or the client closing stdin) does.
import type { Readable, Writable } from 'node:stream';
import { JSONRPCServer, createJSONRPCErrorResponse, type JSONRPCID, type JSONRPCRequest } from 'json-rpc-2.0';
import { attachFraming } from '../contract/rpc/framing';
import { DaemonError } from '../contract/errors';
import { type NotificationMap, type NotificationMethod } from '../contract/protocol';
import { ErrorCode } from '../contract/errors';
import {
  parseCancel,
  parseImport,
  parseInitialize,
  parseModelId,
  parseNoParams,
  parseUpscale,
} from '../contract/params';
import { parseDownload } from '../contract/download-params';
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
  const notify = <M extends NotificationMethod>(method: M, params: NotificationMap[M]) =>
    send({ jsonrpc: '2.0', method, params });

  const service = new UpscaleService({
    ...dirs,
    notifyProgress: (p) => notify('$/progress', p),
    notifyDownload: (p) => notify('$/downloadProgress', p),
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

  server.addMethod('initialize', (params) => service.initialize(parseInitialize(params)));
  server.addMethod('models/list', (params) => {
    parseNoParams('models/list', params);
    return service.listModels();
  });
  server.addMethod('models/load', (params) => service.loadModel(parseModelId('models/load', params)));
  server.addMethod('models/unload', (params) => service.unloadModel(parseModelId('models/unload', params)));
  server.addMethod('models/import', (params) => service.importModel(parseImport(params)));
  server.addMethod('models/download', (params, ctx) =>
    service.downloadModel(parseDownload(params), ctx.requestId ?? `notification-${Date.now()}`),
  );
  server.addMethod('upscale', (params, ctx) => {
    const parsed = parseUpscale(params);
    // A notification (no id) cannot be cancelled or answered; it still gets a job id.
    return service.upscale(parsed, ctx.requestId ?? `notification-${Date.now()}`);
  });
  server.addMethod('shutdown', async (params) => {
    parseNoParams('shutdown', params);
    await service.shutdown();
    return { ok: true };
  });
  server.addMethod('$/cancelRequest', (params) => {
    service.cancel(parseCancel(params).id);
    return null;
  });
  server.addMethod('exit', () => {
    exitRequested();
    return null;
  });

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
        send(refused.length === 1 ? (refused[0] as object) : refused);
        return;
      }
      Promise.resolve(server.receive(valid as JSONRPCRequest[]))
        .then(
          (responses) => {
            const all = [...refused, ...(responses === null ? [] : Array.isArray(responses) ? responses : [responses])];
            if (all.length > 0) send(all.length === 1 ? (all[0] as object) : all);
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
  forwardLogs((p) => notify('$/log', p));
  input.on('end', () => exitRequested());
  return { service, closed };
}
