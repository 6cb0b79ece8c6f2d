// The messages between the preview panel (extension host) and its webview, in both
// directions. Both sides import this one module, so a renamed field breaks the build.
//
// Trust runs one way: the extension trusts nothing the webview says. A webview message names
// an action and carries no paths or URIs at all; the panel acts only on the files it knows
// itself. `parseWebviewMessage` is the single gate every incoming message passes through.

import type { JobStage, ProgressParams } from '../contract/protocol';
import type { Rect } from '../contract/vocabulary';
import type { ProgressEstimate } from './progress';

// ---------------------------------------------------------------------------------------
// Extension -> webview

/** What the webview shows about the job before (and after) it has a result. */
export interface JobView {
  /** File name of the source, for titles and labels. */
  readonly inputName: string;
  /** Absolute paths, shown to the user and kept in the webview state for the serializer. */
  readonly input: string;
  readonly outputPath?: string;
  readonly model: string;
  /** Webview URI of the source image. */
  readonly originalUri: string;
}

/** The finished job, as the info bar shows it (and as the webview state keeps it). */
export interface ResultSummary {
  readonly outputPath: string;
  readonly width: number;
  readonly height: number;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly model: string;
  readonly provider: string;
  readonly passes: number;
  readonly totalMs: number;
  readonly warnings: readonly string[];
}

export interface ResultView extends ResultSummary {
  /** Webview URI of the output file, with a cache-busting query (a re-run may reuse the name). */
  readonly outputUri: string;
}

/** A tile preview as the daemon sends it: base64 PNG, its rect in preview pixels, its scale. */
export type TilePreview = NonNullable<ProgressParams['preview']>;

/**
 * What the panel needs of a `$/progress` notification (the ids stay in the extension), with
 * the extension's estimate of how far along the job is in place of the daemon's `etaMs`:
 * the notification and the panel then show the same fraction and time left.
 */
export type ProgressView = Omit<ProgressParams, 'jobId' | 'requestId' | 'etaMs'> & {
  readonly estimate?: ProgressEstimate;
};

export type ToWebviewMessage =
  /** Sent in answer to `ready`: everything needed to (re)build the view from scratch. */
  | { readonly type: 'init'; readonly job: JobView; readonly result?: ResultView; readonly error?: string }
  | { readonly type: 'progress'; readonly progress: ProgressView }
  | { readonly type: 'complete'; readonly result: ResultView }
  | { readonly type: 'failed'; readonly message: string }
  /** Nothing to show (e.g. a restored panel whose files are gone), and why. */
  | { readonly type: 'empty'; readonly reason: string };

// ---------------------------------------------------------------------------------------
// Webview -> extension

export const WEBVIEW_ACTIONS = ['ready', 'reveal', 'upscaleAgain', 'saveAs', 'openOutput'] as const;
export type WebviewAction = (typeof WEBVIEW_ACTIONS)[number];

/**
 * - ready: the script has loaded; send `init` (and replay the tiles so far).
 * - reveal: reveal the output file in the OS file manager.
 * - upscaleAgain: run `upscale.upscaleImageWith` on the input.
 * - saveAs: ask the user for a destination and copy the output there.
 * - openOutput: open the output file in an editor.
 * - width: the page's width in CSS pixels as it loads, so that a panel opened in a new
 *   column of unknown width can move if the column came out too narrow.
 */
export type WebviewMessage = { readonly type: WebviewAction } | { readonly type: 'width'; readonly width: number };

/** Widths beyond this are not a page's. */
const MAX_PAGE_WIDTH = 100_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The message if it is exactly one of the known actions (or a width, a number and nothing
 * else), else undefined. Extra fields are refused rather than ignored: a `saveAs` that
 * carries a path is a webview trying to choose the file, which only the save dialog may do.
 */
export function parseWebviewMessage(value: unknown): WebviewMessage | undefined {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const keys = Object.keys(value).sort();
  const type = value['type'];
  if (type === 'width') {
    const width = value['width'];
    return keys.length === 2 && keys[1] === 'width' && isFiniteNumber(width) && width >= 0 && width <= MAX_PAGE_WIDTH
      ? { type, width }
      : undefined;
  }
  if (keys.length !== 1 || keys[0] !== 'type') return undefined;
  if (typeof type !== 'string' || !(WEBVIEW_ACTIONS as readonly string[]).includes(type)) return undefined;
  return { type: type as WebviewAction };
}

// ---------------------------------------------------------------------------------------
// Shape checks for what the extension sends: the webview trusts its extension, but a check
// keeps a protocol mismatch (an old webview, a newer host) from throwing half-way through.

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isRect(value: unknown): value is Rect {
  return (
    isRecord(value) &&
    isFiniteNumber(value['x']) &&
    isFiniteNumber(value['y']) &&
    isFiniteNumber(value['width']) &&
    isFiniteNumber(value['height']) &&
    value['width'] >= 0 &&
    value['height'] >= 0
  );
}

export function isTilePreview(value: unknown): value is TilePreview {
  return (
    isRecord(value) &&
    typeof value['png'] === 'string' &&
    isRect(value['rect']) &&
    isFiniteNumber(value['scale']) &&
    value['scale'] > 0
  );
}

export function isResultSummary(value: unknown): value is ResultSummary {
  return (
    isRecord(value) &&
    typeof value['outputPath'] === 'string' &&
    isFiniteNumber(value['width']) &&
    isFiniteNumber(value['height']) &&
    isFiniteNumber(value['inputWidth']) &&
    isFiniteNumber(value['inputHeight']) &&
    typeof value['model'] === 'string' &&
    typeof value['provider'] === 'string' &&
    isFiniteNumber(value['passes']) &&
    isFiniteNumber(value['totalMs']) &&
    Array.isArray(value['warnings']) &&
    value['warnings'].every((w) => typeof w === 'string')
  );
}

export function isResultView(value: unknown): value is ResultView {
  return isResultSummary(value) && typeof (value as unknown as Record<string, unknown>)['outputUri'] === 'string';
}

function isJobView(value: unknown): value is JobView {
  return (
    isRecord(value) &&
    typeof value['inputName'] === 'string' &&
    typeof value['input'] === 'string' &&
    typeof value['model'] === 'string' &&
    typeof value['originalUri'] === 'string' &&
    (value['outputPath'] === undefined || typeof value['outputPath'] === 'string')
  );
}

/** Every stage, checked against the protocol's union by the compiler. */
const STAGES: Readonly<Record<JobStage, true>> = {
  queued: true,
  decode: true,
  load: true,
  infer: true,
  resize: true,
  encode: true,
  done: true,
};

function isStage(value: unknown): value is JobStage {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(STAGES, value);
}

function isEstimate(value: unknown): value is ProgressEstimate {
  return (
    isRecord(value) &&
    isFiniteNumber(value['fraction']) &&
    (value['leftMs'] === undefined || isFiniteNumber(value['leftMs']))
  );
}

function isProgressView(value: unknown): value is ProgressView {
  return (
    isRecord(value) &&
    isStage(value['stage']) &&
    isFiniteNumber(value['pass']) &&
    isFiniteNumber(value['passes']) &&
    isFiniteNumber(value['done']) &&
    isFiniteNumber(value['total']) &&
    (value['tile'] === undefined || isRect(value['tile'])) &&
    (value['passWidth'] === undefined || isFiniteNumber(value['passWidth'])) &&
    (value['passHeight'] === undefined || isFiniteNumber(value['passHeight'])) &&
    (value['preview'] === undefined || isTilePreview(value['preview'])) &&
    (value['queuePosition'] === undefined || isFiniteNumber(value['queuePosition'])) &&
    (value['runsPerTile'] === undefined || isFiniteNumber(value['runsPerTile'])) &&
    (value['estimate'] === undefined || isEstimate(value['estimate']))
  );
}

export function parseToWebviewMessage(value: unknown): ToWebviewMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value['type']) {
    case 'init':
      return isJobView(value['job']) &&
        (value['result'] === undefined || isResultView(value['result'])) &&
        (value['error'] === undefined || typeof value['error'] === 'string')
        ? (value as unknown as ToWebviewMessage)
        : undefined;
    case 'progress':
      return isProgressView(value['progress']) ? (value as unknown as ToWebviewMessage) : undefined;
    case 'complete':
      return isResultView(value['result']) ? (value as unknown as ToWebviewMessage) : undefined;
    case 'failed':
      return typeof value['message'] === 'string' ? (value as unknown as ToWebviewMessage) : undefined;
    case 'empty':
      return typeof value['reason'] === 'string' ? (value as unknown as ToWebviewMessage) : undefined;
    default:
      return undefined;
  }
}
