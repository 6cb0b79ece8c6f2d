// Entry point: wires the pieces together and nothing else. The daemon starts lazily on the
// first command that needs it (extension/client.ts) and is stopped on deactivate.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DaemonClient } from './client';
import { UpscaleCommands } from './commands';
import { DaemonAlerts } from './daemon-alerts';
import { SECTION } from './config';
import { COMMAND_IDS } from './contributions';
import { daemonLaunch } from './daemon-launch';
import { JobRunner } from './job-runner';
import { registerPreviewSerializer } from './preview/panel';
import { SettingsReader } from './settings';
import { DaemonStatusItem } from './status';
import { noticeRestrictedSettings } from './trust-notice';

let client: DaemonClient | undefined;

/**
 * A folder to stand for XDG_RUNTIME_DIR on Linux when the editor's environment has none
 * that is a folder: one of this user's own under the temp folder, private, made once.
 * Undefined when the environment's will do, or when the folder is not safely ours.
 */
function runtimeDirFor(env: NodeJS.ProcessEnv): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const given = env.XDG_RUNTIME_DIR;
  if (given !== undefined && path.isAbsolute(given) && fs.statSync(given, { throwIfNoEntry: false })?.isDirectory())
    return undefined;
  const { uid } = os.userInfo();
  const dir = path.join(os.tmpdir(), `upscale-runtime-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700, recursive: true });
    const made = fs.lstatSync(dir);
    if (!made.isDirectory() || made.uid !== uid) return undefined;
    fs.chmodSync(dir, 0o700);
    return dir;
  } catch {
    return undefined;
  }
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Upscale', { log: true });
  const settings = new SettingsReader(log);
  const bundledModelsDir = path.join(context.extensionPath, 'dist', 'models');
  client = new DaemonClient({
    launch: () =>
      daemonLaunch(
        {
          extensionPath: context.extensionPath,
          execPath: process.execPath,
          platform: process.platform,
          isElectron: process.versions.electron !== undefined,
          env: process.env,
          homedir: os.homedir(),
          ...(fs.existsSync(bundledModelsDir) && { bundledModelsDir }),
          runtimeDir: runtimeDirFor(process.env),
        },
        settings.read(),
      ),
    log: (level, message) => log[level](message),
  });
  const runner = new JobRunner(context, client, settings, log);
  void noticeRestrictedSettings(log);
  context.subscriptions.push(
    log,
    runner,
    new DaemonStatusItem(client),
    new DaemonAlerts(client),
    ...new UpscaleCommands({ client, runner, settings, log }).register(),
    registerPreviewSerializer(context),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      settings.changed();
      // These are read when the daemon starts; say so rather than restart under running jobs.
      if (
        e.affectsConfiguration(`${SECTION}.executionProvider`) ||
        e.affectsConfiguration(`${SECTION}.modelsFolder`) ||
        e.affectsConfiguration(`${SECTION}.maxOutputPixels`)
      ) {
        if (client?.state.kind === 'running') {
          void vscode.window
            .showInformationMessage('Upscale: the new setting applies when the daemon restarts.', 'Restart Daemon')
            .then((choice) => {
              if (choice) void vscode.commands.executeCommand(COMMAND_IDS.restartDaemon);
            });
        }
      }
    }),
  );
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
  client = undefined;
}
