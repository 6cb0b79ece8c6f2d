// Google Drive's download endpoint: a file id in, the response that carries the file's bytes
// out. Small files come straight back. For large ones Drive first answers with a web page
// (it cannot scan them for viruses) whose form is the real download; older pages instead set
// a `download_warning` cookie or link a `confirm=` token to add to the same URL. Pages that
// refuse (quota exceeded, sign-in or access needed, no such file) become DownloadErrors that
// say so and give the manual route. The page reading is pure and exported for the tests; the
// GETs are models/http.ts's, so proxies, redirects and Range work as for any other release.
import type * as http from 'node:http';
import { DownloadError, get, isWebPage, type HttpOptions, type Response } from './http';

export const DRIVE_BASE_URL = 'https://drive.usercontent.google.com';
/** Drive's pages are a few kB; more than this is not a page worth reading to the end. */
const MAX_PAGE_BYTES = 1 << 20;

/** The Drive file to fetch, and the words for a refusal. */
export interface DriveFile {
  readonly id: string;
  readonly fileName: string;
  /** What to do instead when Drive refuses (catalogue.ts's manualRoute). */
  readonly manualRoute: string;
}

/** `BASE/download?id=ID&export=download`: the first request for a file. Pure. */
export function driveDownloadUrl(id: string, base: string = DRIVE_BASE_URL): URL {
  const url = new URL('download', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('id', id);
  url.searchParams.set('export', 'download');
  return url;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * $UPSCALE_DRIVE_BASE_URL (a mirror: https; a test's local server: http on loopback), else
 * DRIVE_BASE_URL. Read when a Drive entry is downloaded, so a bad value fails only those.
 */
export function driveBaseFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.UPSCALE_DRIVE_BASE_URL?.trim();
  if (!value) return DRIVE_BASE_URL;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.href;
  throw new DownloadError(
    `UPSCALE_DRIVE_BASE_URL is '${value}': expected an https:// URL, or http:// on 127.0.0.1 or localhost`,
    'network',
  );
}

// ---------------------------------------------------------------------------------------
// Reading Drive's pages (pure)

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return named[ref.toLowerCase()] ?? whole;
  });
}

/** A tag's attributes (`<form id="x" action='y'>`), lowercase names, entities decoded. Pure. */
function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  const inside = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of inside.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const [, name = '', double, single, bare] = m;
    out.set(name.toLowerCase(), decodeEntities(double ?? single ?? bare ?? ''));
  }
  return out;
}

/** Whether a form may send the download to `target`: the page's own site, or Google's (https). Pure. */
function sameSite(target: URL, page: URL): boolean {
  if (target.origin === page.origin) return true;
  const google = (host: string) => /(?:^|\.)(?:google\.com|googleusercontent\.com)$/.test(host);
  return target.protocol === 'https:' && google(target.hostname) && google(page.hostname);
}

/**
 * The download a confirm page's form asks for: `<form id="download-form" action=… method="get">`
 * with its hidden inputs (id, export, confirm, uuid…) as the query. Null when the page has no
 * such form, or its form would post, or send the request to another site. Pure.
 */
export function confirmFormUrl(html: string, page: URL): URL | null {
  const forms = [...html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)].map((m) => ({
    tag: /^<form\b[^>]*>/i.exec(m[0])?.[0] ?? '',
    body: m[1] ?? '',
  }));
  const form =
    forms.find((f) => attributes(f.tag).get('id') === 'download-form') ??
    forms.find((f) => /\/(?:download|uc)\/?$/.test(attributes(f.tag).get('action')?.split('?')[0] ?? ''));
  if (!form) return null;
  const attrs = attributes(form.tag);
  if ((attrs.get('method') ?? 'get').toLowerCase() !== 'get') return null;
  let url: URL;
  try {
    url = new URL(attrs.get('action') || page.href, page);
  } catch {
    return null;
  }
  if (!sameSite(url, page)) return null;
  for (const [input] of form.body.matchAll(/<input\b[^>]*>/gi)) {
    const a = attributes(input);
    const name = a.get('name');
    if (a.get('type')?.toLowerCase() === 'hidden' && name) url.searchParams.set(name, a.get('value') ?? '');
  }
  return url;
}

/** Set-Cookie lines as one Cookie header to send back (`a=1; b=2`); undefined when none. Pure. */
export function cookieHeader(setCookie: readonly string[] | undefined): string | undefined {
  const pairs = (setCookie ?? [])
    .map((line) => line.split(';')[0]?.trim() ?? '')
    .filter((pair) => /^[^=\s]+=/.test(pair));
  return pairs.length > 0 ? pairs.join('; ') : undefined;
}

/** The token of Drive's older `download_warning_…=TOKEN` cookie, or null. Pure. */
export function confirmTokenFromCookies(setCookie: readonly string[] | undefined): string | null {
  for (const line of setCookie ?? []) {
    const token = /^\s*download_warning[^=]*=([^;\s]+)/.exec(line)?.[1];
    if (token !== undefined) return token;
  }
  return null;
}

/** The token of an older page's "download anyway" link (`…&amp;confirm=TOKEN&amp;id=…`), or null. Pure. */
export function confirmTokenFromHtml(html: string): string | null {
  return /[?&](?:amp;)?confirm=([0-9A-Za-z_-]+)/.exec(html)?.[1] ?? null;
}

const QUOTA =
  /too many users have (?:viewed or )?downloaded this file recently|download quota|quota (?:has been |is )?exceeded/i;
const MISSING = /the file you have requested does not exist|requested file (?:does not exist|was not found)/i;
const PERMISSION =
  /you need (?:access|permission)|request access|accounts\.google\.com\/(?:ServiceLogin|v3\/signin|signin)|<title>[^<]*sign[ -]?in/i;

/** What a page Drive answered with instead of the file means. */
export type DrivePage =
  { readonly kind: 'confirm'; readonly url: URL } | { readonly kind: 'quota' | 'permission' | 'missing' | 'unknown' };

/**
 * Reads a page Drive sent where a file was asked for: the confirm step (its form, or the
 * same URL with the cookie's or the link's token), a refusal, or something unknown. The
 * quota page is told first: it comes with 200 as well as 403 or 429. Pure.
 */
export function readDrivePage(status: number, html: string, page: URL, setCookie?: readonly string[]): DrivePage {
  if (status === 404 || MISSING.test(html)) return { kind: 'missing' };
  if (status === 429 || QUOTA.test(html)) return { kind: 'quota' };
  if (status === 200) {
    const form = confirmFormUrl(html, page);
    if (form) return { kind: 'confirm', url: form };
    const token = confirmTokenFromCookies(setCookie) ?? confirmTokenFromHtml(html);
    if (token) {
      const url = new URL(page);
      url.searchParams.set('confirm', token);
      return { kind: 'confirm', url };
    }
  }
  if (status === 401 || status === 403 || PERMISSION.test(html)) return { kind: 'permission' };
  return { kind: 'unknown' };
}

// ---------------------------------------------------------------------------------------
// The requests

/** Reads at most MAX_PAGE_BYTES of a page, then lets the rest go. */
async function readPage(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= MAX_PAGE_BYTES) {
      res.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What Drive's refusal means for the user, with the way round it. */
function refusal(file: DriveFile, kind: DrivePage['kind'], status: number, url: URL, page: boolean): DownloadError {
  switch (kind) {
    case 'quota':
      return new DownloadError(
        `Google Drive refuses to serve ${file.fileName} now: its download quota is exceeded. Try again later, or ${file.manualRoute}`,
        'quota',
        url.href,
      );
    case 'permission':
      return new DownloadError(
        `Google Drive refuses to serve ${file.fileName}: it asks to sign in or for access (HTTP ${status}), so the file is no longer shared publicly; ${file.manualRoute}`,
        'permission',
        url.href,
      );
    case 'missing':
      return new DownloadError(
        `${file.fileName} is not on Google Drive (file ${file.id}: HTTP ${status}, no such file; it may have been moved or removed); ${file.manualRoute}`,
        'http',
        url.href,
      );
    default:
      return new DownloadError(
        `Google Drive answered ${url.href} with HTTP ${status}${page ? ' and a web page' : ''} instead of ${file.fileName}; nothing was saved; ${file.manualRoute}`,
        'http',
        url.href,
      );
  }
}

/**
 * The response carrying `file`'s bytes (200, or 206 for a Range in `headers`; 416 and server
 * errors are left to the caller), after the confirm step when Drive asks for one. The confirm
 * request repeats `headers` and sends Drive's cookies back. What this returns is never a web
 * page: every page is read here, and a refusal is thrown as a DownloadError naming the file.
 */
export async function openDriveFile(
  file: DriveFile,
  start: URL,
  headers: Record<string, string>,
  options: HttpOptions,
): Promise<Response> {
  let url = start;
  let sent = headers;
  for (let step = 0; ; step++) {
    const response = await get(url, sent, options);
    const { res } = response;
    const status = res.statusCode ?? 0;
    const page = isWebPage(res.headers);
    if (!page && (status === 200 || status === 206 || status === 416 || status >= 500)) return response;
    if (!page && status === 404) {
      res.resume();
      throw refusal(file, 'missing', status, response.url, false);
    }
    const html = await readPage(res);
    const setCookie = res.headers['set-cookie'];
    const meaning = readDrivePage(status, html, response.url, setCookie);
    if (meaning.kind !== 'confirm') throw refusal(file, meaning.kind, status, response.url, page);
    if (step > 0) {
      throw new DownloadError(
        `Google Drive asked again to confirm the download of ${file.fileName} (${response.url.href}); nothing was saved; ${file.manualRoute}`,
        'http',
        response.url.href,
      );
    }
    const cookie = cookieHeader(setCookie);
    sent = cookie ? { ...headers, Cookie: cookie } : headers;
    url = meaning.url;
  }
}
