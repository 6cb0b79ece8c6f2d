// Reads `upscale.*` from VS Code through the pure validator (extension/config.ts) and
// tells the user once about each bad value, instead of on every job.
import * as vscode from 'vscode';
import { readSettings, SECTION, type SettingKey, type UpscaleSettings } from './config';

export class SettingsReader {
  private readonly reported = new Set<string>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The settings for `scope` (a file: folder settings apply), bad values replaced by defaults. */
  read(scope?: vscode.Uri): UpscaleSettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    const { settings, problems } = readSettings((key: SettingKey) => config.get<unknown>(key));
    for (const problem of problems) {
      if (this.reported.has(problem)) continue;
      this.reported.add(problem);
      this.log.warn(problem);
      void vscode.window.showWarningMessage(`Upscale: ${problem}`, 'Open Settings').then((choice) => {
        if (choice)
          void vscode.commands.executeCommand(
            'workbench.action.openSettings',
            `@ext:upscale-dev.upscale ${problem.split(' ')[0] ?? ''}`,
          );
      });
    }
    return settings;
  }

  /** Settings changed: report problems again if they come back. */
  changed(): void {
    this.reported.clear();
  }
}
