// What the webview keeps with getState/setState. VS Code hands the same object to the
// panel serializer after a window reload, so the extension reads it too — and, since it
// comes from the webview, validates it with `parsePreviewState` before trusting a field.

import { isResultSummary, type ResultSummary } from './messages';
import { clampFraction, clampZoom } from './view';

export const VIEW_MODES = ['side', 'split'] as const;
export type ViewMode = (typeof VIEW_MODES)[number];

export const STATE_VERSION = 1;

export interface ViewState {
  /** Follow the viewport: re-fit when it resizes, until the user zooms or pans. */
  readonly fitted: boolean;
  readonly zoom: number;
  readonly panX: number;
  readonly panY: number;
}

export interface PreviewState {
  readonly version: typeof STATE_VERSION;
  readonly job: { readonly input: string; readonly model: string; readonly outputPath?: string };
  readonly result?: ResultSummary;
  readonly view: ViewState;
  readonly mode: ViewMode;
  /** The split divider as a fraction of the width. */
  readonly split: number;
}

export const DEFAULT_VIEW: ViewState = { fitted: true, zoom: 1, panX: 0, panY: 0 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Pan is bounded loosely (a restored transform is clamped again once the images load). */
const PAN_LIMIT = 1e7;

function parseView(value: unknown): ViewState {
  if (!isRecord(value)) return DEFAULT_VIEW;
  return {
    fitted: value['fitted'] !== false,
    zoom: clampZoom(finite(value['zoom'], 1)),
    panX: Math.max(-PAN_LIMIT, Math.min(PAN_LIMIT, finite(value['panX'], 0))),
    panY: Math.max(-PAN_LIMIT, Math.min(PAN_LIMIT, finite(value['panY'], 0))),
  };
}

/**
 * The state if its job is well formed (input and model strings, the output a string if
 * present); the view settings fall back to defaults field by field. Says nothing about
 * whether the files exist: the serializer checks that.
 */
export function parsePreviewState(value: unknown): PreviewState | undefined {
  if (!isRecord(value) || value['version'] !== STATE_VERSION) return undefined;
  const job = value['job'];
  if (!isRecord(job) || typeof job['input'] !== 'string' || job['input'] === '' || typeof job['model'] !== 'string')
    return undefined;
  if (job['outputPath'] !== undefined && typeof job['outputPath'] !== 'string') return undefined;
  const result = value['result'];
  if (result !== undefined && !isResultSummary(result)) return undefined;
  const mode = value['mode'];
  return {
    version: STATE_VERSION,
    job: {
      input: job['input'],
      model: job['model'],
      ...(typeof job['outputPath'] === 'string' && { outputPath: job['outputPath'] }),
    },
    ...(result !== undefined && { result: summaryOnly(result) }),
    view: parseView(value['view']),
    mode: mode === 'split' ? 'split' : 'side',
    split: clampFraction(finite(value['split'], 0.5)),
  };
}

/** A ResultSummary without whatever else the object carried (a webview URI, say). */
export function summaryOnly(r: ResultSummary): ResultSummary {
  return {
    outputPath: r.outputPath,
    width: r.width,
    height: r.height,
    inputWidth: r.inputWidth,
    inputHeight: r.inputHeight,
    model: r.model,
    provider: r.provider,
    passes: r.passes,
    totalMs: r.totalMs,
    warnings: [...r.warnings],
  };
}
