// The panel's message handling against a stand-in for the `vscode` module: it acts only on
// paths it was given, the save destination comes from the dialog, hostile messages do
// nothing, and a reloaded webview gets everything replayed.
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
};
let saveDialogAnswer: FakeUri | undefined;
const panels: { webview: FakeWebview; visible: boolean; disposeListeners: Listener[]; title: string }[] = [];

function makePanel(title: string, options: FakeWebview['options']) {
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
    disposeListeners: [] as Listener[],
    onDidDispose: (listener: Listener) => {
      panel.disposeListeners.push(listener);
      return { dispose() {} };
    },
    reveal: () => undefined,
    dispose: () => panel.disposeListeners.forEach((l) => l(undefined)),
  };
  panels.push(panel);
  return panel;
}

const fakeVscode = {
  Uri: FakeUri,
  ViewColumn: { Beside: -2 },
  UIKind: { Desktop: 1, Web: 2 },
  env: { uiKind: 1, remoteName: undefined },
  Disposable: class {
    constructor(readonly dispose: () => void) {}
  },
  window: {
    createWebviewPanel: (_type: string, title: string, column: unknown, options: FakeWebview['options']) => {
      calls.created.push({ options, column });
      return makePanel(title, options);
    },
    registerWebviewPanelSerializer: () => ({ dispose() {} }),
    showSaveDialog: async () => {
      calls.saveDialogs++;
      return saveDialogAnswer;
    },
    showInformationMessage: async () => undefined,
    showErrorMessage: async () => undefined,
  },
  commands: {
    executeCommand: async (command: string, ...args: unknown[]) => {
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
const { PreviewPanel } = require('../../extension/preview/panel') as typeof PanelModule;

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
  tile: 64,
  overlap: 8,
  timings: { decodeMs: 1, inferMs: 2, encodeMs: 3, totalMs: 6 },
  warnings: [],
};
const send = async (panel: (typeof panels)[number], message: unknown) => {
  for (const l of panel.webview.listeners) await l(message);
};
const types = (posted: unknown[]) => posted.map((m) => (m as { type: string }).type);

test('the panel opens beside the editor with scripts on, narrow resource roots and no retained context', () => {
  PreviewPanel.show(context, { input, model: 'm' });
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
  const job = PreviewPanel.show(context, { input, model: 'm' });
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
  const first = PreviewPanel.show(context, { input, model: 'm' });
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

  const second = PreviewPanel.show(context, { input, model: 'other' });
  panel.webview.posted.length = 0;
  first.progress(progress(4));
  first.complete(result);
  assert.equal(panel.webview.posted.length, 0, 'the older job is quiet');
  second.fail('Out of memory');
  assert.deepEqual(types(panel.webview.posted), ['failed']);
});
