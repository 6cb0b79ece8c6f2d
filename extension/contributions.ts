// The extension's manifest entries (package.json: contributes, activationEvents,
// capabilities, extensionKind) as data, next to the code they describe. package.json must
// equal this (test/unit/extension-manifest.test.ts); `node out/scripts/package.js
// --sync-manifest` writes it there. Pure: no vscode.
import { RESTRICTED_SETTINGS, SECTION, SETTINGS_SCHEMA, type SettingKey } from './config';
import { IMAGE_RESOURCE_CONDITION } from './images';

export const COMMAND_IDS = {
  upscaleImage: 'upscale.upscaleImage',
  upscaleImageWith: 'upscale.upscaleImageWith',
  upscaleFolder: 'upscale.upscaleFolder',
  importModel: 'upscale.importModel',
  downloadModel: 'upscale.downloadModel',
  chooseDefaultModel: 'upscale.chooseDefaultModel',
  showModels: 'upscale.showModels',
  restartDaemon: 'upscale.restartDaemon',
  showLog: 'upscale.showLog',
  cancelAll: 'upscale.cancelAll',
} as const;
export type CommandId = (typeof COMMAND_IDS)[keyof typeof COMMAND_IDS];

/** VS Code's built-in image viewer; its editor title gets the upscale buttons. */
export const IMAGE_PREVIEW_CONDITION = 'activeCustomEditorId == imagePreview.previewEditor';
export const PREVIEW_VIEW_TYPE = 'upscale.preview';

/** The context key set while jobs run (used by the palette entry of Cancel All). */
export const BUSY_CONTEXT_KEY = 'upscale.busy';

interface CommandContribution {
  readonly command: CommandId;
  readonly title: string;
  readonly category: 'Upscale';
  readonly icon?: string;
  readonly enablement?: string;
}

const COMMANDS: readonly CommandContribution[] = [
  // A wand, not a magnifier: beside an image a magnifier reads as "zoom in".
  { command: COMMAND_IDS.upscaleImage, title: 'Upscale Image', category: 'Upscale', icon: '$(wand)' },
  { command: COMMAND_IDS.upscaleImageWith, title: 'Upscale Image With…', category: 'Upscale', icon: '$(settings)' },
  { command: COMMAND_IDS.upscaleFolder, title: 'Upscale Folder…', category: 'Upscale', icon: '$(file-media)' },
  { command: COMMAND_IDS.importModel, title: 'Import Model…', category: 'Upscale', icon: '$(cloud-download)' },
  { command: COMMAND_IDS.downloadModel, title: 'Download Model…', category: 'Upscale', icon: '$(cloud-download)' },
  { command: COMMAND_IDS.chooseDefaultModel, title: 'Choose Default Model', category: 'Upscale', icon: '$(star-full)' },
  { command: COMMAND_IDS.showModels, title: 'Show Models', category: 'Upscale', icon: '$(list-unordered)' },
  { command: COMMAND_IDS.restartDaemon, title: 'Restart Daemon', category: 'Upscale', icon: '$(debug-restart)' },
  { command: COMMAND_IDS.showLog, title: 'Show Log', category: 'Upscale', icon: '$(output)' },
  { command: COMMAND_IDS.cancelAll, title: 'Cancel All', category: 'Upscale', icon: '$(stop-circle)' },
];

/** Explorer entries apply to files with an image extension, never to folders. */
export const EXPLORER_IMAGE_CONDITION = `!explorerResourceIsFolder && ${IMAGE_RESOURCE_CONDITION}`;

/**
 * The Explorer's own groups sort by name (…, 6_copypath, 7_modification with Rename… and
 * Delete); a group of their own between those puts separators around the Upscale items.
 */
const EXPLORER_UPSCALE_GROUP = '6_upscale';

const MENUS = {
  'explorer/context': [
    { command: COMMAND_IDS.upscaleImage, when: EXPLORER_IMAGE_CONDITION, group: `${EXPLORER_UPSCALE_GROUP}@1` },
    { command: COMMAND_IDS.upscaleImageWith, when: EXPLORER_IMAGE_CONDITION, group: `${EXPLORER_UPSCALE_GROUP}@2` },
    { command: COMMAND_IDS.upscaleFolder, when: 'explorerResourceIsFolder', group: `${EXPLORER_UPSCALE_GROUP}@3` },
  ],
  'editor/title': [
    {
      command: COMMAND_IDS.upscaleImage,
      when: `${IMAGE_PREVIEW_CONDITION} && ${IMAGE_RESOURCE_CONDITION}`,
      group: 'navigation@1',
    },
    {
      command: COMMAND_IDS.upscaleImageWith,
      when: `${IMAGE_PREVIEW_CONDITION} && ${IMAGE_RESOURCE_CONDITION}`,
      group: 'navigation@2',
    },
  ],
  commandPalette: [
    // Needs a running job to mean anything; hidden otherwise to keep the palette honest.
    { command: COMMAND_IDS.cancelAll, when: BUSY_CONTEXT_KEY },
  ],
} as const;

function configuration(): object {
  const properties: Record<string, object> = {};
  for (const [key, schema] of Object.entries(SETTINGS_SCHEMA)) properties[`${SECTION}.${key}`] = schema;
  return { title: 'Upscale', properties };
}

export interface ManifestEntries {
  readonly activationEvents: readonly string[];
  readonly contributes: object;
  readonly capabilities: object;
  readonly extensionKind: readonly string[];
}

export function manifestEntries(): ManifestEntries {
  return {
    // Commands only (and restoring a preview panel after a reload): never `*`.
    activationEvents: [...COMMANDS.map((c) => `onCommand:${c.command}`), `onWebviewPanel:${PREVIEW_VIEW_TYPE}`],
    contributes: { commands: COMMANDS, menus: MENUS, configuration: configuration() },
    capabilities: {
      untrustedWorkspaces: {
        supported: 'limited',
        description:
          'In Restricted Mode the models folder and the execution provider come only from your user settings, never from the workspace.',
        restrictedConfigurations: RESTRICTED_SETTINGS.map((k: SettingKey) => `${SECTION}.${k}`),
      },
      // The daemon reads and writes files on disk; virtual file systems have none.
      virtualWorkspaces: { supported: false, description: 'Upscale reads and writes image files on the local disk.' },
    },
    // Runs where the files are (the remote host in Remote-SSH, the server in code-server).
    extensionKind: ['workspace'],
  };
}
