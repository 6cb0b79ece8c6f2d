// How the extension starts its daemon: which runtime, which script, which environment and
// which `initialize` parameters. Pure (the caller passes the facts about the host), so the
// Electron/plain-Node choice and the settings mapping are unit-tested.
import * as path from 'node:path';
import type { InitializeParams } from '../contract/params';
import { present } from '../contract/validate';
import type { UpscaleSettings } from './config';

export interface HostFacts {
  /** The extension's install folder (context.extensionPath). */
  readonly extensionPath: string;
  /** process.execPath: Electron in desktop VS Code, Node under code-server. */
  readonly execPath: string;
  /** True when execPath is Electron (process.versions.electron is set). */
  readonly isElectron: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly homedir: string;
  /** dist/models when the packaged extension carries the default model, else undefined. */
  readonly bundledModelsDir?: string;
  /** A private folder (mode 0700) to stand for XDG_RUNTIME_DIR when the editor's environment has no usable one. */
  readonly runtimeDir?: string;
}

export interface DaemonLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly initialize: InitializeParams;
}

/** The daemon script inside the extension (built by esbuild.mjs). */
export function daemonScript(extensionPath: string): string {
  return path.join(extensionPath, 'dist', 'upscale.js');
}

function expandHome(p: string, homedir: string): string {
  return p === '~' ? homedir : p.startsWith('~/') ? path.join(homedir, p.slice(2)) : p;
}

export function daemonLaunch(host: HostFacts, settings: UpscaleSettings): DaemonLaunch {
  const env: NodeJS.ProcessEnv = { ...host.env };
  // Electron runs a script as plain Node only with this set; without it, it opens a window.
  if (host.isElectron) env.ELECTRON_RUN_AS_NODE = '1';
  else delete env.ELECTRON_RUN_AS_NODE;
  // The .vsix carries the default model in dist/models. The daemon's cache (its measured
  // rates) stays in the user's cache folder, which outlives the extension's updates.
  if (host.bundledModelsDir !== undefined) env.UPSCALE_BUILTIN_DIR = host.bundledModelsDir;
  // Without it, the graphics libraries that probing a GPU loads (Mesa, through Dawn) print
  // "XDG_RUNTIME_DIR is invalid or not set" at every start: code-server and some remote
  // hosts start the editor without a login session.
  if (host.runtimeDir !== undefined) env.XDG_RUNTIME_DIR = host.runtimeDir;
  // modelsFolder and executionProvider are machine-scoped and listed in
  // capabilities.untrustedWorkspaces.restrictedConfigurations, so VS Code never hands us a
  // workspace's value for them: what arrives here is the user's own.
  const modelsFolder =
    settings.modelsFolder === '' ? undefined : path.resolve(expandHome(settings.modelsFolder, host.homedir));
  const initialize: InitializeParams = present({
    clientName: 'vscode-upscale',
    provider: settings.executionProvider,
    maxOutputPixels: settings.maxOutputPixels,
    modelsFolder,
  });
  return { command: host.execPath, args: [daemonScript(host.extensionPath), 'daemon'], env, initialize };
}
