// The command handlers: each gathers what the user means (the clicked files, the active
// image, a picker; a model and a target from quick picks) and hands the work to the
// JobRunner or the DaemonClient. Decisions live in the pure modules they call.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DownloadProgressParams, ModelInfo, ModelsImportResult } from '../contract/protocol';
import type { Activation, Target } from '../contract/vocabulary';
import { outputFolderOf, planFolder, planSelection, type BatchItem } from './batch';
import type { DaemonClient } from './client';
import { MAX_SCALE, SECTION } from './config';
import { COMMAND_IDS } from './contributions';
import { IMAGE_DIALOG_FILTERS, isImageFile, MODEL_DIALOG_FILTERS } from './images';
import type { JobRunner } from './job-runner';
import type { JobSpec } from './job-params';
import { activationRows, blendWeight, extraRows, modelRows, SCALE_CHOICES, scaleRows, ttaRows } from './model-picks';
import { isCancelled } from '../contract/errors';
import { isDownloadable, type CatalogueEntry } from '../contract/catalogue';
import {
  confirmationFor,
  COPY_URL,
  downloadFailureActions,
  downloadFailureMessage,
  downloadPickItems,
  manualDownloadMessage,
  downloadProgressIncrement,
  downloadProgressMessage,
  IMPORT_MODEL,
  OPEN_DOWNLOAD_PAGE,
} from './download-model';
import { outputNameOf } from './output-name';
import type { SettingsReader } from './settings';
import { describeTarget, parseTarget } from './target';
import { Requests } from '../contract/methods';

export interface CommandDeps {
  readonly client: DaemonClient;
  readonly runner: JobRunner;
  readonly settings: SettingsReader;
  readonly log: vscode.LogOutputChannel;
}

/** VS Code's own image viewer, whose tabs count as "the active image". */
const IMAGE_PREVIEW_VIEW_TYPE = 'imagePreview.previewEditor';

function isUri(x: unknown): x is vscode.Uri {
  return x instanceof vscode.Uri;
}

/**
 * The files a command was invoked on. The Explorer passes (clicked, allSelected); an
 * editor title passes (resource); the palette passes nothing.
 */
function urisFromArgs(first: unknown, second: unknown): vscode.Uri[] {
  if (Array.isArray(second) && second.length > 0 && second.every(isUri)) return second;
  return isUri(first) ? [first] : [];
}

function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType === IMAGE_PREVIEW_VIEW_TYPE) return input.uri;
  if (input instanceof vscode.TabInputText && isImageFile(input.uri.fsPath)) return input.uri;
  return undefined;
}

async function chooseImages(first: unknown, second: unknown): Promise<vscode.Uri[]> {
  const given = urisFromArgs(first, second);
  if (given.length > 0) return given;
  const active = activeImage();
  if (active) return [active];
  return (
    (await vscode.window.showOpenDialog({
      canSelectMany: true,
      filters: IMAGE_DIALOG_FILTERS,
      openLabel: 'Upscale',
    })) ?? []
  );
}

function localFiles(uris: readonly vscode.Uri[]): string[] {
  const remote = uris.filter((u) => u.scheme !== 'file');
  if (remote.length > 0) {
    void vscode.window.showWarningMessage(
      `Upscale works on files on disk; skipped ${remote.map((u) => u.toString()).join(', ')}.`,
    );
  }
  return uris.filter((u) => u.scheme === 'file').map((u) => u.fsPath);
}

export class UpscaleCommands {
  constructor(private readonly deps: CommandDeps) {}

  register(): vscode.Disposable[] {
    const r = (id: string, fn: (...args: unknown[]) => Promise<unknown>) =>
      vscode.commands.registerCommand(id, (...args: unknown[]) =>
        fn(...args).catch((e: unknown) => this.report(id, e)),
      );
    return [
      r(COMMAND_IDS.upscaleImage, (a, b) => this.upscaleImage(a, b)),
      r(COMMAND_IDS.upscaleImageWith, (a, b) => this.upscaleImageWith(a, b)),
      r(COMMAND_IDS.upscaleFolder, (a) => this.upscaleFolder(a)),
      r(COMMAND_IDS.importModel, () => this.importModel()),
      r(COMMAND_IDS.downloadModel, () => this.downloadModel()),
      r(COMMAND_IDS.chooseDefaultModel, () => this.chooseDefaultModel()),
      r(COMMAND_IDS.showModels, () => this.showModels()),
      r(COMMAND_IDS.restartDaemon, () => this.restartDaemon()),
      r(COMMAND_IDS.showLog, () => Promise.resolve(this.deps.log.show())),
      r(COMMAND_IDS.cancelAll, () => Promise.resolve(this.cancelAll())),
    ];
  }

  private async report(command: string, e: unknown): Promise<void> {
    const message = e instanceof Error ? e.message : String(e);
    this.deps.log.error(`${command}: ${message}`);
    const choice = await vscode.window.showErrorMessage(`Upscale: ${message}`, 'Show Log');
    if (choice) this.deps.log.show();
  }

  private plan(files: readonly string[]): readonly BatchItem[] {
    const { items, skipped } = planSelection(files, (input) =>
      outputFolderOf(input, this.deps.settings.read(vscode.Uri.file(input)).outputFolder),
    );
    for (const s of skipped) this.deps.log.info(`skipped ${s}`);
    if (items.length === 0 && files.length > 0) {
      void vscode.window.showWarningMessage(
        `Upscale reads png, jpg, webp, tif, avif, gif and bmp images; ${files.map((f) => path.basename(f)).join(', ')} ${files.length === 1 ? 'is not one' : 'are not'}.`,
      );
    }
    return items;
  }

  private async run(items: readonly BatchItem[], spec: JobSpec): Promise<void> {
    if (items.length === 0) return;
    if (items.length === 1 && items[0]) await this.deps.runner.runOne(items[0], spec);
    else
      await this.deps.runner.runBatch(items, spec, `Upscaling ${items.length} images (${describeTarget(spec.target)})`);
  }

  async upscaleImage(first: unknown, second: unknown): Promise<void> {
    const items = this.plan(localFiles(await chooseImages(first, second)));
    const settings = this.deps.settings.read();
    await this.run(items, { target: { kind: 'scale', scale: settings.defaultScale } });
  }

  async upscaleImageWith(first: unknown, second: unknown): Promise<void> {
    const items = this.plan(localFiles(await chooseImages(first, second)));
    const example = items[0];
    if (!example) return;
    const model = await this.pickModel('Upscale with which model?');
    if (!model) return;
    const target = await this.pickTarget(model, example);
    if (!target) return;
    const extras = await this.pickExtras(model);
    if (!extras) return;
    await this.run(items, { model: model.id, target, ...extras });
  }

  /** A restoration model first, a second model blended in, TTA: each optional; undefined when dismissed. */
  private async pickExtras(model: ModelInfo): Promise<Pick<JobSpec, 'before' | 'blend' | 'tta'> | undefined> {
    const picked = await vscode.window.showQuickPick(extraRows(), {
      title: `Combine ${model.name} with… (optional: press Enter for none)`,
      canPickMany: true,
    });
    if (!picked) return undefined;
    const wanted = new Set(picked.map((p) => p.extra));
    let before: string[] | undefined;
    if (wanted.has('restore')) {
      const restore = await this.pickModel('Restoration model to run first (1x)', (m) => m.scale === 1);
      if (!restore) return undefined;
      before = [restore.id];
    }
    let blend: JobSpec['blend'];
    if (wanted.has('blend')) {
      const second = await this.pickModel(`Second model to blend into ${model.name}`, (m) => m.id !== model.id);
      if (!second) return undefined;
      const text = await vscode.window.showInputBox({
        title: `Weight of ${second.name}`,
        prompt: `(1 - weight) x ${model.name} + weight x ${second.name}`,
        value: '0.5',
        validateInput: (value) => {
          const w = blendWeight(second.id, value);
          return w.ok ? undefined : w.problem;
        },
      });
      if (text === undefined) return undefined;
      const w = blendWeight(second.id, text);
      if (!w.ok) return undefined;
      blend = { model: second.id, weight: w.weight };
    }
    let tta: JobSpec['tta'];
    if (wanted.has('tta')) {
      const level = await vscode.window.showQuickPick(ttaRows(), { title: 'TTA: runs per tile' });
      if (!level) return undefined;
      tta = level.level;
    }
    return { ...(before && { before }), ...(blend && { blend }), ...(tta !== undefined && { tta }) };
  }

  private async pickModel(
    title: string,
    which: (m: ModelInfo) => boolean = () => true,
  ): Promise<ModelInfo | undefined> {
    const settings = this.deps.settings.read();
    const loaded = this.deps.client.listModels().then((all) => {
      if (all.length === 0)
        throw new Error('no models are installed: run "npm run setup-models", or Upscale: Import Model…');
      const models = all.filter(which);
      if (models.length === 0) throw new Error(`${title}: no installed model fits; Upscale: Import Model… adds one`);
      const defaultId = settings.defaultModel || this.deps.client.initializeResult?.defaultModel || '';
      return modelRows(models, defaultId).map((row) => ({
        ...row,
        model: models.find((m) => m.id === row.id) as ModelInfo,
      }));
    });
    const picked = await vscode.window.showQuickPick(loaded, {
      title,
      placeHolder: 'Model (family · scale · size)',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    return picked?.model;
  }

  private async pickTarget(model: ModelInfo, example: BatchItem): Promise<Target | undefined> {
    const settings = this.deps.settings.read(vscode.Uri.file(example.input));
    // The daemon names the result (a dry run: a plan only, nothing is written); a target it
    // refuses shows why instead.
    const nameFor = (target: Target): Promise<string> =>
      outputNameOf(this.deps.client, example, { model: model.id, target }, settings).catch(
        (e: unknown) => `not possible: ${e instanceof Error ? e.message : String(e)}`,
      );
    const rows = Promise.all(
      SCALE_CHOICES.map(async (scale) => [scale, await nameFor({ kind: 'scale', scale })] as const),
    )
      .then((names) => new Map<number, string>(names))
      .then((names) => scaleRows(model.scale, (scale) => names.get(scale) ?? ''));
    const picked = await vscode.window.showQuickPick(rows, {
      title: `Scale (${model.name}, x${model.scale})`,
      placeHolder: 'Scale factor, or Custom… for another factor or an exact size',
    });
    if (!picked) return undefined;
    if (picked.scale !== 'custom') return { kind: 'scale', scale: picked.scale };
    const text = await vscode.window.showInputBox({
      title: 'Custom scale or size',
      prompt: `A factor up to ${MAX_SCALE} (2.5, 6x) or a size in pixels: 1920x1080, 1920x (width), x1080 (height)`,
      placeHolder: '2.5 or 1920x1080',
      validateInput: async (value) => {
        const parsed = parseTarget(value);
        if (!parsed.ok) return { message: parsed.problem, severity: vscode.InputBoxValidationSeverity.Error };
        return {
          message: `${describeTarget(parsed.target)} → ${await nameFor(parsed.target)}`,
          severity: vscode.InputBoxValidationSeverity.Info,
        };
      },
    });
    if (text === undefined) return undefined;
    const parsed = parseTarget(text);
    return parsed.ok ? parsed.target : undefined;
  }

  async upscaleFolder(first: unknown): Promise<void> {
    let folder = isUri(first) ? first : undefined;
    folder ??= (
      await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Upscale Folder' })
    )?.[0];
    if (!folder) return;
    if (folder.scheme !== 'file') throw new Error(`${folder.toString()} is not a folder on disk`);
    const source = folder.fsPath;
    const recursive = await vscode.window.showQuickPick(
      [
        { label: 'This folder only', recursive: false },
        { label: 'This folder and its subfolders', recursive: true },
      ],
      { title: `Upscale the images in ${path.basename(source)}` },
    );
    if (!recursive) return;
    const suggested = path.join(source, 'upscaled');
    const where = await vscode.window.showQuickPick(
      [
        {
          label: `$(new-folder) ${path.basename(source)}/upscaled`,
          description: suggested,
          folder: suggested,
        },
        { label: '$(folder-opened) Choose a folder…', description: '', folder: undefined },
      ],
      { title: 'Output folder (subfolders are mirrored there)' },
    );
    if (!where) return;
    const outputFolder =
      where.folder ??
      (
        await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Output Here' })
      )?.[0]?.fsPath;
    if (!outputFolder) return;
    const plan = await planFolder({ folder: source, outputFolder, recursive: recursive.recursive });
    for (const s of plan.skipped) this.deps.log.info(`skipped ${s}`);
    if (plan.items.length === 0) {
      void vscode.window.showInformationMessage(
        `No images in ${source}${recursive.recursive ? ' or its subfolders' : ''}.`,
      );
      return;
    }
    const settings = this.deps.settings.read();
    const target: Target = { kind: 'scale', scale: settings.defaultScale };
    await this.deps.runner.runBatch(
      plan.items,
      { target },
      `Upscaling ${plan.items.length} images in ${path.basename(source)} (${describeTarget(target)})`,
    );
  }

  async importModel(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: MODEL_DIALOG_FILTERS,
      openLabel: 'Import Model',
    });
    const file = picked?.[0];
    if (!file) return;
    const name = path.basename(file.fsPath);
    let result = await this.importFile(file.fsPath, `Importing ${name}…`);
    if (result.model.activationSource === 'assumed') {
      // The weights cannot tell; the user may know. Imported again, the same file replaces its entry.
      const row = await vscode.window.showQuickPick(activationRows(), {
        title: `${name}: which activation was it trained with?`,
        placeHolder: 'The weights do not say (no PReLU slopes); ReLU is assumed unless you choose',
      });
      if (row) result = await this.importFile(file.fsPath, `Importing ${name} with ${row.label}…`, row.activation);
    }
    const { model, warnings } = result;
    this.deps.log.info(`imported ${file.fsPath} as ${model.id} (${model.family}, ${model.variant}, x${model.scale})`);
    for (const w of warnings) {
      this.deps.log.warn(w);
      void vscode.window.showWarningMessage(`Upscale: ${w}`);
    }
    const choice = await vscode.window.showInformationMessage(
      `Imported ${model.name}: ${model.family}, x${model.scale}.`,
      'Use as Default',
    );
    if (choice) await this.setDefaultModel(model.id);
  }

  private importFile(file: string, title: string, activation?: Activation): Thenable<ModelsImportResult> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
      this.deps.client.importModel({ path: file, activation }),
    );
  }

  /** Upscale: Download Model…: the catalogue of official releases (pure parts in download-model.ts). */
  async downloadModel(): Promise<void> {
    // The daemon reads the catalogue (the shipped one, or $UPSCALE_CATALOGUE) and knows what is installed.
    const installed = this.deps.client.listModels().then(
      (models) => models.map((m) => m.id),
      (): string[] => [],
    );
    const rows = Promise.all([this.deps.client.request(Requests.modelsCatalogue, {}), installed]).then(
      ([catalogue, ids]) =>
        downloadPickItems(catalogue, new Set(ids)).map((row) =>
          row.kind === 'separator'
            ? {
                label: row.label,
                kind: vscode.QuickPickItemKind.Separator,
                entry: undefined as CatalogueEntry | undefined,
              }
            : { label: row.label, description: row.description, detail: row.detail, entry: row.entry },
        ),
    );
    const picked = await vscode.window.showQuickPick(rows, {
      title: 'Download Model',
      placeHolder: 'Official releases (scale · size · license)',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    const entry = picked?.entry;
    if (!entry) return;
    if (!isDownloadable(entry)) {
      const choice = await vscode.window.showInformationMessage(
        manualDownloadMessage(entry),
        OPEN_DOWNLOAD_PAGE,
        IMPORT_MODEL,
      );
      await this.followDownloadAction(entry, choice);
      return;
    }
    const confirmation = confirmationFor(entry);
    if (confirmation) {
      const answer = await vscode.window.showWarningMessage(
        confirmation.message,
        { modal: true, detail: confirmation.detail },
        confirmation.button,
      );
      if (answer !== confirmation.button) return;
    }
    const proxy = vscode.workspace.getConfiguration('http').get<string>('proxy')?.trim();
    let result;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading ${entry.variant}`, cancellable: true },
        (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let last: DownloadProgressParams | undefined;
          return this.deps.client.downloadModel(
            { id: entry.id, ...(confirmation?.allowUnverified && { allowUnverified: true }), ...(proxy && { proxy }) },
            {
              signal: controller.signal,
              onProgress: (p) => {
                progress.report({ message: downloadProgressMessage(p), increment: downloadProgressIncrement(last, p) });
                last = p;
              },
            },
          );
        },
      );
    } catch (e) {
      if (isCancelled(e)) {
        void vscode.window.showInformationMessage(`Download of ${entry.variant} cancelled; nothing was kept.`);
        return;
      }
      const message = downloadFailureMessage(entry, e instanceof Error ? e.message : String(e));
      this.deps.log.error(`download ${entry.id}: ${message}`);
      const choice = await vscode.window.showErrorMessage(message, ...downloadFailureActions(entry));
      await this.followDownloadAction(entry, choice);
      return;
    }
    this.deps.log.info(
      `downloaded ${entry.id} (${result.bytes} bytes, sha256 ${result.sha256}${result.verified ? '' : ', unverified'})`,
    );
    const choice = await vscode.window.showInformationMessage(
      `${result.alreadyInstalled ? 'Already installed' : 'Downloaded'}: ${entry.variant} (x${result.model.scale}, ${result.model.license}) as ${result.model.id}.`,
      'Use as Default',
    );
    if (choice) await this.setDefaultModel(result.model.id);
  }

  /** What a button of the Download Model messages does (download-model.ts names them). */
  private async followDownloadAction(entry: CatalogueEntry, choice: string | undefined): Promise<void> {
    if (choice === OPEN_DOWNLOAD_PAGE && entry.manualUrl)
      await vscode.env.openExternal(vscode.Uri.parse(entry.manualUrl));
    else if (choice === COPY_URL && entry.url) await vscode.env.clipboard.writeText(entry.url);
    else if (choice === IMPORT_MODEL) await this.importModel();
  }

  private async setDefaultModel(id: string): Promise<void> {
    await vscode.workspace.getConfiguration(SECTION).update('defaultModel', id, vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage(`Upscale Image now uses ${id}.`);
  }

  async chooseDefaultModel(): Promise<void> {
    const model = await this.pickModel('Default model for Upscale Image');
    if (model) await this.setDefaultModel(model.id);
  }

  async showModels(): Promise<void> {
    const model = await this.pickModel('Upscale models (pick one for its details)');
    if (!model) return;
    const choice = await vscode.window.showInformationMessage(
      `${model.name} (${model.id}): ${model.family}, ${model.variant}, x${model.scale}; ${model.license}. ${model.credit}`,
      'Use as Default',
      'Load Now',
    );
    if (choice === 'Use as Default') await this.setDefaultModel(model.id);
    else if (choice === 'Load Now') {
      const r = await this.deps.client.request(Requests.modelsLoad, { id: model.id });
      void vscode.window.showInformationMessage(
        `${model.id} is loaded on ${r.provider}${r.cached ? ' (it already was)' : ` in ${(r.loadMs / 1000).toFixed(1)} s`}.`,
      );
    }
  }

  async restartDaemon(): Promise<void> {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Restarting the Upscale daemon' },
      () => this.deps.client.restart(),
    );
    void vscode.window.showInformationMessage(`Upscale daemon restarted: running models on ${r.activeProvider}.`);
  }

  cancelAll(): void {
    const n = this.deps.runner.cancelAll();
    void vscode.window.showInformationMessage(
      n > 0 ? `Cancelling ${n} Upscale job${n === 1 ? '' : 's'}.` : 'No Upscale jobs are running.',
    );
  }
}
