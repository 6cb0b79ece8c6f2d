// Where a job's result goes on disk and what happens on a name clash: a name the program
// chose gets " (2)" (contract/naming.ts), a name the user gave is kept or refused.
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { candidateName } from '../../contract/naming';
import { samePath } from '../../contract/paths';
import { renameIntoPlace, retryWhileHeld } from '../../platform/rename';

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** What tells one existing file from another: its device and inode, and its real path (links resolved). */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly realPath: string;
}

/**
 * Whether two identities are one file. The device and inode decide, whatever the spelling
 * (a case-insensitive volume, the default on macOS and Windows, takes Photo.png for
 * photo.png; so do links). Where Windows has no file id to give (inode 0: FAT volumes, some
 * network shares) every file would match every other; there the real paths decide, ignoring
 * case as Windows does (`paths`: path.win32 or path.posix, the platform's by default).
 */
export function sameIdentity(a: FileIdentity, b: FileIdentity, paths: path.PlatformPath = path): boolean {
  if (a.ino === 0n || b.ino === 0n) return samePath(a.realPath, b.realPath, paths);
  return a.dev === b.dev && a.ino === b.ino;
}

async function identity(file: string): Promise<FileIdentity | null> {
  const s = await fs.stat(file, { bigint: true }).catch(() => null);
  if (s === null) return null;
  // The real path is needed only without a file id (see sameIdentity).
  const realPath = s.ino === 0n ? await fs.realpath(file).catch(() => path.resolve(file)) : path.resolve(file);
  return { dev: s.dev, ino: s.ino, realPath };
}

/**
 * Whether two paths name one file: through symbolic links (stat follows them), hard links
 * and other spellings of the same name (see sameIdentity). False when either does not exist.
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const [ia, ib] = await Promise.all([identity(a), identity(b)]);
  return ia !== null && ib !== null && sameIdentity(ia, ib);
}

/** A free path for a name the program chose (`file`, or `file` itself with overwrite); never the source. */
export async function freePath(file: string, source: string, overwrite: boolean): Promise<string> {
  // The source may have been deleted since it was decoded, and a dangling link may sit
  // at a candidate name: neither is an error here.
  for (let attempt = 1; attempt < 10000; attempt++) {
    const candidate = candidateName(file, attempt);
    const taken = await exists(candidate);
    if (taken && (await sameFile(candidate, source))) continue;
    if (!taken || overwrite) return candidate;
  }
  throw new Error(`no free file name near ${file}`);
}

/**
 * Checks a name the user gave: it is a promise, so it is never renamed. It may not be the
 * source, whatever `overwrite` says, and an existing file is replaced only with
 * `overwrite`. Throws a message naming the file.
 */
export async function checkNamedOutput(file: string, source: string, overwrite: boolean): Promise<void> {
  if (samePath(file, source) || (await sameFile(file, source))) {
    throw new Error(
      `${file}: is the input image (${source}); the source is never written over, so choose another output name`,
    );
  }
  if (!overwrite && (await exists(file))) {
    throw new Error(
      `${file}: already exists; nothing was written (choose another name, or allow replacing it: --overwrite)`,
    );
  }
}

/** A name the user gave was taken by someone else while the job ran. */
export class NameTaken extends Error {
  constructor(readonly file: string) {
    super(`${file}: appeared while the job ran; nothing was written over it`);
  }
}

/**
 * The errors linking gives where the volume has no hard links: FAT (Windows reports its
 * "incorrect function" as EISDIR), some network shares, other devices. On Windows EPERM
 * may also mean a scanner holds the new file: the fallback copes with that too.
 */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EXDEV', 'ENOSYS', 'EISDIR']);

/**
 * Moves the finished `temp` file to `target`. Without overwrite the file is hard-linked
 * into place, which fails instead of replacing a file that appeared since `target` was
 * chosen (another daemon writing the same name): a name the program chose moves on to the
 * next free one, a name the user gave (`named`) is refused. File systems without hard
 * links fall back to a rename. Every rename and removal waits out a file held open for a
 * moment on Windows (platform/rename.ts). Returns where the file ended up.
 */
export async function placeFile(
  temp: string,
  target: string,
  source: string,
  opts: { overwrite: boolean; named: boolean },
): Promise<string> {
  if (opts.overwrite) {
    await renameIntoPlace(temp, target);
    return target;
  }
  let candidate = target;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fs.link(temp, candidate);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') {
        if (opts.named) throw new NameTaken(target);
        candidate = await freePath(target, source, false);
        continue;
      }
      if (!NO_HARD_LINKS.has(code)) throw e;
      // No hard links here. A name the user gave must not be replaced by a rename if it
      // appeared meanwhile: an exclusive copy fails instead.
      if (!opts.named) {
        await renameIntoPlace(temp, candidate);
        return candidate;
      }
      await fs.copyFile(temp, candidate, fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? new NameTaken(target) : err;
      });
    }
    // The file is in place (linked or copied); its temporary name goes.
    await retryWhileHeld(() => fs.rm(temp, { force: true }));
    return candidate;
  }
  throw new Error(`no free file name near ${target}`);
}

/**
 * The temporary file a job encodes into before renaming it over `output`; a daemon killed
 * before the rename leaves it to the next one to remove (daemon/temp-files.ts).
 */
export function partialPath(output: string, jobId: string, paths: path.PlatformPath = path): string {
  return paths.join(paths.dirname(output), `.${paths.basename(output)}.${jobId}.partial`);
}
