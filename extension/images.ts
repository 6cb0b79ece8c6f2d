// Which files Upscale offers to upscale. The same list feeds the menus' `when` clauses in
// package.json (checked by test/unit/extension-images.test.ts) and the file pickers.
import * as path from 'node:path';

/** Extensions (without the dot, lower case) of the images the daemon decodes. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'tif', 'tiff', 'avif', 'gif', 'bmp'] as const;

export function isImageFile(file: string): boolean {
  const ext = path.extname(file).slice(1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

/**
 * The `when` clause condition that is true for image resources. VS Code's
 * `resourceExtname` keeps the dot and the case of the file name, hence `^\.` and `/i`.
 */
export const IMAGE_RESOURCE_CONDITION = `resourceExtname =~ /^\\.(${IMAGE_EXTENSIONS.join('|')})$/i`;

/** The file-dialog filter for images, as vscode.OpenDialogOptions.filters takes it. */
export const IMAGE_DIALOG_FILTERS: Readonly<Record<string, string[]>> = { Images: [...IMAGE_EXTENSIONS] };

/** Files a model import accepts: ONNX, PyTorch state dicts, safetensors, ncnn (.param beside its .bin). */
export const MODEL_EXTENSIONS = ['onnx', 'pth', 'safetensors', 'param'] as const;
export const MODEL_DIALOG_FILTERS: Readonly<Record<string, string[]>> = {
  'Super-resolution models': [...MODEL_EXTENSIONS],
};
