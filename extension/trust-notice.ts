// Restricted Mode: VS Code ignores a workspace's values for the settings Upscale marks
// restricted (they choose which models and native code run, and where files are written).
// Ignoring them silently would leave users wondering why their workspace's models folder
// does nothing, so the first activation in an untrusted workspace says so.
import * as vscode from 'vscode';
import { RESTRICTED_SETTINGS, SECTION } from './config';
import { restrictedKeysIn } from './trust';

async function workspaceSettingsText(folder: vscode.WorkspaceFolder): Promise<string> {
  try {
    return Buffer.from(
      await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, '.vscode', 'settings.json')),
    ).toString('utf8');
  } catch {
    return '';
  }
}

/** The restricted settings this workspace tries to set (VS Code may hide them from inspect()). */
async function ignoredWorkspaceSettings(): Promise<string[]> {
  const found = new Set<string>();
  const config = vscode.workspace.getConfiguration(SECTION);
  for (const key of RESTRICTED_SETTINGS) {
    const seen = config.inspect(key);
    if (seen?.workspaceValue !== undefined || seen?.workspaceFolderValue !== undefined) found.add(`${SECTION}.${key}`);
  }
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const key of restrictedKeysIn(await workspaceSettingsText(folder))) found.add(key);
  }
  return [...found].sort();
}

export async function noticeRestrictedSettings(log: vscode.LogOutputChannel): Promise<void> {
  if (vscode.workspace.isTrusted) return;
  const ignored = await ignoredWorkspaceSettings();
  if (ignored.length === 0) return;
  const message = `Upscale: Restricted Mode — this workspace's ${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored until you trust it; the built-in models and your user settings are used.`;
  log.warn(message);
  const choice = await vscode.window.showWarningMessage(message, 'Manage Workspace Trust');
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
}
