// How paths are spelled on each platform: what ends a folder's path, and when two
// spellings name one place. Pure, with the platform's path module as a parameter
// (path.win32 or path.posix; the running platform's by default), so that each platform's
// rules are tested on any machine.
import * as path from 'node:path';

export type PathModule = path.PlatformPath;

/** The path module that spells paths as `platform` does. */
export function pathsFor(platform: NodeJS.Platform): PathModule {
  return platform === 'win32' ? path.win32 : path.posix;
}

function isWindows(paths: PathModule): boolean {
  return paths.sep === '\\';
}

/** Whether `p` ends in a separator, which says "a folder" in an output path: `/`, and on Windows `\` too. */
export function endsInSeparator(p: string, paths: PathModule = path): boolean {
  return p.endsWith('/') || (isWindows(paths) && p.endsWith('\\'));
}

/** `p` with a trailing separator (kept if it has one), which tells the daemon it names a folder. */
export function asFolder(p: string, paths: PathModule = path): string {
  return endsInSeparator(p, paths) ? p : p + paths.sep;
}

/**
 * Whether two paths name one place by their spelling alone, once resolved. Windows
 * volumes ignore case and take either slash (C:\Photos\A.png is c:/photos/a.png); POSIX
 * paths are compared as written. Where the file exists, its device and inode decide better
 * (daemon/engine/output-path.ts sameFile): this is for paths not on disk, or volumes without
 * file ids.
 */
export function samePath(a: string, b: string, paths: PathModule = path): boolean {
  const [ra, rb] = [paths.resolve(a), paths.resolve(b)];
  return isWindows(paths) ? ra.toLowerCase() === rb.toLowerCase() : ra === rb;
}
