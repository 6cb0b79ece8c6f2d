// A stand-in for the `vscode` module, for running the extension's thin vscode layer under
// node:test where no VS Code can be downloaded. It records what the extension shows
// (messages, progress, status bar, log) and answers its questions through `respond`.
// It covers the API the extension calls; anything else is a harmless no-op, so the
// preview panel (another module) can load. Real VS Code runs in test/desktop/run.ts.
import Module from 'node:module';

export interface Shown {
  readonly kind: 'info' | 'warning' | 'error' | 'quickPick' | 'inputBox' | 'openDialog';
  readonly text: string;
  readonly items: readonly unknown[];
}

export interface ProgressRecord {
  readonly title: string;
  readonly reports: { message?: string; increment?: number }[];
  cancel(): void;
}

export interface FakeVscode {
  readonly commands: Map<string, (...args: unknown[]) => unknown>;
  readonly executed: { id: string; args: unknown[] }[];
  readonly shown: Shown[];
  readonly progress: ProgressRecord[];
  readonly log: string[];
  readonly statusBar: { text: string; tooltip: string };
  readonly config: Record<string, unknown>;
  /** Answers a message (an item label), quick pick (an item), input box or dialog; undefined = dismissed. */
  respond: (shown: Shown) => unknown;
  /** Called as each progress notification starts, so a test can cancel it. */
  onProgress: (p: ProgressRecord) => void;
  readonly module: Record<string, unknown>;
  /** Forgets what was recorded and registered (modules that imported vscode keep this fake). */
  reset(): void;
  uninstall(): void;
}

/** Callable, indexable, never a thenable: whatever is asked of it, it answers with itself. */
function anything(): unknown {
  const target = function () {
    /* no-op */
  };
  const proxy: unknown = new Proxy(target, {
    get: (_t, key) => (key === 'then' ? undefined : key === Symbol.toPrimitive ? () => '' : proxy),
    apply: () => proxy,
    construct: () => proxy as object,
  });
  return proxy;
}

function withFallback<T extends object>(known: T): T {
  return new Proxy(known, {
    get: (t, key) =>
      key in t ? (t as Record<string | symbol, unknown>)[key] : key === 'then' ? undefined : anything(),
  });
}

class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...ds: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

class Uri {
  readonly scheme: string;
  readonly fsPath: string;
  readonly path: string;
  private constructor(scheme: string, p: string) {
    this.scheme = scheme;
    this.fsPath = p;
    this.path = p;
  }
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static parse(s: string): Uri {
    const m = /^([a-z-]+):\/\/(.*)$/.exec(s);
    return m ? new Uri(m[1] as string, m[2] as string) : new Uri('file', s);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  with(): Uri {
    return this;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

class TabInputCustom {
  constructor(
    readonly uri: Uri,
    readonly viewType: string,
  ) {}
}
class TabInputText {
  constructor(readonly uri: Uri) {}
}
class ThemeColor {
  constructor(readonly id: string) {}
}
class EventEmitter<T> {
  private readonly listeners = new Set<(e: T) => void>();
  readonly event = (l: (e: T) => void) => {
    this.listeners.add(l);
    return new Disposable(() => this.listeners.delete(l));
  };
  fire(e: T): void {
    for (const l of this.listeners) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export function installFakeVscode(): FakeVscode {
  const fake: FakeVscode = {
    commands: new Map(),
    executed: [],
    shown: [],
    progress: [],
    log: [],
    statusBar: { text: '', tooltip: '' },
    config: {},
    respond: () => undefined,
    onProgress: () => undefined,
    module: {},
    reset: () => {
      fake.commands.clear();
      fake.executed.length = 0;
      fake.shown.length = 0;
      fake.progress.length = 0;
      fake.log.length = 0;
      for (const k of Object.keys(fake.config)) delete fake.config[k];
      fake.respond = () => undefined;
      fake.onProgress = () => undefined;
    },
    uninstall: () => undefined,
  };
  const ask = (kind: Shown['kind'], text: string, items: readonly unknown[]) => {
    const shown: Shown = { kind, text, items };
    fake.shown.push(shown);
    return Promise.resolve(fake.respond(shown));
  };
  const channel = (name: string) =>
    withFallback({
      name,
      ...Object.fromEntries(
        ['trace', 'debug', 'info', 'warn', 'error'].map((level) => [
          level,
          (m: string) => fake.log.push(`${level}: ${m}`),
        ]),
      ),
      appendLine: (m: string) => fake.log.push(m),
      append: (m: string) => fake.log.push(m),
      show: () => fake.executed.push({ id: '<show log>', args: [name] }),
      dispose: () => undefined,
    });
  const statusItem = () => {
    const item = {
      show: () => undefined,
      hide: () => undefined,
      dispose: () => undefined,
      set text(t: string) {
        fake.statusBar.text = t;
      },
      get text() {
        return fake.statusBar.text;
      },
      set tooltip(t: string) {
        fake.statusBar.tooltip = t;
      },
      get tooltip() {
        return fake.statusBar.tooltip;
      },
    };
    return item;
  };
  const configuration = () =>
    withFallback({
      get: <T>(key: string, fallback?: T) => (key in fake.config ? fake.config[key] : fallback),
      update: async (key: string, value: unknown) => {
        fake.config[key] = value;
      },
      has: (key: string) => key in fake.config,
      inspect: () => undefined,
    });
  const vscode = withFallback({
    Uri,
    Disposable,
    TabInputCustom,
    TabInputText,
    ThemeColor,
    EventEmitter,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    InputBoxValidationSeverity: { Info: 1, Warning: 2, Error: 3 },
    ViewColumn: { Active: -1, Beside: -2, One: 1, Two: 2 },
    window: withFallback({
      createOutputChannel: (name: string) => channel(name),
      createStatusBarItem: () => statusItem(),
      showInformationMessage: (text: string, ...items: unknown[]) => ask('info', text, items),
      showWarningMessage: (text: string, ...items: unknown[]) => ask('warning', text, items),
      showErrorMessage: (text: string, ...items: unknown[]) => ask('error', text, items),
      showQuickPick: async (items: unknown, options?: { title?: string }) =>
        ask('quickPick', options?.title ?? '', await (items as Promise<unknown[]>)),
      showInputBox: (options?: { title?: string }) => ask('inputBox', options?.title ?? '', []),
      showOpenDialog: (options?: { openLabel?: string }) => ask('openDialog', options?.openLabel ?? '', []),
      withProgress: async <R>(options: { title?: string }, task: (p: unknown, t: unknown) => Promise<R>) => {
        const cancelListeners: (() => void)[] = [];
        const record: ProgressRecord = {
          title: options.title ?? '',
          reports: [],
          cancel: () => cancelListeners.forEach((l) => l()),
        };
        fake.progress.push(record);
        fake.onProgress(record);
        return task(
          { report: (r: { message?: string; increment?: number }) => record.reports.push(r) },
          {
            isCancellationRequested: false,
            onCancellationRequested: (l: () => void) => (cancelListeners.push(l), new Disposable()),
          },
        );
      },
      tabGroups: { activeTabGroup: { activeTab: undefined }, all: [] },
      registerWebviewPanelSerializer: () => new Disposable(),
    }),
    commands: withFallback({
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        fake.commands.set(id, fn);
        return new Disposable(() => fake.commands.delete(id));
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        fake.executed.push({ id, args });
        return fake.commands.get(id)?.(...args);
      },
      getCommands: async () => [...fake.commands.keys()],
    }),
    workspace: withFallback({
      getConfiguration: () => configuration(),
      onDidChangeConfiguration: () => new Disposable(),
      getWorkspaceFolder: () => undefined,
      workspaceFolders: undefined,
      isTrusted: true,
    }),
  });
  (fake as { module: Record<string, unknown> }).module = vscode;

  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = loader._load;
  loader._load = function (request: string, ...rest: unknown[]) {
    if (request === 'vscode') return vscode;
    return original.call(this, request, ...rest);
  };
  fake.uninstall = () => {
    loader._load = original;
  };
  return fake;
}

/** A minimal ExtensionContext: subscriptions, a path, and in-memory mementos. */
export function fakeContext(
  extensionPath: string,
): { subscriptions: { dispose(): unknown }[]; extensionPath: string } & Record<string, unknown> {
  const memento = () => {
    const values = new Map<string, unknown>();
    return {
      get: <T>(k: string, d?: T) => (values.has(k) ? values.get(k) : d),
      update: async (k: string, v: unknown) => void values.set(k, v),
      keys: () => [...values.keys()],
    };
  };
  return withFallback({
    subscriptions: [] as { dispose(): unknown }[],
    extensionPath,
    extensionUri: Uri.file(extensionPath),
    globalState: memento(),
    workspaceState: memento(),
  });
}
