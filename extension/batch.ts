// Which files a batch upscales and where each result goes: for several files picked in the
// Explorer, and for "Upscale Folder…" (every image in a folder, optionally recursive, into
// one output folder that mirrors the source's subfolders). No vscode: tested on temp folders.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isImageFile } from './images';

export interface BatchItem {
  readonly input: string;
  /** Folder the result goes to (created before the job runs). */
  readonly outputFolder: string;
}

export interface FolderPlan {
  readonly items: readonly BatchItem[];
  /** Images not planned, with why (for the log). */
  readonly skipped: readonly string[];
}

export interface FolderPlanOptions {
  readonly folder: string;
  readonly outputFolder: string;
  readonly recursive: boolean;
}

/** The folder results go to: beside the source, or `outputFolder` (the setting; relative to the source's folder). */
export function outputFolderOf(input: string, outputFolder: string): string {
  const sourceFolder = path.dirname(input);
  if (outputFolder === '') return sourceFolder;
  return path.resolve(sourceFolder, outputFolder);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Every image under `folder` (sorted, so runs are repeatable), each mapped to the same
 * relative place under `outputFolder`. The output folder itself is never read when it lies
 * inside the source folder, so a second run does not upscale the first run's results.
 * Symbolic links to folders are not followed (they can loop).
 */
export async function planFolder(options: FolderPlanOptions): Promise<FolderPlan> {
  const folder = path.resolve(options.folder);
  const outputFolder = path.resolve(options.outputFolder);
  const items: BatchItem[] = [];
  const skipped: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (outputFolder !== folder && isInside(full, outputFolder)) {
          skipped.push(`${full}: the output folder is not read as input`);
          continue;
        }
        if (options.recursive) await visit(full);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isImageFile(entry.name)) {
        if (outputFolder !== folder && isInside(full, outputFolder)) {
          skipped.push(`${full}: inside the output folder`);
          continue;
        }
        items.push({ input: full, outputFolder: path.join(outputFolder, path.relative(folder, dir)) });
      }
    }
  };
  await visit(folder);
  return { items, skipped };
}

/** Explorer selections: images only, each once, in the order picked. */
export function planSelection(files: readonly string[], outputFolderOf: (input: string) => string): FolderPlan {
  const seen = new Set<string>();
  const items: BatchItem[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!isImageFile(file)) {
      skipped.push(`${file}: not an image Upscale reads`);
      continue;
    }
    items.push({ input: file, outputFolder: outputFolderOf(file) });
  }
  return { items, skipped };
}
