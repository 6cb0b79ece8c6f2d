// HTTP GETs for the downloaders (models/download.ts, models/drive.ts): node's http/https
// only (no dependency), redirects (at most 5, never from https down to http), proxies from
// the environment or the editor (CONNECT tunnelling for https), an idle timeout, and the
// DownloadError every downloader failure is reported with.
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { DaemonError, type ErrorName } from '../contract/errors';

export const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 30_000;
const USER_AGENT = 'upscale-model-downloader/0.1 (+https://github.com)';

export type DownloadErrorKind =
  | 'cancelled'
  | 'http'
  | 'network'
  | 'hash'
  | 'unverified'
  | 'manual'
  | 'busy'
  | 'convert'
  | 'size'
  | 'quota'
  | 'permission';

/** The protocol's code for each kind of failure: a refusal the request can change is InvalidParams, the rest a failed download. */
const CODE_OF_KIND: Readonly<Record<DownloadErrorKind, ErrorName>> = {
  cancelled: 'Cancelled',
  unverified: 'InvalidParams',
  manual: 'InvalidParams',
  convert: 'ModelInvalid',
  http: 'DownloadFailed',
  network: 'DownloadFailed',
  hash: 'DownloadFailed',
  busy: 'DownloadFailed',
  size: 'DownloadFailed',
  quota: 'DownloadFailed',
  permission: 'DownloadFailed',
};

/** A download failed for a reason the user can act on: the message says what and which URL. */
export class DownloadError extends DaemonError {
  /** `code` overrides the kind's: a conversion that failed for want of disk is no invalid model. */
  constructor(
    message: string,
    readonly kind: DownloadErrorKind,
    readonly url?: string,
    code: ErrorName = CODE_OF_KIND[kind],
  ) {
    super(code, message);
    this.name = 'DownloadError';
  }
}

/** How a GET goes out: through which proxy, for how long, until when. */
export interface HttpOptions {
  /** A proxy URL (VS Code's http.proxy); overrides the environment's. */
  readonly proxy?: string;
  /** Environment for HTTPS_PROXY / HTTP_PROXY / NO_PROXY; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Idle socket timeout (ms); default 30 s. */
  readonly idleTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------
// Proxies (pure)

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether NO_PROXY (comma- or space-separated; `*`, hosts, `.suffix`, `host:port`) exempts the URL. Pure. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (LOOPBACK.has(host)) return true;
  if (!noProxy) return false;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    const item = raw.trim().toLowerCase();
    if (item === '') continue;
    if (item === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(item);
    const name = (m?.[1] ?? item).replace(/^\*?\./, '');
    const itemPort = m?.[2];
    if (itemPort && itemPort !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * The proxy for a URL: the explicit one (the editor's http.proxy) when given, else
 * HTTPS_PROXY for https and HTTP_PROXY for http (either case); none when NO_PROXY exempts
 * the host or the host is loopback. Pure.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv, explicit?: string): URL | null {
  if (bypassesProxy(target, envValue(env, 'NO_PROXY'))) return null;
  const chosen =
    explicit?.trim() || (target.protocol === 'https:' ? envValue(env, 'HTTPS_PROXY') : envValue(env, 'HTTP_PROXY'));
  if (!chosen) return null;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(chosen) ? chosen : `http://${chosen}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`unsupported proxy protocol ${url.protocol}`);
    return url;
  } catch (e) {
    throw new DownloadError(`the proxy setting '${chosen}' is not a usable URL: ${(e as Error).message}`, 'network');
  }
}

function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

/** Opens a CONNECT tunnel to host:port through an http(s) proxy; resolves with the socket. */
export function connectTunnel(proxy: URL, host: string, port: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const auth = proxyAuthorization(proxy);
    const request = (proxy.protocol === 'https:' ? https : http).request({
      host: proxy.hostname,
      port: Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: `${host.includes(':') ? `[${host}]` : host}:${port}`,
      headers: { Host: `${host}:${port}`, 'User-Agent': USER_AGENT, ...(auth && { 'Proxy-Authorization': auth }) },
      agent: false,
      signal,
    });
    request.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(
          new DownloadError(
            `the proxy ${proxy.host} refused to connect to ${host}:${port}: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
            'network',
          ),
        );
      }
    });
    request.once('error', (e) =>
      reject(new DownloadError(`could not reach the proxy ${proxy.host}: ${e.message}`, 'network')),
    );
    request.end();
  });
}

// ---------------------------------------------------------------------------------------
// One HTTP GET (with redirects)

export interface Response {
  readonly res: http.IncomingMessage;
  readonly url: URL;
}

function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

async function getOnce(url: URL, headers: Record<string, string>, options: HttpOptions): Promise<http.IncomingMessage> {
  const env = options.env ?? process.env;
  const proxy = proxyFor(url, env, options.proxy);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const common = {
    method: 'GET',
    headers: { 'User-Agent': USER_AGENT, Accept: '*/*', ...headers },
    signal: options.signal,
  };
  let request: http.ClientRequest;
  if (!proxy) {
    request = (url.protocol === 'https:' ? https : http).request(url, common);
  } else if (url.protocol === 'https:') {
    const socket = await connectTunnel(proxy, url.hostname, port, options.signal);
    request = https.request(url, {
      ...common,
      agent: false,
      createConnection: () => tls.connect({ socket, servername: url.hostname }),
    });
  } else {
    // Plain http through a proxy: the absolute URL as the request target.
    const auth = proxyAuthorization(proxy);
    request = http.request({
      ...common,
      host: proxy.hostname,
      port: Number(proxy.port) || 80,
      path: url.href,
      headers: { ...common.headers, Host: url.host, ...(auth && { 'Proxy-Authorization': auth }) },
    });
  }
  return new Promise((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
    request.setTimeout(options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () =>
      request.destroy(
        new Error(`no answer from ${url.host} in ${(options.idleTimeoutMs ?? IDLE_TIMEOUT_MS) / 1000} s`),
      ),
    );
    request.end();
  });
}

/** GET with redirects followed (at most MAX_REDIRECTS; never from https down to http). */
export async function get(start: URL, headers: Record<string, string>, options: HttpOptions): Promise<Response> {
  let url = start;
  let sent = headers;
  for (let hop = 0; ; hop++) {
    const res = await getOnce(url, sent, options);
    if (!isRedirect(res.statusCode)) return { res, url };
    res.resume();
    const location = res.headers.location;
    if (!location)
      throw new DownloadError(`${url.href} answered HTTP ${res.statusCode} without a Location`, 'http', url.href);
    if (hop >= MAX_REDIRECTS)
      throw new DownloadError(
        `${start.href}: more than ${MAX_REDIRECTS} redirects (last to ${location})`,
        'http',
        start.href,
      );
    const next = new URL(location, url);
    if (url.protocol === 'https:' && next.protocol !== 'https:') {
      throw new DownloadError(`${url.href} redirects to ${next.href}, which is not https; refused`, 'http', url.href);
    }
    // A cookie is for the site that set it (Drive's confirm step): not sent on to another origin.
    if (next.origin !== url.origin && 'Cookie' in sent)
      sent = Object.fromEntries(Object.entries(sent).filter(([name]) => name !== 'Cookie'));
    url = next;
  }
}

/** Whether a response is a web page (text/html or XHTML) by its Content-Type. Pure. */
export function isWebPage(headers: http.IncomingHttpHeaders): boolean {
  return /^\s*(?:text\/html|application\/xhtml\+xml)\b/i.test(headers['content-type'] ?? '');
}

/**
 * Whether the first bytes of a body are an HTML document, whatever its Content-Type said.
 * No model format starts so (.pth is a zip or a pickle, safetensors a length, ONNX protobuf),
 * so a page served as a file is caught before it is saved as one. Pure.
 */
export function looksLikeHtml(first: Uint8Array): boolean {
  const text = Buffer.from(first.subarray(0, 256))
    .toString('latin1')
    .replace(/^(?:\xef\xbb\xbf)?\s*/, '')
    .toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html');
}
