// The catalogue of official model releases (models/catalogue.json): its schema, its
// validation, and what a client shows of an entry. Pure: the daemon reads the file
// (models/catalogue.ts) and sends it to clients (`models/catalogue`).
import { DaemonError } from './errors';

const VALID_ID = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/** 1 to 64 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit, no '..': safe as a file name. */
export function isValidModelId(id: string): boolean {
  return VALID_ID.test(id) && !id.includes('..');
}

export interface CatalogueLicense {
  /** SPDX identifier of the license the authors released the weights under. */
  readonly spdx: string;
  /** Whether that license allows commercial use. */
  readonly commercialUse: boolean;
  /** Where the license was read (the authors' LICENSE file). */
  readonly source: string;
  /** Anything else a user should know (training data terms, say). */
  readonly note?: string;
}

export interface CataloguePaper {
  readonly title: string;
  readonly url: string;
}

/** A file the authors share on Google Drive, fetched through Drive's download endpoint (models/drive.ts). */
export interface CatalogueDrive {
  /** The Drive file id: what follows /file/d/ in the authors' share link. */
  readonly id: string;
  /** Where that link was published: `owner/repo@commit:path`, as for hashSource. */
  readonly idSource: string;
}

export interface CatalogueEntry {
  /** The id the model is registered under once downloaded. */
  readonly id: string;
  readonly family: string;
  readonly variant: string;
  readonly scale: number;
  /** The release's own file name (kept as the source's name, and the registry's credit). */
  readonly fileName: string;
  /**
   * The authors' release on github.com or huggingface.co; null where the authors publish
   * only on Google Drive (see `drive`) or on a site that needs a browser (`manualUrl`).
   */
  readonly url: string | null;
  /** The authors' Google Drive file, for entries without `url`. */
  readonly drive?: CatalogueDrive;
  /**
   * Where a person can fetch the file by hand (the authors' drive folder): the only way for
   * entries with neither `url` nor `drive`, and the way round a Drive refusal (quota, access).
   */
  readonly manualUrl?: string;
  /** Size of the file in bytes, when published. */
  readonly sizeBytes: number | null;
  /** SHA-256 of the file, lowercase hex, from `hashSource`; null when none was found. */
  readonly sha256: string | null;
  /** Where the hash was published: `owner/repo@commit:path` or a page URL. */
  readonly hashSource: string | null;
  /** True only with a published hash; unverified entries need an explicit opt-in to download. */
  readonly verified: boolean;
  readonly license: CatalogueLicense;
  readonly paper: CataloguePaper;
  /** Authors, as shown with the model. */
  readonly credit: string;
  /** One line: what the model is good at. */
  readonly description: string;
}

export interface Catalogue {
  readonly version: 1;
  /** Each family's id and the label clients show for it, in the order they list families. */
  readonly families: Readonly<Record<string, string>>;
  readonly models: readonly CatalogueEntry[];
}

/** Hosts an official download may come from. */
export const OFFICIAL_HOSTS: readonly string[] = ['github.com', 'huggingface.co'];

const SHA256 = /^[0-9a-f]{64}$/;
/** Drive file ids are base64url-like: 28 characters for old files, 33 for newer ones. */
const DRIVE_ID = /^[A-Za-z0-9_-]{20,100}$/;
const SPDX = /^[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;

/** The catalogue's file is not a valid catalogue: nothing can be downloaded from it. */
export class CatalogueError extends DaemonError {
  constructor(readonly problems: readonly string[]) {
    super('DownloadFailed', `the model catalogue is invalid:\n  ${problems.join('\n  ')}`);
    this.name = 'CatalogueError';
  }
}

function isHttpsUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** True for an https URL on one of `hosts` (or a subdomain of one). Pure. */
export function isOfficialUrl(value: string, hosts: readonly string[] = OFFICIAL_HOSTS): boolean {
  if (!isHttpsUrl(value)) return false;
  const host = new URL(value).hostname.toLowerCase();
  return hosts.some((h) => host === h || host.endsWith(`.${h}`));
}

export interface ParseOptions {
  /** Hosts allowed in `url`; default OFFICIAL_HOSTS. Tests pass their local server's. */
  readonly hosts?: readonly string[];
  /** Allow http:// URLs (tests on 127.0.0.1 only). */
  readonly allowHttp?: boolean;
}

/** The problems of an entry's `drive` field (its `url` must then be null). Pure. */
function driveProblems(drive: unknown, url: unknown, at: string): string[] {
  const problems: string[] = [];
  if (url !== null) problems.push(`${at}: an entry has "url" or "drive", not both`);
  if (typeof drive !== 'object' || drive === null || Array.isArray(drive))
    return [...problems, `${at}: "drive" must be an object with "id" and "idSource"`];
  const d = drive as Record<string, unknown>;
  if (typeof d.id !== 'string' || !DRIVE_ID.test(d.id))
    problems.push(`${at}: "drive.id" must be a Google Drive file id (20 to 100 letters, digits, '-' or '_')`);
  if (typeof d.idSource !== 'string' || d.idSource.trim() === '')
    problems.push(`${at}: "drive.idSource" must say where the file id was published`);
  for (const key of Object.keys(d))
    if (key !== 'id' && key !== 'idSource') problems.push(`${at}: "drive.${key}" is not a known field`);
  return problems;
}

/** Every problem of one entry, as `models[i] (id): field ...` lines. Pure. */
function entryProblems(value: unknown, where: string, options: ParseOptions): string[] {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: is not an object`];
  const e = value as Record<string, unknown>;
  const at = `${where}${typeof e.id === 'string' ? ` (${e.id})` : ''}`;
  const str = (key: string): string | undefined => {
    const v = e[key];
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`${at}: "${key}" must be a non-empty string`);
      return undefined;
    }
    return v;
  };
  const id = str('id');
  if (id !== undefined && !isValidModelId(id))
    problems.push(`${at}: "id" '${id}' must be 1 to 64 lowercase letters, digits, '.', '_' or '-', without '..'`);
  str('family');
  str('variant');
  const fileName = str('fileName');
  if (fileName !== undefined && (fileName.includes('/') || fileName.includes('\\') || fileName.startsWith('.'))) {
    problems.push(`${at}: "fileName" must be a plain file name`);
  }
  str('credit');
  const description = str('description');
  if (description !== undefined && description.includes('\n')) problems.push(`${at}: "description" must be one line`);
  if (!(typeof e.scale === 'number' && Number.isInteger(e.scale) && e.scale >= 1 && e.scale <= 16)) {
    problems.push(`${at}: "scale" must be an integer from 1 to 16`);
  }

  const hosts = options.hosts ?? OFFICIAL_HOSTS;
  if (e.url === null) {
    if (!isHttpsUrl(e.manualUrl))
      problems.push(`${at}: an entry without "url" needs an https "manualUrl" to fetch it by hand`);
  } else if (typeof e.url !== 'string') {
    problems.push(`${at}: "url" must be a string or null`);
  } else {
    let ok = isOfficialUrl(e.url, hosts);
    if (!ok && options.allowHttp) {
      try {
        const u = new URL(e.url);
        ok = u.protocol === 'http:' && hosts.includes(u.hostname);
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push(`${at}: "url" ${e.url} must be https on ${hosts.join(' or ')}`);
  }
  if (e.manualUrl !== undefined && !isHttpsUrl(e.manualUrl)) problems.push(`${at}: "manualUrl" must be an https URL`);
  if (e.drive !== undefined) problems.push(...driveProblems(e.drive, e.url, at));
  if (!(
    e.sizeBytes === null ||
    (typeof e.sizeBytes === 'number' && Number.isSafeInteger(e.sizeBytes) && e.sizeBytes > 0)
  )) {
    problems.push(`${at}: "sizeBytes" must be a positive integer or null`);
  }

  if (e.sha256 === null) {
    if (e.verified !== false) problems.push(`${at}: an entry without "sha256" must say "verified": false`);
    if (e.hashSource !== null) problems.push(`${at}: "hashSource" must be null when "sha256" is null`);
  } else if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) {
    problems.push(`${at}: "sha256" must be 64 lowercase hex digits or null`);
  } else {
    if (typeof e.hashSource !== 'string' || e.hashSource.trim() === '')
      problems.push(`${at}: "hashSource" must say where the hash was published`);
  }
  if (typeof e.verified !== 'boolean') problems.push(`${at}: "verified" must be a boolean`);

  const license = e.license as Record<string, unknown> | null | undefined;
  if (typeof license !== 'object' || license === null) problems.push(`${at}: "license" must be an object`);
  else {
    if (typeof license.spdx !== 'string' || !SPDX.test(license.spdx))
      problems.push(`${at}: "license.spdx" must be an SPDX identifier`);
    if (typeof license.commercialUse !== 'boolean') problems.push(`${at}: "license.commercialUse" must be a boolean`);
    if (!isHttpsUrl(license.source)) problems.push(`${at}: "license.source" must be an https URL`);
    if (license.note !== undefined && typeof license.note !== 'string')
      problems.push(`${at}: "license.note" must be a string`);
  }
  const paper = e.paper as Record<string, unknown> | null | undefined;
  if (typeof paper !== 'object' || paper === null) problems.push(`${at}: "paper" must be an object`);
  else {
    if (typeof paper.title !== 'string' || paper.title.trim() === '')
      problems.push(`${at}: "paper.title" must be a non-empty string`);
    if (!isHttpsUrl(paper.url)) problems.push(`${at}: "paper.url" must be an https URL`);
  }
  return problems;
}

/** Validates parsed catalogue JSON; throws a CatalogueError listing every problem. Pure. */
export function parseCatalogue(value: unknown, options: ParseOptions = {}): Catalogue {
  if (typeof value !== 'object' || value === null) throw new CatalogueError(['the catalogue is not an object']);
  const doc = value as Record<string, unknown>;
  const problems: string[] = [];
  if (doc.version !== 1) problems.push(`"version" must be 1, found ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.models)) throw new CatalogueError([...problems, '"models" must be an array']);
  const families = familiesOf(doc.families, problems);
  const seen = new Set<string>();
  doc.models.forEach((m: unknown, i: number) => {
    problems.push(...entryProblems(m, `models[${i}]`, options));
    const { id, family } = (m ?? {}) as { id?: unknown; family?: unknown };
    if (typeof id === 'string') {
      if (seen.has(id)) problems.push(`models[${i}]: duplicate id '${id}'`);
      seen.add(id);
    }
    if (typeof family === 'string' && families !== undefined && !(family in families))
      problems.push(
        `models[${i}]: "family" '${family}' is not one of the catalogue's "families" (${Object.keys(families).join(', ')})`,
      );
  });
  if (problems.length > 0 || families === undefined) throw new CatalogueError(problems);
  return { version: 1, families, models: doc.models as CatalogueEntry[] };
}

/** "families": an object of family id → non-empty label; undefined (with the problem recorded) otherwise. */
function familiesOf(value: unknown, problems: string[]): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('"families" must be an object of family id to label');
    return undefined;
  }
  const families: Record<string, string> = {};
  for (const [id, label] of Object.entries(value)) {
    if (typeof label !== 'string' || label.trim() === '') problems.push(`"families.${id}" must be a non-empty label`);
    else families[id] = label;
  }
  return families;
}

/** The entry with this id; an error naming the known ids otherwise. Pure. */
export function findEntry(catalogue: Catalogue, id: string): CatalogueEntry {
  const entry = catalogue.models.find((m) => m.id === id);
  if (!entry)
    throw new DaemonError(
      'ModelNotFound',
      `no model '${id}' in the catalogue; known: ${catalogue.models.map((m) => m.id).join(', ')}`,
    );
  return entry;
}

/** Whether the program can download the entry (an official URL or a Google Drive file), or only a person can. Pure. */
export function isDownloadable(entry: CatalogueEntry): boolean {
  return entry.url !== null || entry.drive !== undefined;
}

/** Where the program downloads the entry from, in words ("Google Drive", the URL's host); null for manual entries. Pure. */
export function sourceName(entry: CatalogueEntry): string | null {
  if (entry.drive) return 'Google Drive';
  return entry.url === null ? null : new URL(entry.url).hostname;
}

/** The way round a download the program cannot make: where to fetch the file by hand, and how to import it. Pure. */
export function manualRoute(entry: CatalogueEntry): string {
  return `download ${entry.fileName} by hand from ${entry.manualUrl ?? entry.url ?? ''} and run: upscale models import ${entry.fileName} (in VS Code: Upscale: Import Model…)`;
}

/** Size in words: "64.0 MB", or "size unknown". Pure. */
export function formatSize(bytes: number | null): string {
  if (bytes === null) return 'size unknown';
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Families in the order they appear in the catalogue, with their entries. Pure. */
export function groupByFamily(
  entries: readonly CatalogueEntry[],
): { readonly family: string; readonly entries: readonly CatalogueEntry[] }[] {
  const groups = new Map<string, CatalogueEntry[]>();
  for (const e of entries) {
    const list = groups.get(e.family) ?? [];
    list.push(e);
    groups.set(e.family, list);
  }
  return [...groups].map(([family, list]) => ({ family, entries: list }));
}
