// Runs upscale jobs for the commands: one cancellable progress notification per job or
// batch, the live preview panel when wanted, and the notification at the end (Open,
// Reveal in Explorer, Compare; or what failed, with Show Log).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { UpscaleResult } from '../contract/protocol';
import type { BatchItem } from './batch';
import type { DaemonClient } from './client';
import { isCancelled } from '../contract/errors';
import { COMMAND_IDS } from './contributions';
import { describeResult, upscaleParams, type JobSpec } from './job-params';
import { batchFraction, jobFraction, progressMessage, ProgressMeter } from './progress-text';
import type { SettingsReader } from './settings';
import { PREVIEW_WIDTH, PreviewPanel } from './preview/panel';

/** Once the user has clicked Compare, later single jobs open the preview live. */
const COMPARE_USED_KEY = 'upscale.compareUsed';

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

  private wantsLivePreview(): boolean {
    return (
      this.settings.read().openPreviewOnCompletion || this.context.globalState.get<boolean>(COMPARE_USED_KEY, false)
    );
  }

  /** One image, with its own notification. */
  async runOne(item: BatchItem, spec: JobSpec): Promise<void> {
    const settings = this.settings.read(vscode.Uri.file(item.input));
    const live = this.wantsLivePreview();
    const model =
      spec.model ?? (settings.defaultModel || this.client.initializeResult?.defaultModel || 'default model');
    const panel = live ? PreviewPanel.show(this.context, { input: item.input, model }) : undefined;
    const controller = new AbortController();
    this.controllers.add(controller);
    const file = path.basename(item.input);
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Upscaling ${file}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          const meter = new ProgressMeter();
          progress.report({ message: 'starting the daemon…' });
          await fs.mkdir(item.outputFolder, { recursive: true });
          return this.client.upscale(
            upscaleParams(item.input, item.outputFolder, spec, settings, panel ? { previewWidth: PREVIEW_WIDTH } : {}),
            {
              signal: controller.signal,
              onProgress: (p) => {
                panel?.progress(p);
                progress.report({ message: progressMessage(p), increment: meter.advanceTo(jobFraction(p)) });
              },
            },
          );
        },
      );
      panel?.complete(result);
      this.log.info(`upscaled ${describeResult(result)}`);
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
          const meter = new ProgressMeter();
          for (const [i, item] of items.entries()) {
            if (controller.signal.aborted) break;
            const prefix = `${i + 1} of ${items.length}`;
            progress.report({
              message: `${prefix}: ${path.basename(item.input)}`,
              increment: meter.advanceTo(batchFraction(i, items.length, 0)),
            });
            const settings = this.settings.read(vscode.Uri.file(item.input));
            try {
              await fs.mkdir(item.outputFolder, { recursive: true });
              const r = await this.client.upscale(upscaleParams(item.input, item.outputFolder, spec, settings), {
                signal: controller.signal,
                onProgress: (p) =>
                  progress.report({
                    message: `${prefix}: ${progressMessage(p, item.input)}`,
                    increment: meter.advanceTo(batchFraction(i, items.length, jobFraction(p))),
                  }),
              });
              done.push(r);
              this.log.info(`upscaled ${describeResult(r)}`);
            } catch (e) {
              if (isCancelled(e) || controller.signal.aborted) break;
              failed.push(item.input);
              this.log.error(`failed: ${item.input}: ${(e as Error).message}`);
            }
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
      await this.context.globalState.update(COMPARE_USED_KEY, true);
      PreviewPanel.show(this.context, {
        input: result.input,
        model: result.model,
        outputPath: result.outputPath,
      }).complete(result);
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
