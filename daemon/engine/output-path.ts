// Where a job's result goes: the template, the folder, and what happens on a name clash:
// a name the program chose gets " (2)", a name the user gave is kept or refused.
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export const DEFAULT_TEMPLATE = '{name}@{scale}x.{ext}';

export interface NameParts {
  readonly name: string;
  readonly scale: number;
  readonly width: number;
  readonly height: number;
  readonly model: string;
  readonly ext: string;
}

/** The fields an output template may use, as `{field}`. */
export const TEMPLATE_FIELDS = ['name', 'scale', 'width', 'height', 'model', 'ext'] as const;

/** Formats a scale for a file name: 4 -> "4", 2.5 -> "2.5", 1.3333 -> "1.33". */
export function scaleLabel(scale: number): string {
  return String(Math.round(scale * 100) / 100);
}

/** Fills the template; rejects unknown fields and names that would leave the folder. */
export function applyTemplate(template: string, parts: NameParts): string {
  const result = template.replace(/\{([^}]*)\}/g, (_, field: string) => {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      throw new Error(
        `output template '${template}' has unknown field {${field}}; expected ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')}`,
      );
    }
    const value = parts[field as (typeof TEMPLATE_FIELDS)[number]];
    return typeof value === 'number' ? (field === 'scale' ? scaleLabel(value) : String(value)) : value;
  });
  if (result.length === 0 || result.includes('/') || result.includes('\\') || result === '.' || result === '..') {
    throw new Error(`output template '${template}' gives '${result}', which is not a plain file name`);
  }
  return result;
}

/**
 * The extension a template gives its names: the literal one after its last field ('.png' in
 * '{name}-big.png'), '{ext}' when the format's own extension is filled in, or '' for none.
 * Read from the template, not from a filled-in name, whose fields may hold dots
 * ('my.photo', a scale of 2.5).
 */
export function templateExtension(template: string): string {
  const tail = template.slice(template.lastIndexOf('}') + 1);
  const dot = tail.lastIndexOf('.');
  if (dot >= 0) return tail.slice(dot);
  return tail === '' && template.endsWith('{ext}') ? '{ext}' : '';
}

/** `photo@4x.png` -> `photo@4x (2).png`, `(3)`, … until the name is free. */
export function candidateName(file: string, attempt: number): string {
  if (attempt <= 1) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)} (${attempt})${ext}`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether two paths name one file: through symbolic links (stat follows them) and hard
 * links (one device and inode). False when either does not exist.
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([a, b].map((f) => fs.stat(f, { bigint: true }).catch(() => null)));
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
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
  if (path.resolve(file) === path.resolve(source) || (await sameFile(file, source))) {
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
 * Moves the finished `temp` file to `target`. Without overwrite the file is hard-linked
 * into place, which fails instead of replacing a file that appeared since `target` was
 * chosen (another daemon writing the same name): a name the program chose moves on to the
 * next free one, a name the user gave (`named`) is refused. File systems without hard
 * links fall back to a rename. Returns where the file ended up.
 */
export async function placeFile(
  temp: string,
  target: string,
  source: string,
  opts: { overwrite: boolean; named: boolean },
): Promise<string> {
  if (opts.overwrite) {
    await fs.rename(temp, target);
    return target;
  }
  let candidate = target;
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fs.link(temp, candidate);
      await fs.rm(temp, { force: true });
      return candidate;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (opts.named) throw new NameTaken(target);
        candidate = await freePath(target, source, false);
        continue;
      }
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV' || code === 'ENOSYS') {
        // No hard links here. A name the user gave must not be replaced by a rename if it
        // appeared meanwhile: an exclusive copy fails instead.
        if (opts.named) {
          await fs.copyFile(temp, candidate, fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'EEXIST' ? new NameTaken(target) : err;
          });
          await fs.rm(temp, { force: true });
          return candidate;
        }
        await fs.rename(temp, candidate);
        return candidate;
      }
      throw e;
    }
  }
  throw new Error(`no free file name near ${target}`);
}

/**
 * The temporary file a job encodes into before renaming it over `output`. Clients that
 * outlive a killed daemon remove it by this name.
 */
export function partialPath(output: string, jobId: string): string {
  return path.join(path.dirname(output), `.${path.basename(output)}.${jobId}.partial`);
}

export function isPartialOf(fileName: string, jobId: string): boolean {
  return fileName.startsWith('.') && fileName.endsWith(`.${jobId}.partial`);
}
