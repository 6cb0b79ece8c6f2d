// Tells the user, once, when the daemon has stopped for good (the crash-loop limit): the
// status bar alone is easy to miss, and every command would fail until they act.
import * as vscode from 'vscode';
import type { DaemonState } from './client';
import { COMMAND_IDS } from './contributions';

export interface DaemonStateSource {
  onState(listener: (state: DaemonState) => void): { dispose(): void };
}

export class DaemonAlerts implements vscode.Disposable {
  private readonly subscription: { dispose(): void };

  constructor(source: DaemonStateSource) {
    this.subscription = source.onState((state) => {
      if (state.kind === 'failed') void this.alert(state.reason);
    });
  }

  private async alert(reason: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(`Upscale: ${reason}.`, 'Restart Daemon', 'Show Log');
    if (choice === 'Restart Daemon') await vscode.commands.executeCommand(COMMAND_IDS.restartDaemon);
    else if (choice === 'Show Log') await vscode.commands.executeCommand(COMMAND_IDS.showLog);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
