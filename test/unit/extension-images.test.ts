// The menus' `when` clauses, read from package.json and evaluated the way VS Code does for
// the subset they use (&&, !key, ==, =~ /regex/flags), against real file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IMAGE_EXTENSIONS, isImageFile } from '../../extension/images';

interface MenuEntry {
  command: string;
  when?: string;
}
const manifest = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
  contributes: { menus: Record<string, MenuEntry[]> };
};

type Context = Record<string, string | boolean | undefined>;

/** Evaluates a conjunction of VS Code context-key terms. */
function evaluate(when: string, ctx: Context): boolean {
  return when
    .split('&&')
    .map((t) => t.trim())
    .every((term) => {
      let m: RegExpExecArray | null;
      if ((m = /^(\S+)\s*=~\s*\/(.*)\/([a-z]*)$/.exec(term)))
        return new RegExp(m[2] as string, m[3]).test(String(ctx[m[1] as string] ?? ''));
      if ((m = /^(\S+)\s*==\s*(\S+)$/.exec(term))) return String(ctx[m[1] as string]) === m[2];
      if ((m = /^!(\S+)$/.exec(term))) return !ctx[m[1] as string];
      if ((m = /^(\S+)$/.exec(term))) return Boolean(ctx[m[1] as string]);
      throw new Error(`unsupported when term: ${term}`);
    });
}

function whenOf(menu: string, command: string): string {
  const entry = manifest.contributes.menus[menu]?.find((e) => e.command === command);
  assert.ok(entry?.when, `${menu} has ${command} with a when clause`);
  return entry.when;
}

const explorerFile = (name: string): Context => ({
  explorerResourceIsFolder: false,
  resourceExtname: path.extname(name),
  resourceFilename: name,
});

const IMAGES = [
  'photo.png',
  'a.jpg',
  'b.JPEG',
  'c.webp',
  'scan.TIF',
  'scan.tiff',
  'x.avif',
  'anim.gif',
  'old.bmp',
  'my.photo.Png',
];
const NOT_IMAGES = [
  'notes.txt',
  'photo.png.bak',
  'png',
  '.png.txt',
  'model.onnx',
  'vector.svg',
  'photo.heic',
  'archive.tar.gz',
  'Makefile',
  'x.pngx',
  'x.jp',
];

test('Explorer: Upscale Image and Upscale Image With… appear for every image and nothing else', () => {
  for (const command of ['upscale.upscaleImage', 'upscale.upscaleImageWith']) {
    const when = whenOf('explorer/context', command);
    for (const f of IMAGES) assert.equal(evaluate(when, explorerFile(f)), true, `${command} on ${f}`);
    for (const f of NOT_IMAGES) assert.equal(evaluate(when, explorerFile(f)), false, `${command} on ${f}`);
    // Never on a folder, even one named like an image.
    assert.equal(evaluate(when, { ...explorerFile('frames.png'), explorerResourceIsFolder: true }), false);
  }
});

test('Explorer: Upscale Folder… appears for folders only', () => {
  const when = whenOf('explorer/context', 'upscale.upscaleFolder');
  assert.equal(evaluate(when, { explorerResourceIsFolder: true }), true);
  assert.equal(evaluate(when, explorerFile('photo.png')), false);
});

test('editor title: only in VS Code image preview, on images', () => {
  for (const command of ['upscale.upscaleImage', 'upscale.upscaleImageWith']) {
    const when = whenOf('editor/title', command);
    assert.equal(evaluate(when, { activeCustomEditorId: 'imagePreview.previewEditor', resourceExtname: '.png' }), true);
    assert.equal(
      evaluate(when, { activeCustomEditorId: 'imagePreview.previewEditor', resourceExtname: '.svg' }),
      false,
    );
    assert.equal(evaluate(when, { activeCustomEditorId: 'default', resourceExtname: '.png' }), false);
    assert.equal(evaluate(when, { resourceExtname: '.png' }), false);
  }
});

test('isImageFile agrees with the when clause', () => {
  const when = whenOf('explorer/context', 'upscale.upscaleImage');
  for (const f of [...IMAGES, ...NOT_IMAGES]) assert.equal(isImageFile(f), evaluate(when, explorerFile(f)), f);
  assert.equal(IMAGE_EXTENSIONS.length, 9);
});
