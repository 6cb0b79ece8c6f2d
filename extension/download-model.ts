// The Download Model command's decisions, without vscode: the quick pick's rows (grouped by
// family), what needs a confirmation before downloading, and the words of its progress and
// failure messages. extension/commands.ts shows them.
import { formatSize, groupByFamily, isDownloadable, type CatalogueEntry } from '../contract/catalogue';
import type { DownloadProgress, ModelsCatalogueResult } from '../contract/protocol';

export interface DownloadPickItem {
  /** 'separator' rows become QuickPickItemKind.Separator. */
  readonly kind: 'separator' | 'item';
  readonly label: string;
  readonly description?: string;
  readonly detail?: string;
  readonly entry?: CatalogueEntry;
}

function licenseText(entry: CatalogueEntry): string {
  return entry.license.commercialUse ? entry.license.spdx : `${entry.license.spdx}, non-commercial`;
}

/** The quick pick's rows: a separator per family, then its models. Pure. */
export function downloadPickItems(
  catalogue: ModelsCatalogueResult,
  installed: ReadonlySet<string>,
): DownloadPickItem[] {
  const items: DownloadPickItem[] = [];
  for (const group of groupByFamily(catalogue.models)) {
    items.push({ kind: 'separator', label: catalogue.families[group.family] ?? group.family });
    for (const e of group.entries) {
      const flags = [
        !isDownloadable(e) ? 'manual download' : e.drive ? 'Google Drive' : undefined,
        !e.verified ? 'unverified' : undefined,
      ].filter((f): f is string => f !== undefined);
      items.push({
        kind: 'item',
        label: `${installed.has(e.id) ? '$(check) ' : !isDownloadable(e) ? '$(link-external) ' : '$(cloud-download) '}${e.variant}${installed.has(e.id) ? ' (installed)' : ''}`,
        description: [`x${e.scale}`, formatSize(e.sizeBytes), licenseText(e), ...flags].join(' · '),
        detail: e.description,
        entry: e,
      });
    }
  }
  return items;
}

export interface Confirmation {
  readonly message: string;
  readonly detail: string;
  readonly button: string;
  /** The download must then be asked for with allowUnverified. */
  readonly allowUnverified: boolean;
}

/** What the user must agree to before this download (a modal), or null. Pure. */
export function confirmationFor(entry: CatalogueEntry): Confirmation | null {
  const reasons: string[] = [];
  const details: string[] = [];
  if (!entry.license.commercialUse) {
    reasons.push(`is licensed ${entry.license.spdx}, for non-commercial use only`);
    details.push(`License: ${entry.license.source}.${entry.license.note ? ` ${entry.license.note}` : ''}`);
  }
  const unverified = entry.sha256 === null || !entry.verified;
  if (unverified) {
    reasons.push('has no published SHA-256, so the download cannot be checked');
    details.push(
      `It is fetched from ${entry.url ?? (entry.drive ? `Google Drive (file ${entry.drive.id})` : (entry.manualUrl ?? ''))} and converted as it is.`,
    );
  }
  if (reasons.length === 0) return null;
  return {
    message: `${entry.variant} ${reasons.join(' and ')}. Download it anyway?`,
    detail: details.join('\n'),
    button: unverified ? 'Download Unverified' : 'Download',
    allowUnverified: unverified,
  };
}

export const OPEN_DOWNLOAD_PAGE = 'Open Download Page';
export const COPY_URL = 'Copy URL';
export const IMPORT_MODEL = 'Import Model…';

/** The message for an entry the authors publish only where a browser is needed. Pure. */
export function manualDownloadMessage(entry: CatalogueEntry): string {
  return `${entry.variant} is published by its authors only at ${entry.manualUrl ?? entry.url ?? ''}. Download ${entry.fileName} there, then use Upscale: Import Model… on it.`;
}

/** The progress notification's text. Pure. */
export function downloadProgressMessage(p: DownloadProgress): string {
  switch (p.phase) {
    case 'connecting':
      return p.bytesDone > 0 ? `Resuming at ${formatSize(p.bytesDone)}…` : 'Connecting…';
    case 'downloading':
      return p.bytesTotal !== null
        ? `${(p.bytesDone / 1e6).toFixed(1)} of ${formatSize(p.bytesTotal)}`
        : `${formatSize(p.bytesDone)}`;
    case 'verifying':
      return 'Checking the SHA-256…';
    case 'converting':
      return 'Converting to ONNX…';
    case 'done':
      return 'Done';
  }
}

/** Progress increment (percent of the whole) between two reports. Pure. */
export function downloadProgressIncrement(previous: DownloadProgress | undefined, next: DownloadProgress): number {
  if (next.bytesTotal === null || next.bytesTotal === 0 || next.phase !== 'downloading') return 0;
  const before =
    previous?.phase === 'downloading' && previous.bytesTotal ? previous.bytesDone / previous.bytesTotal : 0;
  return Math.max(0, (next.bytesDone / next.bytesTotal - before) * 100);
}

/**
 * The error shown when a download fails: the daemon's message, and for a network failure
 * (offline, blocked by a firewall or proxy) the URL to fetch by hand and Import Model. Pure.
 */
export function downloadFailureMessage(entry: CatalogueEntry, error: string): string {
  const url = entry.url ?? entry.manualUrl ?? '';
  if (error.includes(url) && /Import Model/.test(error)) return `Could not download ${entry.variant}: ${error}`;
  return `Could not download ${entry.variant}: ${error}. If this machine is offline or the download is blocked, fetch ${url} by hand and use Upscale: Import Model… on it.`;
}

/**
 * The buttons of a failed download's message. A Google Drive file offers its page, where a
 * person can still fetch it when Drive refuses the program (quota, access); a release URL
 * offers the URL to copy. Both then offer Import Model…. Pure.
 */
export function downloadFailureActions(entry: CatalogueEntry): readonly string[] {
  return [entry.drive && entry.manualUrl ? OPEN_DOWNLOAD_PAGE : COPY_URL, IMPORT_MODEL];
}
