// The status bar item: the daemon's state (idle, busy with N jobs, stopped, error) and
// the active execution provider; a click opens the models quick pick.
import * as vscode from 'vscode';
import type { DaemonClient } from './client';
import { BUSY_CONTEXT_KEY, COMMAND_IDS } from './contributions';
import { statusText } from './status-text';

export class DaemonStatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('upscale.daemon', vscode.StatusBarAlignment.Right, 100);
  private readonly subscription: { dispose(): void };

  constructor(client: DaemonClient) {
    this.item.name = 'Upscale Daemon';
    this.item.command = COMMAND_IDS.showModels;
    this.subscription = client.onState(() => this.render(client));
    this.render(client);
    this.item.show();
  }

  private render(client: DaemonClient): void {
    const t = statusText(client.state);
    this.item.text = t.text;
    this.item.tooltip = t.tooltip;
    this.item.backgroundColor = t.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    void vscode.commands.executeCommand(
      'setContext',
      BUSY_CONTEXT_KEY,
      client.state.kind === 'running' && client.state.jobs > 0,
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
