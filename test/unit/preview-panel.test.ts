// The panel's message handling against a stand-in for the `vscode` module: it acts only on
// paths it was given, the save destination comes from the dialog, hostile messages do
// nothing, a reloaded webview gets everything replayed; and where panels open: one per
// image, in the previews' column, else beside the image in a column of usable width.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as PanelModule from '../../extension/preview/panel';
import type { ProgressParams, UpscaleResult } from '../../contract/protocol';

class FakeUri {
  constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query = '',
  ) {}
  static file(path: string): FakeUri {
    return new FakeUri('file', path);
  }
  static joinPath(base: FakeUri, ...parts: string[]): FakeUri {
    return new FakeUri(base.scheme, [base.path, ...parts].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  with(change: { query?: string }): FakeUri {
    return new FakeUri(this.scheme, this.path, change.query ?? this.query);
  }
  toString(): string {
    return `${this.scheme}://${this.path}${this.query ? `?${this.query}` : ''}`;
  }
}

type Listener = (value: unknown) => unknown;
interface FakeWebview {
  html: string;
  options: { localResourceRoots?: FakeUri[]; enableScripts?: boolean; retainContextWhenHidden?: boolean };
  cspSource: string;
  posted: unknown[];
  listeners: Listener[];
  htmlLoads: number;
}

const calls = {
  commands: [] as [string, ...unknown[]][],
  saveDialogs: 0,
  copies: [] as [string, string][],
  created: [] as { options: object; column: unknown }[],
  reveals: [] as (number | undefined)[],
};
let saveDialogAnswer: FakeUri | undefined;
const panels: {
  webview: FakeWebview;
  visible: boolean;
  disposeListeners: Listener[];
  title: string;
  viewColumn: number;
  dispose(): void;
}[] = [];

interface Serializer {
  deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void>;
}
const serializers: Serializer[] = [];

class TabInputCustom {
  constructor(readonly uri: FakeUri) {}
}
class TabInputText {
  constructor(readonly uri: FakeUri) {}
}
/** What `vscode.getEditorLayout` answers, and the groups: each with the files its tabs show. */
const editor = {
  layout: { orientation: 0, groups: [{ size: 1100 }] } as unknown,
  groups: [{ files: [] as string[] }],
  active: 1,
};

function makePanel(title: string, options: FakeWebview['options'], viewColumn: number) {
  let html = '';
  const webview: FakeWebview & Record<string, unknown> = {
    posted: [],
    listeners: [],
    htmlLoads: 0,
    cspSource: 'https://csp.example',
    options,
    get html() {
      return html;
    },
    set html(value: string) {
      html = value;
      webview.htmlLoads++;
    },
    asWebviewUri: (uri: FakeUri) => new FakeUri('https', `webview${uri.path}`),
    postMessage: async (m: unknown) => {
      webview.posted.push(m);
      return true;
    },
    onDidReceiveMessage: (listener: Listener) => {
      webview.listeners.push(listener);
      return { dispose() {} };
    },
  };
  const panel = {
    webview,
    visible: true,
    title,
    viewColumn,
    disposeListeners: [] as Listener[],
    onDidDispose: (listener: Listener) => {
      panel.disposeListeners.push(listener);
      return { dispose() {} };
    },
    reveal: (column?: number) => {
      calls.reveals.push(column);
    },
    dispose: () => panel.disposeListeners.forEach((l) => l(undefined)),
  };
  panels.push(panel);
  return panel;
}

const fakeVscode = {
  Uri: FakeUri,
  TabInputCustom,
  TabInputText,
  ViewColumn: { Beside: -2 },
  UIKind: { Desktop: 1, Web: 2 },
  env: { uiKind: 1, remoteName: undefined },
  Disposable: class {
    constructor(readonly dispose: () => void) {}
  },
  window: {
    createWebviewPanel: (
      _type: string,
      title: string,
      column: { viewColumn: number },
      options: FakeWebview['options'],
    ) => {
      calls.created.push({ options, column });
      // Beside: a new group right of the active one, as VS Code would.
      return makePanel(title, options, column.viewColumn === -2 ? editor.active + 1 : column.viewColumn);
    },
    get tabGroups() {
      const all = editor.groups.map((g, i) => ({
        viewColumn: i + 1,
        isActive: i + 1 === editor.active,
        tabs: g.files.map((f) => ({ input: new TabInputCustom(FakeUri.file(f)) })),
        activeTab: g.files[0] === undefined ? undefined : { input: new TabInputCustom(FakeUri.file(g.files[0])) },
      }));
      return { all, activeTabGroup: all[editor.active - 1] };
    },
    registerWebviewPanelSerializer: (_type: string, serializer: Serializer) => {
      serializers.push(serializer);
      return { dispose() {} };
    },
    showSaveDialog: async () => {
      calls.saveDialogs++;
      return saveDialogAnswer;
    },
    showInformationMessage: async () => undefined,
    showErrorMessage: async () => undefined,
  },
  commands: {
    executeCommand: async (command: string, ...args: unknown[]) => {
      if (command === 'vscode.getEditorLayout') return editor.layout;
      calls.commands.push([command, ...args]);
    },
  },
  workspace: {
    fs: {
      copy: async (from: FakeUri, to: FakeUri) => {
        calls.copies.push([from.path, to.path]);
      },
    },
  },
};

// Serve the stand-in wherever `require('vscode')` is called.
const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const originalLoad = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? fakeVscode : originalLoad.call(this, request, ...rest);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PreviewPanel, registerPreviewSerializer } = require('../../extension/preview/panel') as typeof PanelModule;

const folder = mkdtempSync(join(tmpdir(), 'upscale-panel-'));
const input = join(folder, 'cat.png');
const output = join(folder, 'out', 'cat@4x.png');
writeFileSync(input, 'png');
const context = { extensionUri: new FakeUri('file', '/ext') } as unknown as Parameters<typeof PreviewPanel.show>[0];

const progress = (done: number, preview = true): ProgressParams => ({
  jobId: 'j1',
  requestId: 1,
  stage: 'infer',
  pass: 1,
  passes: 1,
  done,
  total: 4,
  tile: { x: 0, y: 0, width: 64, height: 64 },
  passWidth: 128,
  passHeight: 128,
  ...(preview && { preview: { png: 'iVBORw0KGgo=', rect: { x: 0, y: 0, width: 32, height: 32 }, scale: 0.5 } }),
});
const result: UpscaleResult = {
  jobId: 'j1',
  input,
  outputPath: output,
  width: 128,
  height: 128,
  inputWidth: 32,
  inputHeight: 32,
  model: 'm',
  passes: 1,
  provider: 'cpu',
  providerReason: 'cpu was requested',
  precision: 'fp32',
  precisionReason: 'the CPU runs fp32',
  tile: 64,
  overlap: 8,
  timings: { decodeMs: 1, inferMs: 2, encodeMs: 3, totalMs: 6 },
  warnings: [],
};
const send = async (panel: (typeof panels)[number], message: unknown) => {
  for (const l of panel.webview.listeners) await l(message);
};
const types = (posted: unknown[]) => posted.map((m) => (m as { type: string }).type);

test('the panel opens beside the editor with scripts on, narrow resource roots and no retained context', async () => {
  editor.groups = [{ files: [input] }];
  await PreviewPanel.show(context, { input, model: 'm' });
  const created = calls.created[0];
  assert.ok(created);
  assert.deepEqual(created.column, { viewColumn: -2, preserveFocus: true });
  const options = created.options as FakeWebview['options'];
  assert.equal(options.enableScripts, true);
  assert.equal(options.retainContextWhenHidden, undefined);
  assert.deepEqual(
    options.localResourceRoots?.map((u) => u.path),
    ['/ext/dist', '/ext/media', folder],
  );
  const panel = panels[0];
  assert.ok(panel);
  assert.match(panel.webview.html, /Content-Security-Policy/);
});

test('hostile messages do nothing; actions use only the paths the panel knows', async () => {
  const panel = panels[0];
  assert.ok(panel);
  const job = await PreviewPanel.show(context, { input, model: 'm' });
  assert.equal(calls.created.length, 1, 'the same image reuses its panel');
  await send(panel, { type: 'saveAs' }); // no result yet: nothing to save
  assert.equal(calls.saveDialogs, 0);
  job.progress(progress(1));
  job.complete(result);
  // The output folder joined the roots when the result named it.
  assert.ok(panel.webview.options.localResourceRoots?.some((u) => u.path === join(folder, 'out')));
  const before = { commands: calls.commands.length, dialogs: calls.saveDialogs };
  for (const hostile of [
    { type: 'saveAs', path: '/etc/passwd' },
    { type: 'reveal', path: '/etc' },
    { type: 'upscaleAgain', input: '/x.png' },
    { type: 'rm' },
    'saveAs',
    null,
  ]) {
    await send(panel, hostile);
  }
  assert.deepEqual({ commands: calls.commands.length, dialogs: calls.saveDialogs }, before);

  await send(panel, { type: 'reveal' });
  assert.deepEqual(calls.commands.at(-1)?.slice(0, 1), ['revealFileInOS']);
  assert.equal((calls.commands.at(-1)?.[1] as FakeUri).path, output);
  await send(panel, { type: 'upscaleAgain' });
  assert.equal(calls.commands.at(-1)?.[0], 'upscale.upscaleImageWith');
  assert.equal((calls.commands.at(-1)?.[1] as FakeUri).path, input);

  saveDialogAnswer = FakeUri.file('/chosen/by/user.png');
  await send(panel, { type: 'saveAs' });
  assert.deepEqual(calls.copies.at(-1), [output, '/chosen/by/user.png']);
  saveDialogAnswer = undefined; // cancelled dialog: no copy
  const copies = calls.copies.length;
  await send(panel, { type: 'saveAs' });
  assert.equal(calls.copies.length, copies);
});

test('a reloaded webview gets init and the tiles so far; a newer job silences the older handle', async () => {
  const panel = panels[0];
  assert.ok(panel);
  const first = await PreviewPanel.show(context, { input, model: 'm' });
  first.progress(progress(1));
  first.progress(progress(2));
  first.progress(progress(2, false));
  panel.webview.posted.length = 0;
  await send(panel, { type: 'ready' });
  assert.deepEqual(types(panel.webview.posted), ['init', 'progress', 'progress', 'progress']);
  const init = panel.webview.posted[0] as { job: { originalUri: string } };
  assert.equal(init.job.originalUri, `https://webview${input}`);

  // Hidden: nothing is posted (it would be lost), but it is kept for the next ready.
  panel.visible = false;
  panel.webview.posted.length = 0;
  first.progress(progress(3));
  assert.equal(panel.webview.posted.length, 0);
  panel.visible = true;

  const second = await PreviewPanel.show(context, { input, model: 'other' });
  panel.webview.posted.length = 0;
  first.progress(progress(4));
  first.complete(result);
  assert.equal(panel.webview.posted.length, 0, 'the older job is quiet');
  second.fail('Out of memory');
  assert.deepEqual(types(panel.webview.posted), ['failed']);
});

test('the replayed counts carry the estimate moved on by the time the panel was hidden', async () => {
  const panel = panels[0];
  assert.ok(panel);
  const job = await PreviewPanel.show(context, { input, model: 'm' });
  job.progress(progress(1), { fraction: 0.25, leftMs: 60_000 });
  panel.webview.posted.length = 0;
  await send(panel, { type: 'ready' });
  const last = panel.webview.posted.at(-1) as { progress: { estimate?: { fraction: number; leftMs?: number } } };
  const e = last.progress.estimate;
  assert.ok(e && e.leftMs !== undefined, 'an estimate is replayed');
  assert.ok(e.fraction >= 0.25 && e.leftMs <= 60_000, JSON.stringify(e));
  job.fail('stopped');
});

test('another image gets a panel of its own, in the column the previews use; the first stays open', async () => {
  const other = join(folder, 'dog.png');
  writeFileSync(other, 'png');
  const before = calls.created.length;
  const firstColumn = panels[0]?.viewColumn;
  assert.equal(firstColumn, 2, 'the first panel went beside the image');
  editor.layout = { orientation: 0, groups: [{ size: 550 }, { size: 550 }] };
  editor.groups = [{ files: [input] }, { files: [] }];
  await PreviewPanel.show(context, { input: other, model: 'm' });
  assert.equal(calls.created.length, before + 1);
  assert.deepEqual(calls.created.at(-1)?.column, { viewColumn: firstColumn, preserveFocus: true });
  assert.equal(panels.at(-1)?.title, 'Upscale: dog.png');
  assert.equal(panels[0]?.title, 'Upscale: cat.png');
  for (const p of panels) p.dispose();
});

test('with no preview open, the image in the right of two 690 px columns: the left column, not a third of 345 px', async () => {
  const shot = join(folder, 'shot.png');
  writeFileSync(shot, 'png');
  editor.layout = { orientation: 0, groups: [{ size: 690 }, { size: 690 }] };
  editor.groups = [{ files: [] }, { files: [shot] }];
  editor.active = 2;
  await PreviewPanel.show(context, { input: shot, model: 'm' });
  assert.deepEqual(calls.created.at(-1)?.column, { viewColumn: 1, preserveFocus: true });
  panels.at(-1)?.dispose();
  // One group of 900 px: halves would be 450 px, so the preview is a tab beside the image.
  editor.layout = { orientation: 0, groups: [{ size: 900 }] };
  editor.groups = [{ files: [shot] }];
  editor.active = 1;
  await PreviewPanel.show(context, { input: shot, model: 'm' });
  assert.deepEqual(calls.created.at(-1)?.column, { viewColumn: 1, preserveFocus: true });
  panels.at(-1)?.dispose();
});

test("a new column of unknown width that comes out under 480 px: the panel moves into the image's group", async () => {
  const pic = join(folder, 'pic.png');
  writeFileSync(pic, 'png');
  // One group: VS Code reports it as a stack of one, sized by its height.
  editor.layout = { orientation: 1, groups: [{ size: 835 }] };
  editor.groups = [{ files: [pic] }];
  editor.active = 1;
  await PreviewPanel.show(context, { input: pic, model: 'm' });
  assert.deepEqual(calls.created.at(-1)?.column, { viewColumn: -2, preserveFocus: true });
  const panel = panels.at(-1);
  assert.ok(panel);
  calls.reveals.length = 0;
  for (const hostile of [
    { type: 'width', width: 'narrow' },
    { type: 'width', width: -1 },
    { type: 'width', width: 300, x: 1 },
  ])
    await send(panel, hostile);
  assert.deepEqual(calls.reveals, [], 'malformed widths do nothing');
  await send(panel, { type: 'width', width: 410 });
  assert.deepEqual(calls.reveals, [1]);
  // Only the first report counts: the user may make the column narrow later.
  await send(panel, { type: 'width', width: 300 });
  assert.deepEqual(calls.reveals, [1]);
  panel.dispose();
  // Wide enough: it stays.
  await PreviewPanel.show(context, { input: pic, model: 'm' });
  const wide = panels.at(-1);
  assert.ok(wide);
  await send(wide, { type: 'width', width: 540 });
  assert.deepEqual(calls.reveals, [1]);
  wide.dispose();
});

test("panels restored after a reload are each their image's panel again", async () => {
  registerPreviewSerializer(context);
  const serializer = serializers.at(-1);
  assert.ok(serializer);
  const restoredPanels = ['cat.png', 'owl.png'].map((name) => {
    const file = join(folder, name);
    writeFileSync(file, 'png');
    return { file, panel: makePanel('Upscale', {}, 2) };
  });
  for (const { file, panel } of restoredPanels)
    await serializer.deserializeWebviewPanel(panel, {
      version: 1,
      job: { input: file, model: 'm' },
      view: { fitted: true, zoom: 1, panX: 0, panY: 0 },
      mode: 'side',
      split: 0.5,
    });
  assert.deepEqual(
    restoredPanels.map(({ panel }) => panel.title),
    ['Upscale: cat.png', 'Upscale: owl.png'],
  );
  const created = calls.created.length;
  calls.reveals.length = 0;
  await PreviewPanel.show(context, { input: join(folder, 'owl.png'), model: 'm' });
  assert.equal(calls.created.length, created, 'a new job on a restored image takes its panel');
  assert.deepEqual(calls.reveals, [2]);
  for (const { panel } of restoredPanels) panel.dispose();
});
