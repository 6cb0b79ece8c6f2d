// Restoring a preview panel after a window reload. VS Code hands back the state the webview
// saved with setState; the webview is untrusted, so the state is parsed field by field and
// its paths are only used if they are image files that exist. This module has no `vscode`
// import so it is unit-tested in plain Node; panel.ts wires it to registerWebviewPanelSerializer.

import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { isImageFile } from '../images';
import type { ResultSummary } from '../../webview/messages';
import { parsePreviewState, type PreviewState } from '../../webview/state';

export function isImagePath(path: string): boolean {
  return isAbsolute(path) && !path.includes('\0') && isImageFile(path);
}

export async function isExistingImageFile(path: string): Promise<boolean> {
  if (!isImagePath(path)) return false;
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export type RestoreTarget =
  | { readonly kind: 'job'; readonly state: PreviewState; readonly result?: ResultSummary; readonly notice?: string }
  | { readonly kind: 'empty'; readonly reason: string };

/**
 * What a restored panel can show: the job with its result; the original alone with a notice
 * when the job had not finished; or, when any saved path is not an existing image file, an
 * empty state that says which.
 */
export async function restoreTarget(saved: unknown): Promise<RestoreTarget> {
  const state = parsePreviewState(saved);
  if (!state)
    return { kind: 'empty', reason: 'This preview could not be restored. Upscale an image to open a new one.' };
  if (!(await isExistingImageFile(state.job.input))) {
    return { kind: 'empty', reason: `The original image is no longer there: ${state.job.input}` };
  }
  if (!state.result) {
    return { kind: 'job', state, notice: 'The upscale did not finish before the window reloaded.' };
  }
  if (!(await isExistingImageFile(state.result.outputPath))) {
    return { kind: 'empty', reason: `The upscaled image is no longer there: ${state.result.outputPath}` };
  }
  return { kind: 'job', state, result: state.result };
}
