// Downloading a catalogued model release: progress, cancellation, resume (HTTP Range on a
// `.part` file in the models folder's download area), a SHA-256 check, and conversion
// through importModel so the registry records the catalogue's license and credit. The GETs
// (redirects, proxies) are models/http.ts's; Google Drive's confirm step is models/drive.ts's.
// A refused or cancelled download leaves no files; a cut connection is retried from where
// it stopped, and a `.part` left by a failed attempt is resumed by the next one.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { findEntry, manualRoute, type Catalogue, type CatalogueEntry } from '../contract/catalogue';
import type { DownloadProgress } from '../contract/protocol';
import { DaemonError } from '../contract/errors';
import { renameIntoPlace } from '../platform/rename';
import { catalogueFromEnv } from './catalogue';
import { driveBaseFromEnv, driveDownloadUrl, openDriveFile } from './drive';
import { DownloadError, get, isWebPage, looksLikeHtml, type HttpOptions, type Response } from './http';
import { importModel, writeFilesAtomically } from './import';
import { CONVERTER_VERSION, metadataPath, onnxPath, type ModelRecord, type RegisteredModel } from './registry';

/** Folder (inside the models folder) for `.part` files; a dot name, so the registry skips it. */
export const DOWNLOAD_AREA = '.downloads';
/** Folder (inside the models folder) where kept source files go. */
export const SOURCES_FOLDER = 'sources';
/** Attempts per download when the connection is cut (each resumes with Range). */
const MAX_ATTEMPTS = 4;
const PROGRESS_INTERVAL_MS = 100;

type DownloadPhase = DownloadProgress['phase'];

export interface DownloadOptions extends HttpOptions {
  /** The models folder the converted model is registered in. */
  readonly modelsDir: string;
  /** Default: the shipped catalogue (or $UPSCALE_CATALOGUE, see catalogueFromEnv). */
  readonly catalogue?: Catalogue;
  /** Fetch from this origin (and path prefix) instead of the entry's host: tests, mirrors. */
  readonly baseUrl?: string;
  /** Google Drive's download origin for `drive` entries; default $UPSCALE_DRIVE_BASE_URL in `env`, else DRIVE_BASE_URL. Tests point it at a local server. */
  readonly driveBaseUrl?: string;
  /** Download an entry without a published hash (`verified: false`). */
  readonly allowUnverified?: boolean;
  /** Keep the downloaded .pth/.safetensors in `<modelsDir>/sources/` (default: removed). */
  readonly keepSource?: boolean;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Delay before retrying a cut connection (ms); default 500. */
  readonly retryDelayMs?: number;
}

export interface DownloadResult {
  readonly entry: CatalogueEntry;
  readonly model: RegisteredModel;
  /** SHA-256 of the downloaded file. */
  readonly sha256: string;
  /** Whether the hash was checked against a published one. */
  readonly verified: boolean;
  readonly bytes: number;
  /** Bytes that were already on disk from an earlier, interrupted attempt or connection. */
  readonly resumedBytes: number;
  /** Where the source file was kept, with keepSource. */
  readonly sourcePath?: string;
  /** True when the models folder already held this exact release: nothing was fetched. */
  readonly alreadyInstalled?: boolean;
}

// ---------------------------------------------------------------------------------------
// The .part file and its sidecar (what it was downloaded from, for If-Range)

interface PartInfo {
  readonly url: string;
  readonly sha256: string | null;
  readonly etag?: string;
  readonly lastModified?: string;
}

function partPaths(
  modelsDir: string,
  entry: CatalogueEntry,
): { readonly dir: string; readonly part: string; readonly info: string } {
  const dir = path.join(modelsDir, DOWNLOAD_AREA);
  const part = path.join(dir, `${entry.id}-${entry.fileName}.part`);
  return { dir, part, info: `${part}.json` };
}

async function readPartInfo(file: string): Promise<PartInfo | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as PartInfo;
  } catch {
    return null;
  }
}

async function sizeOf(file: string): Promise<number> {
  return (await fsp.stat(file).catch(() => null))?.size ?? 0;
}

async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function removeQuietly(...files: string[]): Promise<void> {
  await Promise.all(files.map((f) => fsp.rm(f, { force: true }).catch(() => undefined)));
}

async function removeDirIfEmpty(dir: string): Promise<void> {
  await fsp.rmdir(dir).catch(() => undefined);
}

/** The URL to fetch: the entry's, or its path under baseUrl. Pure. */
export function sourceUrl(entry: { readonly url: string }, baseUrl?: string): URL {
  const official = new URL(entry.url);
  if (baseUrl === undefined) return official;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return new URL(official.pathname.replace(/^\//, '') + official.search, base);
}

function cancelled(entry: CatalogueEntry): DownloadError {
  return new DownloadError(`the download of ${entry.id} was cancelled`, 'cancelled');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** Parses `Content-Range: bytes START-END/TOTAL`. Pure. */
export function parseContentRange(
  value: string | undefined,
): { readonly start: number; readonly end: number; readonly total: number | null } | null {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Where an entry's bytes come from: the URL that names the download (a `.part` records it) and how to ask for them. */
interface ByteSource {
  readonly url: URL;
  readonly open: (headers: Record<string, string>) => Promise<Response>;
}

/** The entry's official URL (under baseUrl), or its Google Drive file (under driveBaseUrl). */
function byteSource(entry: CatalogueEntry, options: DownloadOptions): ByteSource {
  if (entry.drive) {
    // Read only for Drive entries: a bad $UPSCALE_DRIVE_BASE_URL must not stop other downloads.
    const url = driveDownloadUrl(entry.drive.id, options.driveBaseUrl ?? driveBaseFromEnv(options.env ?? process.env));
    const file = { id: entry.drive.id, fileName: entry.fileName, manualRoute: manualRoute(entry) };
    return { url, open: (headers) => openDriveFile(file, url, headers, options) };
  }
  if (entry.url === null)
    throw new DownloadError(
      `${entry.id} can only be fetched by hand: the catalogue has no URL or Google Drive file for it; ${manualRoute(entry)}`,
      'manual',
      entry.manualUrl,
    );
  const url = sourceUrl({ url: entry.url }, options.baseUrl);
  return { url, open: (headers) => get(url, headers, options) };
}

/** A web page where the file's bytes were expected (a portal, a sign-in): refused before anything is kept. */
function webPageInstead(entry: CatalogueEntry, url: URL): DownloadError {
  return new DownloadError(
    `${url.href} answered with a web page instead of ${entry.fileName}; nothing was saved; ${manualRoute(entry)}`,
    'http',
    url.href,
  );
}

interface FetchState {
  resumedBytes: number;
  finalUrl: string;
}

/**
 * Fetches the entry's file from `source` into `part`, resuming what is there. Resolves once
 * the whole body is on disk; network failures mid-body are retried with Range.
 */
async function fetchToPart(
  entry: CatalogueEntry,
  source: ByteSource,
  paths: ReturnType<typeof partPaths>,
  options: DownloadOptions,
): Promise<FetchState> {
  const start = source.url;
  const state: FetchState = { resumedBytes: 0, finalUrl: start.href };
  const report = (phase: DownloadPhase, bytesDone: number, bytesTotal: number | null) =>
    options.onProgress?.({ id: entry.id, phase, bytesDone, bytesTotal, url: state.finalUrl });

  // A .part from another source (an older catalogue, another file) is not resumed.
  const info = await readPartInfo(paths.info);
  if (info && (info.url !== start.href || info.sha256 !== entry.sha256)) await removeQuietly(paths.part, paths.info);
  if (!info) await removeQuietly(paths.part);

  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (options.signal?.aborted) throw cancelled(entry);
    const have = await sizeOf(paths.part);
    const known = have > 0 ? await readPartInfo(paths.info) : null;
    const headers: Record<string, string> = {};
    if (have > 0) {
      headers.Range = `bytes=${have}-`;
      const validator = known?.etag ?? known?.lastModified;
      if (validator) headers['If-Range'] = validator;
    }
    report('connecting', have, entry.sizeBytes);
    let response: Response;
    try {
      response = await source.open(headers);
    } catch (e) {
      if (options.signal?.aborted) throw cancelled(entry);
      if (e instanceof DownloadError) throw e;
      lastError = new DownloadError(`could not download ${start.href}: ${(e as Error).message}`, 'network', start.href);
      await sleep(options.retryDelayMs ?? 500, options.signal);
      continue;
    }
    const { res, url } = response;
    state.finalUrl = url.href;
    const status = res.statusCode ?? 0;

    if (status === 416 && have > 0) {
      // Nothing after what we have: either it is complete (the hash decides) or the file changed.
      res.resume();
      const range = parseContentRange(res.headers['content-range']);
      if (range?.total === have || (range === null && entry.sizeBytes === have)) {
        state.resumedBytes = have;
        report('downloading', have, have);
        return state;
      }
      await removeQuietly(paths.part, paths.info);
      continue;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      const why =
        status === 404 ? 'the file is not there (HTTP 404)' : `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
      throw new DownloadError(
        `could not download ${entry.id} from ${url.href}: ${why}; ${manualRoute(entry)}`,
        'http',
        url.href,
      );
    }
    if (isWebPage(res.headers)) {
      res.resume();
      throw webPageInstead(entry, url);
    }

    let offset = 0;
    if (status === 206) {
      const range = parseContentRange(res.headers['content-range']);
      if (!range || range.start !== have) {
        // A range we did not ask for: start again from the beginning.
        res.resume();
        await removeQuietly(paths.part, paths.info);
        continue;
      }
      offset = have;
      state.resumedBytes = Math.max(state.resumedBytes, have);
    }
    const lengthHeader = Number(res.headers['content-length']);
    const total =
      status === 206
        ? (parseContentRange(res.headers['content-range'])?.total ??
          (Number.isFinite(lengthHeader) ? offset + lengthHeader : entry.sizeBytes))
        : Number.isFinite(lengthHeader) && res.headers['content-length'] !== undefined
          ? lengthHeader
          : entry.sizeBytes;
    if (entry.sizeBytes !== null && total !== null && total !== entry.sizeBytes) {
      res.resume();
      await removeQuietly(paths.part, paths.info);
      throw new DownloadError(
        `${url.href} is ${total} bytes but the catalogue says ${entry.sizeBytes}; refused (the release may have changed)`,
        'size',
        url.href,
      );
    }

    const etag =
      typeof res.headers.etag === 'string' && !res.headers.etag.startsWith('W/') ? res.headers.etag : undefined;
    const lastModified = res.headers['last-modified'];
    await fsp.writeFile(
      paths.info,
      JSON.stringify({
        url: start.href,
        sha256: entry.sha256,
        ...(etag && { etag }),
        ...(lastModified && { lastModified }),
      } satisfies PartInfo),
    );

    // 200: the whole file, whatever we had; 206: appended at `offset`.
    const out = fs.createWriteStream(paths.part, { flags: status === 206 ? 'a' : 'w' });
    let done = offset;
    let lastReport = 0;
    report('downloading', done, total);
    try {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        // A cut connection keeps what was written (it is resumed); a refusal does not matter.
        const fail = (e: Error) => {
          if (settled) return;
          settled = true;
          res.destroy();
          out.end(() => reject(e));
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          if (done === 0 && looksLikeHtml(chunk)) {
            fail(webPageInstead(entry, url));
            return;
          }
          done += chunk.length;
          if (total !== null && done > total) {
            fail(
              new DownloadError(
                `${url.href} sent more than the ${total} bytes it announced; refused`,
                'size',
                url.href,
              ),
            );
            return;
          }
          if (!out.write(chunk)) {
            res.pause();
            out.once('drain', () => res.resume());
          }
          const now = Date.now();
          if (now - lastReport >= PROGRESS_INTERVAL_MS) {
            lastReport = now;
            report('downloading', done, total);
          }
        });
        res.once('aborted', () => fail(new Error('the connection was cut')));
        res.once('error', fail);
        res.once('close', () => {
          if (!res.complete) fail(new Error(`the connection was cut after ${done} bytes`));
        });
        res.once('end', () => {
          if (total !== null && done < total) {
            fail(new Error(`the connection ended after ${done} of ${total} bytes`));
            return;
          }
          if (settled) return;
          settled = true;
          out.end((e?: Error | null) => (e ? reject(e) : resolve()));
        });
        out.once('error', (e) => {
          if (settled) return;
          settled = true;
          res.destroy();
          reject(e);
        });
      });
      report('downloading', done, total);
      return state;
    } catch (e) {
      if (!out.closed) await new Promise<void>((r) => out.once('close', () => r()));
      if (options.signal?.aborted) throw cancelled(entry);
      if (e instanceof DownloadError) throw e;
      lastError = new DownloadError(
        `the download of ${url.href} failed after ${done} bytes: ${(e as Error).message}`,
        'network',
        url.href,
      );
      await sleep(options.retryDelayMs ?? 500, options.signal);
    }
  }
  throw new DownloadError(
    `${lastError?.message ?? 'the download failed'}; gave up after ${MAX_ATTEMPTS} attempts (run it again to resume, or ${manualRoute(entry)})`,
    'network',
    start.href,
  );
}

// ---------------------------------------------------------------------------------------
// The whole download

const inFlight = new Set<string>();

/** Records the catalogue's credit (authors and release file) in the model's metadata. */
async function recordCredit(
  modelsDir: string,
  model: RegisteredModel,
  entry: CatalogueEntry,
): Promise<RegisteredModel> {
  const credit = `${entry.credit} (${entry.fileName}, ${entry.paper.url})`;
  if (model.credit === credit) return model;
  const file = metadataPath(modelsDir, model.id);
  const record = JSON.parse(await fsp.readFile(file, 'utf8')) as ModelRecord;
  await writeFilesAtomically([{ path: file, data: JSON.stringify({ ...record, credit }, null, 2) + '\n' }]);
  return { ...model, credit };
}

/** The entry's model when the folder already holds a conversion of this very file (same SHA-256). */
async function alreadyInstalled(modelsDir: string, entry: CatalogueEntry): Promise<DownloadResult | null> {
  if (entry.sha256 === null) return null;
  let record: ModelRecord;
  try {
    record = JSON.parse(await fsp.readFile(metadataPath(modelsDir, entry.id), 'utf8')) as ModelRecord;
  } catch {
    return null;
  }
  if (record.sourceSha256 !== entry.sha256 || record.converterVersion !== CONVERTER_VERSION) return null;
  const onnx = onnxPath(modelsDir, entry.id);
  const stat = await fsp.stat(onnx).catch(() => null);
  if (!stat) return null;
  const model: RegisteredModel = { ...record, source: 'user', onnxPath: onnx, sizeBytes: stat.size };
  return {
    entry,
    model,
    sha256: entry.sha256,
    verified: entry.verified,
    bytes: 0,
    resumedBytes: 0,
    alreadyInstalled: true,
  };
}

/**
 * Downloads catalogue entry `id`, checks its SHA-256, converts it to ONNX and registers it
 * in `options.modelsDir` under the entry's id, with the catalogue's license and credit.
 */
export async function downloadModel(id: string, options: DownloadOptions): Promise<DownloadResult> {
  const catalogue = options.catalogue ?? catalogueFromEnv(options.env ?? process.env);
  const entry = findEntry(catalogue, id);
  const from = byteSource(entry, options);
  if (entry.sha256 === null || !entry.verified) {
    if (!options.allowUnverified) {
      throw new DownloadError(
        `${entry.id} has no published SHA-256, so the download cannot be checked; pass allowUnverified (--allow-unverified) to download it anyway`,
        'unverified',
        from.url.href,
      );
    }
  }
  const installed = await alreadyInstalled(options.modelsDir, entry);
  if (installed) {
    options.onProgress?.({ id: entry.id, phase: 'done', bytesDone: 0, bytesTotal: 0, url: from.url.href });
    return installed;
  }
  const paths = partPaths(options.modelsDir, entry);
  if (inFlight.has(paths.part))
    throw new DownloadError(`${entry.id} is already being downloaded`, 'busy', from.url.href);
  inFlight.add(paths.part);
  const sourceDir = path.join(options.modelsDir, SOURCES_FOLDER);
  const source = options.keepSource ? path.join(sourceDir, entry.fileName) : path.join(paths.dir, entry.fileName);
  let placedSource = false;
  try {
    await fsp.mkdir(paths.dir, { recursive: true });
    let state: FetchState;
    try {
      state = await fetchToPart(entry, from, paths, options);
    } catch (e) {
      // Cancelled or refused: nothing stays. A network failure, or Drive's quota (its
      // message says to try again later), keeps the .part to resume.
      if (!(e instanceof DownloadError) || (e.kind !== 'network' && e.kind !== 'quota'))
        await removeQuietly(paths.part, paths.info);
      throw e;
    }
    if (options.signal?.aborted) {
      await removeQuietly(paths.part, paths.info);
      throw cancelled(entry);
    }
    const bytes = await sizeOf(paths.part);
    options.onProgress?.({
      id: entry.id,
      phase: 'verifying',
      bytesDone: bytes,
      bytesTotal: bytes,
      url: state.finalUrl,
    });
    let digest: string;
    try {
      digest = await sha256File(paths.part, options.signal);
    } catch (e) {
      await removeQuietly(paths.part, paths.info);
      throw options.signal?.aborted ? cancelled(entry) : e;
    }
    if (entry.sha256 !== null && digest !== entry.sha256) {
      await removeQuietly(paths.part, paths.info);
      throw new DownloadError(
        `${entry.fileName} from ${state.finalUrl} has SHA-256 ${digest}, but ${entry.sha256} was published (${entry.hashSource}); refused and removed`,
        'hash',
        state.finalUrl,
      );
    }
    if (options.keepSource) await fsp.mkdir(sourceDir, { recursive: true });
    await renameIntoPlace(paths.part, source);
    placedSource = true;
    await removeQuietly(paths.info);
    options.onProgress?.({
      id: entry.id,
      phase: 'converting',
      bytesDone: bytes,
      bytesTotal: bytes,
      url: state.finalUrl,
    });
    let model: RegisteredModel;
    try {
      model = await importModel(source, options.modelsDir, { id: entry.id, license: entry.license.spdx });
      model = await recordCredit(options.modelsDir, model, entry);
    } catch (e) {
      throw new DownloadError(
        `${entry.fileName} was downloaded and verified but could not be converted: ${(e as Error).message}`,
        'convert',
        state.finalUrl,
        e instanceof DaemonError ? e.errorName : undefined,
      );
    }
    options.onProgress?.({ id: entry.id, phase: 'done', bytesDone: bytes, bytesTotal: bytes, url: state.finalUrl });
    return {
      entry,
      model,
      sha256: digest,
      verified: entry.sha256 !== null,
      bytes,
      resumedBytes: state.resumedBytes,
      ...(options.keepSource && { sourcePath: source }),
    };
  } finally {
    inFlight.delete(paths.part);
    if (placedSource && !options.keepSource) await removeQuietly(source);
    await removeDirIfEmpty(paths.dir);
  }
}
