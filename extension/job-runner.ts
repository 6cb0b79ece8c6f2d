// Runs upscale jobs for the commands: one cancellable progress notification per job or
// batch, the live preview panel for a single image (unless upscale.livePreview is off), and
// the notification at the end (Open, Reveal in Explorer, Compare; or what failed, with
// Show Log).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProgressParams, UpscaleResult } from '../contract/protocol';
import type { BatchItem } from './batch';
import type { DaemonClient } from './client';
import { isCancelled } from '../contract/errors';
import { COMMAND_IDS } from './contributions';
import { describeModels, describeResult, describeRunsOn, specModels, upscaleParams, type JobSpec } from './job-params';
import { batchFraction, progressMessage, ProgressMeter } from './progress-text';
import type { SettingsReader } from './settings';
import { PREVIEW_WIDTH, PreviewPanel } from './preview/panel';
import { JobClock, type ProgressEstimate } from '../webview/progress';

/** Between the daemon's notifications the time left counts down and the bar moves by time. */
const TICK_MS = 1000;

/**
 * VS Code keeps a progress notification up for at least 800 ms after it opened
 * (ProgressService.withNotificationProgress); a job or batch that ends sooner waits out the
 * rest, so its own notification (the result, the summary) never appears under it.
 */
const PROGRESS_SHOWN_AT_LEAST_MS = 850;

/**
 * A progress notification that follows one job at a time: it shows each `$/progress` as it
 * arrives and, every tick in between, the same job moved on by the time since.
 */
class NotificationProgress {
  private readonly meter = new ProgressMeter();
  private clock = new JobClock(Date.now);
  private last: ProgressParams | undefined;
  private readonly timer = setInterval(() => this.render(), TICK_MS);
  private readonly openedAt = Date.now();

  constructor(
    private readonly progress: vscode.Progress<{ message?: string; increment?: number }>,
    /** The message and the fraction of the whole notification for the job's progress now. */
    private readonly describe: (p: ProgressParams, e: ProgressEstimate) => { message: string; fraction: number },
  ) {}

  /** A message of its own (a batch moving to its next image); the next job starts afresh. */
  say(message: string, fraction: number): void {
    this.clock = new JobClock(Date.now);
    this.last = undefined;
    this.progress.report({ message, increment: this.meter.advanceTo(fraction) });
  }

  /** A notification from the daemon; returns the estimate it gives, for the panel. */
  update(p: ProgressParams): ProgressEstimate {
    this.last = p;
    const estimate = this.clock.update(p);
    this.render();
    return estimate;
  }

  private render(): void {
    const estimate = this.clock.current();
    if (!this.last || !estimate) return;
    const { message, fraction } = this.describe(this.last, estimate);
    this.progress.report({ message, increment: this.meter.advanceTo(fraction) });
  }

  /** Stops the ticks and waits until VS Code closes the notification. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const left = PROGRESS_SHOWN_AT_LEAST_MS - (Date.now() - this.openedAt);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  }
}

export class JobRunner implements vscode.Disposable {
  private readonly controllers = new Set<AbortController>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: DaemonClient,
    private readonly settings: SettingsReader,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Cancels every job and batch this window started; returns how many were running. */
  cancelAll(): number {
    const n = this.controllers.size;
    for (const c of this.controllers) c.abort();
    this.client.cancelAll();
    return n;
  }

  /** One image, with its own notification and, unless upscale.livePreview is off, the live preview. */
  async runOne(item: BatchItem, spec: JobSpec): Promise<void> {
    const settings = this.settings.read(vscode.Uri.file(item.input));
    const model = describeModels(
      specModels(
        spec,
        spec.model ?? (settings.defaultModel || this.client.initializeResult?.defaultModel || 'default model'),
      ),
    );
    const panel = settings.livePreview
      ? await PreviewPanel.show(this.context, { input: item.input, model })
      : undefined;
    const controller = new AbortController();
    this.controllers.add(controller);
    const file = path.basename(item.input);
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Upscaling ${file}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          const shown = new NotificationProgress(progress, (p, e) => ({
            message: progressMessage(p, undefined, e),
            fraction: e.fraction,
          }));
          try {
            shown.say('starting the daemon…', 0);
            await fs.mkdir(item.outputFolder, { recursive: true });
            return await this.client.upscale(
              upscaleParams(
                item.input,
                item.outputFolder,
                spec,
                settings,
                panel ? { previewWidth: PREVIEW_WIDTH } : {},
              ),
              {
                signal: controller.signal,
                onProgress: (p) => {
                  const estimate = shown.update(p);
                  panel?.progress(p, estimate);
                },
              },
            );
          } finally {
            await shown.close();
          }
        },
      );
      panel?.complete(result);
      this.log.info(`upscaled ${describeResult(result)}; ${describeRunsOn(result)}`);
      for (const w of result.warnings) this.log.warn(`${item.input}: ${w}`);
      void this.offerResult(result, panel !== undefined);
    } catch (e) {
      const message = (e as Error).message;
      panel?.fail(message);
      if (isCancelled(e) || controller.signal.aborted) {
        this.log.info(`cancelled: ${item.input}`);
        void vscode.window.showInformationMessage(`Upscale cancelled: ${file}; no file was written.`);
        return;
      }
      this.log.error(`failed: ${item.input}: ${message}`);
      void this.offerLog(`Upscale failed for ${file}: ${message}`);
    } finally {
      this.controllers.delete(controller);
    }
  }

  /** Several images, one notification; a failure is reported and the batch goes on. */
  async runBatch(items: readonly BatchItem[], spec: JobSpec, title: string): Promise<void> {
    if (items.length === 1 && items[0]) return this.runOne(items[0], spec);
    const controller = new AbortController();
    this.controllers.add(controller);
    const done: UpscaleResult[] = [];
    const failed: string[] = [];
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          let index = 0;
          const shown = new NotificationProgress(progress, (p, e) => ({
            message: `${index + 1} of ${items.length}: ${progressMessage(p, items[index]?.input, e)}`,
            fraction: batchFraction(index, items.length, e.fraction),
          }));
          try {
            for (const [i, item] of items.entries()) {
              if (controller.signal.aborted) break;
              index = i;
              shown.say(`${i + 1} of ${items.length}: ${path.basename(item.input)}`, batchFraction(i, items.length, 0));
              const settings = this.settings.read(vscode.Uri.file(item.input));
              try {
                await fs.mkdir(item.outputFolder, { recursive: true });
                const r = await this.client.upscale(upscaleParams(item.input, item.outputFolder, spec, settings), {
                  signal: controller.signal,
                  onProgress: (p) => shown.update(p),
                });
                done.push(r);
                this.log.info(`upscaled ${describeResult(r)}; ${describeRunsOn(r)}`);
              } catch (e) {
                if (isCancelled(e) || controller.signal.aborted) break;
                failed.push(item.input);
                this.log.error(`failed: ${item.input}: ${(e as Error).message}`);
              }
            }
          } finally {
            await shown.close();
          }
        },
      );
    } finally {
      this.controllers.delete(controller);
    }
    const cancelled = controller.signal.aborted
      ? `; cancelled after ${done.length + failed.length} of ${items.length}`
      : '';
    const summary = `Upscaled ${done.length} of ${items.length} images${
      failed.length
        ? `; ${failed.length} failed (${failed
            .map((f) => path.basename(f))
            .slice(0, 3)
            .join(', ')}${failed.length > 3 ? ', …' : ''})`
        : ''
    }${cancelled}.`;
    if (failed.length > 0) {
      void this.offerLog(summary);
      return;
    }
    const last = done[done.length - 1];
    const choice = await vscode.window.showInformationMessage(summary, ...(last ? ['Reveal in Explorer'] : []));
    if (choice && last) await this.reveal(last.outputPath);
  }

  private async offerResult(result: UpscaleResult, previewShown: boolean): Promise<void> {
    const actions = ['Open', 'Reveal in Explorer', ...(previewShown ? [] : ['Compare'])];
    const choice = await vscode.window.showInformationMessage(`Upscaled ${describeResult(result)}`, ...actions);
    const uri = vscode.Uri.file(result.outputPath);
    if (choice === 'Open') await vscode.commands.executeCommand('vscode.open', uri);
    else if (choice === 'Reveal in Explorer') await this.reveal(result.outputPath);
    else if (choice === 'Compare') {
      const panel = await PreviewPanel.show(this.context, {
        input: result.input,
        model: result.model,
        outputPath: result.outputPath,
      });
      panel.complete(result);
    }
  }

  /** The Explorer when the file is in the workspace, else the system's file manager. */
  private async reveal(file: string): Promise<void> {
    const uri = vscode.Uri.file(file);
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    else await vscode.commands.executeCommand('revealFileInOS', uri);
  }

  private async offerLog(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'Show Log');
    if (choice) await vscode.commands.executeCommand(COMMAND_IDS.showLog);
  }

  dispose(): void {
    this.cancelAll();
  }
}
