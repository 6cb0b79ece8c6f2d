// Output names: the template and its fields, the extension a template gives, and the names
// tried on a clash. Pure: the daemon names its outputs by these rules and the extension
// checks its template setting by them.
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
