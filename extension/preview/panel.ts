// The preview panel: original | upscaled with synchronized zoom and pan, filled in tile by
// tile while a job runs, then showing the output file.
//
// One panel per source image, so earlier comparisons stay open in their own tabs: a new
// job on an image takes that image's panel over (its earlier PreviewPanel handle goes
// quiet); a job on another image opens its panel in the column the previews already use,
// else beside the image in a column of usable width (extension/preview/placement.ts). The
// panel keeps what it has been told (job, tiles so far, result or error), because a webview
// without retainContextWhenHidden is rebuilt every time it is shown again: on `ready` it
// gets `init` and the tiles replayed.
//
// Security: the webview names actions, never paths (webview/messages.ts rejects anything
// else), and every file the panel touches is one it was given by the extension (the job and
// the daemon's result) or, after a reload, an existing image file named in the saved state.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProgressParams, UpscaleResult } from '../../contract/protocol';
import {
  parseWebviewMessage,
  type JobView,
  type ProgressView,
  type ResultSummary,
  type ResultView,
  type ToWebviewMessage,
} from '../../webview/messages';
import { advanceEstimate, type ProgressEstimate } from '../../webview/progress';
import { createNonce, previewHtml } from './html';
import { groupBoxes, MIN_PREVIEW_WIDTH, placePreview } from './placement';
import { restoreTarget } from './serializer';
import { summaryOnly } from '../../webview/state';
import { COMMAND_IDS, PREVIEW_VIEW_TYPE } from '../contributions';
import { describeModels } from '../job-params';

export { PREVIEW_VIEW_TYPE };

/** Send this as `previewWidth` with upscale requests shown in the panel: tile previews are
 *  scaled so the whole output is this wide (enough for a sharp fit-to-panel view). */
export const PREVIEW_WIDTH = 1600;

/** What the panel needs to know about a job before it has a result. */
export interface PreviewJob {
  readonly input: string;
  readonly model: string;
  readonly outputPath?: string;
}

/** Bound on the tile previews kept for replay (base64 characters), oldest dropped first. */
const REPLAY_BUDGET_CHARS = 48 * 1024 * 1024;

/**
 * A job's handle on its image's preview panel. show() with a new job on the same image
 * takes that panel over; the earlier job's handle then goes quiet, so its late progress
 * cannot paint over the new job.
 */
export class PreviewPanel {
  private constructor(
    private readonly host: PanelHost,
    private readonly generation: number,
  ) {}

  /** Opens (or takes over) the preview panel of the job's image, for a job that is starting. */
  static async show(context: vscode.ExtensionContext, job: PreviewJob): Promise<PreviewPanel> {
    const host = await PanelHost.showFor(context, job);
    return new PreviewPanel(host, host.generation);
  }

  /** The underlying webview panel (for tests and for the extension's own bookkeeping). */
  get webviewPanel(): vscode.WebviewPanel {
    return this.host.panel;
  }

  /** Whether this job still owns an open panel. */
  get active(): boolean {
    return this.host.owns(this.generation);
  }

  /** A tile finished (or the stage changed); `estimate` is how far along the job is now. */
  progress(p: ProgressParams, estimate?: ProgressEstimate): void {
    if (this.active) this.host.progress(p, estimate);
  }

  complete(r: UpscaleResult): void {
    if (this.active) this.host.complete(r);
  }

  fail(message: string): void {
    if (this.active) this.host.fail(message);
  }
}

/** One open panel and everything it has been told. */
class PanelHost {
  /** Every open panel, newest last; the one for an image is found by its input path. */
  private static readonly open = new Set<PanelHost>();

  private readonly disposables: vscode.Disposable[] = [];
  private job: PreviewJob;
  private result: ResultSummary | undefined;
  private error: string | undefined;
  /** An empty state (a restored panel whose files are gone) instead of a job. */
  private emptyReason: string | undefined;
  private replay: ProgressView[] = [];
  private replayChars = 0;
  private lastProgress: ProgressView | undefined;
  /** When lastProgress's estimate was made (Date.now()), to move it on for a replay. */
  private lastProgressAt = 0;
  /** Opened in a new column whose width could not be known: where to go if it is too narrow. */
  private fallbackColumn: vscode.ViewColumn | undefined;
  private disposed = false;
  /** Bumped whenever a new job takes the panel. */
  generation = 0;

  private constructor(
    private readonly context: vscode.ExtensionContext,
    readonly panel: vscode.WebviewPanel,
    job: PreviewJob,
  ) {
    this.job = job;
    PanelHost.open.add(this);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw), null, this.disposables);
  }

  static async showFor(context: vscode.ExtensionContext, job: PreviewJob): Promise<PanelHost> {
    const existing = [...PanelHost.open].find((h) => h.job.input === job.input);
    if (existing) {
      existing.retarget(job);
      existing.panel.reveal(existing.panel.viewColumn, true);
      return existing;
    }
    const { viewColumn, fallback } = await PanelHost.columnFor(job.input);
    const panel = vscode.window.createWebviewPanel(
      PREVIEW_VIEW_TYPE,
      titleFor(job.input),
      { viewColumn, preserveFocus: true },
      webviewOptions(context, job),
    );
    const host = new PanelHost(context, panel, job);
    host.fallbackColumn = fallback;
    host.load();
    return host;
  }

  /**
   * Where a new panel opens (extension/preview/placement.ts): the previews' column, else
   * beside the image in a column of usable width. Beside the active editor, as VS Code
   * would, when the layout cannot be read.
   */
  private static async columnFor(
    input: string,
  ): Promise<{ viewColumn: vscode.ViewColumn; fallback?: vscode.ViewColumn }> {
    const layout: unknown = await vscode.commands.executeCommand('vscode.getEditorLayout').then(
      (value: unknown) => value,
      () => undefined,
    );
    const boxes = groupBoxes(layout);
    const groups = vscode.window.tabGroups.all;
    const active = vscode.window.tabGroups.activeTabGroup.viewColumn;
    if (!boxes || boxes.length !== groups.length || typeof active !== 'number')
      return { viewColumn: vscode.ViewColumn.Beside };
    const showsInput = (g: vscode.TabGroup) => g.tabs.some((t) => tabPath(t) === input);
    const sourceGroup =
      groups.find((g) => g.isActive && showsInput(g)) ??
      groups.find((g) => g.activeTab !== undefined && tabPath(g.activeTab) === input) ??
      groups.find(showsInput);
    const previews = [...PanelHost.open].map((h) => h.panel.viewColumn).filter((c) => typeof c === 'number');
    const source = sourceGroup ?? groups.find((g) => g.viewColumn === active);
    const placement = placePreview({
      boxes,
      source: source?.viewColumn ?? active,
      sourceEmpty: source?.tabs.length === 0,
      active,
      ...(previews.length > 0 && { previewColumn: previews[previews.length - 1] }),
    });
    return placement.kind === 'column'
      ? { viewColumn: placement.column }
      : {
          viewColumn: vscode.ViewColumn.Beside,
          ...(placement.fallback !== undefined && { fallback: placement.fallback }),
        };
  }

  /** A panel VS Code recreated after a reload, from its (untrusted) saved state. */
  static async restore(context: vscode.ExtensionContext, panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    const target = await restoreTarget(saved);
    const job: PreviewJob =
      target.kind === 'job'
        ? {
            input: target.state.job.input,
            model: target.state.job.model,
            ...(target.result && { outputPath: target.result.outputPath }),
          }
        : { input: '', model: '' };
    panel.webview.options = webviewOptions(context, job);
    const host = new PanelHost(context, panel, job);
    if (target.kind === 'empty') {
      host.emptyReason = target.reason;
    } else {
      host.result = target.result;
      host.error = target.notice;
      panel.title = titleFor(job.input);
    }
    host.load();
  }

  owns(generation: number): boolean {
    return !this.disposed && generation === this.generation;
  }

  progress(p: ProgressParams, estimate: ProgressEstimate | undefined): void {
    if (this.result || this.error !== undefined) return;
    const view: ProgressView = {
      stage: p.stage,
      pass: p.pass,
      passes: p.passes,
      done: p.done,
      total: p.total,
      ...(p.runsPerTile !== undefined && { runsPerTile: p.runsPerTile }),
      ...(p.queuePosition !== undefined && { queuePosition: p.queuePosition }),
      ...(estimate && { estimate }),
      ...(p.tile && { tile: p.tile }),
      ...(p.passWidth !== undefined && { passWidth: p.passWidth }),
      ...(p.passHeight !== undefined && { passHeight: p.passHeight }),
      ...(p.preview && { preview: { png: p.preview.png, rect: p.preview.rect, scale: p.preview.scale } }),
    };
    this.lastProgress = view;
    this.lastProgressAt = Date.now();
    if (view.preview) this.keepForReplay(view);
    this.post({ type: 'progress', progress: view });
  }

  complete(r: UpscaleResult): void {
    // The summary's model is the whole combination: a chain, a blend, TTA.
    const model = r.plan ? describeModels(r.plan) : r.model;
    this.result = summaryOnly({ ...r, model, totalMs: r.timings.totalMs });
    this.error = undefined;
    this.job = { ...this.job, outputPath: r.outputPath };
    this.clearReplay();
    // The output may be in a folder the job did not name (a configured output folder).
    // Changing the options reloads the page (which then asks for `init`), so only when needed.
    const options = webviewOptions(this.context, this.job);
    if (!sameRoots(options.localResourceRoots, this.panel.webview.options.localResourceRoots))
      this.panel.webview.options = options;
    this.post({ type: 'complete', result: this.resultView(this.result) });
  }

  fail(message: string): void {
    this.error = message;
    this.post({ type: 'failed', message });
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    PanelHost.open.delete(this);
    this.clearReplay();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private retarget(job: PreviewJob): void {
    this.generation++;
    this.job = job;
    this.result = undefined;
    this.error = undefined;
    this.emptyReason = undefined;
    this.lastProgress = undefined;
    this.clearReplay();
    this.panel.title = titleFor(job.input);
    this.panel.webview.options = webviewOptions(this.context, job);
    this.load();
  }

  /** (Re)loads the page with a fresh nonce; the webview answers with `ready`. */
  private load(): void {
    const webview = this.panel.webview;
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    webview.html = previewHtml({
      nonce: createNonce(),
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'preview.css')).toString(),
      title: this.panel.title,
    });
  }

  private clearReplay(): void {
    this.replay = [];
    this.replayChars = 0;
  }

  private keepForReplay(view: ProgressView): void {
    this.replay.push(view);
    this.replayChars += view.preview?.png.length ?? 0;
    while (this.replayChars > REPLAY_BUDGET_CHARS && this.replay.length > 1) {
      const dropped = this.replay.shift();
      this.replayChars -= dropped?.preview?.png.length ?? 0;
    }
  }

  private post(message: ToWebviewMessage): void {
    // A hidden webview is torn down (no retainContextWhenHidden); it gets everything
    // again through `ready` when shown, so posting now would only be lost.
    if (this.disposed || !this.panel.visible) return;
    void this.panel.webview.postMessage(message);
  }

  private jobView(): JobView {
    return {
      inputName: path.basename(this.job.input),
      input: this.job.input,
      model: this.job.model,
      ...(this.job.outputPath !== undefined && { outputPath: this.job.outputPath }),
      originalUri: this.panel.webview.asWebviewUri(vscode.Uri.file(this.job.input)).toString(),
    };
  }

  private resultView(result: ResultSummary): ResultView {
    // A query busts the webview's cache: a re-run may write a file with the same name.
    const uri = this.panel.webview.asWebviewUri(vscode.Uri.file(result.outputPath)).with({ query: `v=${Date.now()}` });
    return { ...result, outputUri: uri.toString() };
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = parseWebviewMessage(raw);
    if (!message || this.disposed) return; // Malformed or hostile: do nothing.
    switch (message.type) {
      case 'ready':
        return this.sendAll();
      case 'width':
        return this.checkWidth(message.width);
      case 'reveal':
        return this.revealOutput();
      case 'openOutput':
        if (this.result) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(this.result.outputPath));
        return;
      case 'saveAs':
        return this.saveAs();
      case 'upscaleAgain':
        if (this.job.input)
          await vscode.commands.executeCommand(COMMAND_IDS.upscaleImageWith, vscode.Uri.file(this.job.input));
        return;
    }
  }

  /**
   * The first width reported after opening in a new column of unknown width: narrower than
   * the minimum, the panel moves into the image's group (VS Code closes the emptied column).
   */
  private checkWidth(width: number): void {
    const fallback = this.fallbackColumn;
    this.fallbackColumn = undefined;
    if (fallback !== undefined && width < MIN_PREVIEW_WIDTH) this.panel.reveal(fallback, true);
  }

  /** Everything the panel knows, for a webview that has just (re)loaded. */
  private sendAll(): void {
    if (this.emptyReason !== undefined) {
      this.post({ type: 'empty', reason: this.emptyReason });
      return;
    }
    this.post({
      type: 'init',
      job: this.jobView(),
      ...(this.result && { result: this.resultView(this.result) }),
      ...(this.error !== undefined && { error: this.error }),
    });
    if (this.result) return;
    for (const view of this.replay) this.post({ type: 'progress', progress: view });
    if (this.lastProgress) {
      // The counts only (its tile, if it had one, has just been replayed or was dropped),
      // with the estimate moved on by the time since it was made.
      const { stage, pass, passes, done, total, queuePosition, estimate } = this.lastProgress;
      this.post({
        type: 'progress',
        progress: {
          stage,
          pass,
          passes,
          done,
          total,
          ...(queuePosition !== undefined && { queuePosition }),
          ...(estimate && { estimate: advanceEstimate(estimate, Date.now() - this.lastProgressAt) }),
        },
      });
    }
  }

  private async revealOutput(): Promise<void> {
    if (!this.result) return;
    const uri = vscode.Uri.file(this.result.outputPath);
    // The OS file manager only helps when the file is on this machine.
    const local = vscode.env.uiKind === vscode.UIKind.Desktop && vscode.env.remoteName === undefined;
    await vscode.commands.executeCommand(local ? 'revealFileInOS' : 'revealInExplorer', uri);
  }

  private async saveAs(): Promise<void> {
    if (!this.result) return;
    const source = vscode.Uri.file(this.result.outputPath);
    const ext = path.extname(this.result.outputPath).slice(1).toLowerCase();
    // The destination comes from the dialog, never from the webview.
    const target = await vscode.window.showSaveDialog({
      defaultUri: source,
      saveLabel: 'Save Upscaled Image',
      title: 'Save the upscaled image as',
      ...(ext && { filters: { [`${ext.toUpperCase()} image`]: [ext] } }),
    });
    if (!target || target.toString() === source.toString()) return;
    try {
      // The dialog has already asked about replacing an existing file.
      await vscode.workspace.fs.copy(source, target, { overwrite: true });
      void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not save ${target.fsPath}: ${(e as Error).message}`);
    }
  }
}

/** The file a tab shows, for the tabs that show one (text and custom editors such as the image preview). */
function tabPath(tab: vscode.Tab): string | undefined {
  const input: unknown = tab.input;
  return input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri.fsPath : undefined;
}

function sameRoots(a: readonly vscode.Uri[] | undefined, b: readonly vscode.Uri[] | undefined): boolean {
  const key = (roots: readonly vscode.Uri[] | undefined) =>
    (roots ?? [])
      .map((u) => u.toString())
      .sort()
      .join('\n');
  return key(a) === key(b);
}

function titleFor(input: string): string {
  return input ? `Upscale: ${path.basename(input)}` : 'Upscale Preview';
}

/** Scripts on; resources only from the extension's dist and media and the images' folders. */
function webviewOptions(
  context: vscode.ExtensionContext,
  job: PreviewJob,
): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  const roots = [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')];
  const folders = new Set<string>();
  if (job.input) folders.add(path.dirname(job.input));
  if (job.outputPath) folders.add(path.dirname(job.outputPath));
  for (const folder of folders) roots.push(vscode.Uri.file(folder));
  return { enableScripts: true, localResourceRoots: roots };
}

class PreviewSerializer implements vscode.WebviewPanelSerializer<unknown> {
  constructor(private readonly context: vscode.ExtensionContext) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    await PanelHost.restore(this.context, panel, state);
  }
}

/** Restores preview panels after a window reload (activation event `onWebviewPanel:upscale.preview`). */
export function registerPreviewSerializer(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, new PreviewSerializer(context));
}
