// The daemon's JSON-RPC endpoint: frames on stdin/stdout, the method table, and the
// mapping of every failure to an error response. No request can end the process; only
// `exit` (or the client closing stdin) does.
import type { Readable, Writable } from 'node:stream';
import { JSONRPCServer, createJSONRPCErrorResponse, type JSONRPCID } from 'json-rpc-2.0';
import { attachFraming } from './protocol/framing';
import { DaemonError } from './protocol/errors';
import { ErrorCode, type NotificationMap, type NotificationMethod } from './protocol/protocol';
import { parseCancel, parseImport, parseInitialize, parseModelId, parseNoParams, parseUpscale } from './protocol/params';
import { UpscaleService } from './service';
import { forwardLogs, log } from './log';

interface RequestContext {
  readonly requestId: JSONRPCID | undefined;
}

export interface DaemonEndpoint {
  readonly service: UpscaleService;
  /** Resolves when the client has asked to exit or closed the connection. */
  readonly closed: Promise<void>;
}

export function serveDaemon(input: Readable, output: Writable, dirs: { builtinDir?: string; userDir?: string } = {}): DaemonEndpoint {
  let send: (message: object) => void = () => undefined;
  const notify = <M extends NotificationMethod>(method: M, params: NotificationMap[M]) =>
    send({ jsonrpc: '2.0', method, params });

  const service = new UpscaleService({ ...dirs, notifyProgress: (p) => notify('$/progress', p) });
  const server = new JSONRPCServer<RequestContext>();
  server.mapErrorToJSONRPCErrorResponse = (id, error: unknown) => {
    if (error instanceof DaemonError) return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
    const message = error instanceof Error ? error.message : String(error);
    log('error', `internal error: ${error instanceof Error ? error.stack ?? message : message}`);
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

  send = attachFraming(input, output, {
    message: (text) => {
      server.receiveJSON(text).then(
        (response) => {
          if (response !== null && !(Array.isArray(response) && response.length === 0)) send(response);
        },
        (e: unknown) => log('error', `failed to answer a message: ${String(e)}`),
      );
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
