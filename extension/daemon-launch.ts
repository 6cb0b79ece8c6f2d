// How the extension starts its daemon: which runtime, which script, which environment and
// which `initialize` parameters. The daemon runs on the editor's own runtime, so nothing
// needs installing: in desktop VS Code that is the extension host's own Electron binary
// (process.execPath: Code.exe on Windows, a helper inside the app bundle on macOS, `code`
// on Linux) run as Node, and under code-server or a remote server it is Node itself. Pure
// (the caller passes the facts about the host), so each system's launch is unit-tested on
// any one.
import type { InitializeParams } from '../contract/params';
import { pathsFor } from '../contract/paths';
import { present } from '../contract/validate';
import { folderOfSetting, type UpscaleSettings } from './config';

export interface HostFacts {
  /** The extension's install folder (context.extensionPath). */
  readonly extensionPath: string;
  /** process.execPath: the extension host's Electron binary in desktop VS Code, Node under code-server. */
  readonly execPath: string;
  /** process.platform: how the paths are spelled. */
  readonly platform: NodeJS.Platform;
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
function daemonScript(extensionPath: string, platform: NodeJS.Platform): string {
  return pathsFor(platform).join(extensionPath, 'dist', 'upscale.js');
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
    settings.modelsFolder === '' ? undefined : folderOfSetting(settings.modelsFolder, host.platform, host.homedir);
  const initialize: InitializeParams = present({
    clientName: 'vscode-upscale',
    provider: settings.executionProvider,
    maxOutputPixels: settings.maxOutputPixels,
    modelsFolder,
  });
  return {
    command: host.execPath,
    args: [daemonScript(host.extensionPath, host.platform), 'daemon'],
    env,
    initialize,
  };
}
