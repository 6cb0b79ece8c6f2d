// Output names: the template and its fields, the extension a template gives, the names
// tried on a clash, and what each platform allows in a file name. Pure: the daemon names its
// outputs by these rules and the extension checks its template setting by them. The path
// module is a parameter (path.win32 or path.posix; the running platform's by default), so
// Windows' rules are tested on any machine.
import * as path from 'node:path';
import type { PathModule } from './paths';

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

/**
 * Device names Windows reserves, alone or before any extension, trailing spaces ignored:
 * `NUL.png` or `com1 .jpg` open the device, not a file.
 */
const WINDOWS_DEVICE = /^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³]) *(\.|$)/i;

/** Characters no Windows file name holds, besides control characters (`\` and `/` are separators). */
const WINDOWS_FORBIDDEN = '<>:"|?*';

/**
 * Why `name` cannot be a file's name on the platform of `paths`, as the end of a sentence
 * ("… which contains ':', …"), or null when it can. Everywhere: not empty, `.`, `..`, a
 * separator or NUL. On Windows also none of `<>:"|?*` or control characters (`a:b.png` would
 * write a stream of the file `a`), no reserved device name, and no trailing dot or space,
 * which Windows drops (the file would land under another name than the one reported).
 */
export function fileNameProblem(name: string, paths: PathModule = path): string | null {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes(paths.sep))
    return 'is not a plain file name';
  if (name.includes('\0')) return 'contains a NUL character';
  if (paths.sep !== '\\') return null;
  const bad = [...name].find((c) => c < ' ' || WINDOWS_FORBIDDEN.includes(c));
  if (bad !== undefined)
    return `contains ${bad < ' ' ? 'a control character' : `'${bad}'`} (Windows allows no control characters and none of ${WINDOWS_FORBIDDEN} in a file name)`;
  const device = WINDOWS_DEVICE.exec(name)?.[1];
  if (device !== undefined) return `is the device ${device.toUpperCase()} on Windows, not a file`;
  if (name.endsWith('.') || name.endsWith(' '))
    return `ends in a ${name.endsWith('.') ? 'dot' : 'space'} (Windows drops it from file names)`;
  return null;
}

/**
 * Fills the template; rejects unknown fields, names that would leave the folder (a `/` or
 * `\` on any platform: a template names a file, never a path), and names the platform of
 * `paths` cannot hold, whether the template or a field value ({name}, {model}) made them so.
 */
export function applyTemplate(template: string, parts: NameParts, paths: PathModule = path): string {
  const result = template.replace(/\{([^}]*)\}/g, (_, field: string) => {
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      throw new Error(
        `output template '${template}' has unknown field {${field}}; expected ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')}`,
      );
    }
    const value = parts[field as (typeof TEMPLATE_FIELDS)[number]];
    return typeof value === 'number' ? (field === 'scale' ? scaleLabel(value) : String(value)) : value;
  });
  const problem = result.includes('\\') ? 'is not a plain file name' : fileNameProblem(result, paths);
  if (problem !== null) throw new Error(`output template '${template}' gives '${result}', which ${problem}`);
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
export function candidateName(file: string, attempt: number, paths: PathModule = path): string {
  if (attempt <= 1) return file;
  const ext = paths.extname(file);
  return `${file.slice(0, file.length - ext.length)} (${attempt})${ext}`;
}
