import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyTemplate, candidateName, scaleLabel, templateExtension } from '../../contract/naming';
import { checkNamedOutput, freePath, placeFile } from '../../daemon/engine/output-path';

const parts = { name: 'photo', scale: 4, width: 800, height: 600, model: 'm', ext: 'png' };

/** A fresh folder holding a source image file `name` (its bytes: 'source'). */
function folderWithSource(name: string): { dir: string; source: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-names-'));
  const source = path.join(dir, name);
  fs.writeFileSync(source, 'source');
  return { dir, source };
}

test('templates fill every field and refuse unknown fields and paths', () => {
  assert.equal(applyTemplate('{name}@{scale}x.{ext}', parts), 'photo@4x.png');
  assert.equal(applyTemplate('{name}-{width}x{height}-{model}.{ext}', { ...parts, scale: 2.5 }), 'photo-800x600-m.png');
  assert.equal(scaleLabel(2.5), '2.5');
  assert.equal(scaleLabel(4 / 3), '1.33');
  assert.throws(() => applyTemplate('{nme}.{ext}', parts), /unknown field \{nme\}/);
  assert.throws(() => applyTemplate('../{name}.{ext}', parts), /not a plain file name/);
});

test('a clash on a name the program chose gets a new name; the source is never chosen, even with overwrite', async () => {
  const { dir, source } = folderWithSource('a.png');
  const target = path.join(dir, 'a@4x.png');
  assert.equal(await freePath(target, source, false), target);
  fs.writeFileSync(target, 'old');
  assert.equal(await freePath(target, source, false), path.join(dir, 'a@4x (2).png'));
  assert.equal(await freePath(target, source, true), target);
  assert.equal(await freePath(source, source, true), path.join(dir, 'a (2).png'));
  assert.equal(candidateName('/x/b.jpg', 3), '/x/b (3).jpg');
});

test('placing a finished file never replaces one that appeared meanwhile, unless overwriting', async () => {
  const { dir, source } = folderWithSource('s.png');
  const target = path.join(dir, 's@4x.png');
  fs.writeFileSync(target, 'someone else');
  const temp = path.join(dir, '.s@4x.png.job.partial');
  fs.writeFileSync(temp, 'ours');
  const placed = await placeFile(temp, target, source, { overwrite: false, named: false });
  assert.equal(placed, path.join(dir, 's@4x (2).png'));
  assert.equal(fs.readFileSync(target, 'utf8'), 'someone else');
  assert.equal(fs.readFileSync(placed, 'utf8'), 'ours');
  assert.ok(!fs.existsSync(temp));
  fs.writeFileSync(temp, 'again');
  assert.equal(await placeFile(temp, target, source, { overwrite: true, named: false }), target);
  assert.equal(fs.readFileSync(target, 'utf8'), 'again');
  assert.equal(fs.readFileSync(source, 'utf8'), 'source');
});

test('a name the user gave is never the input, by path, symbolic link or hard link, overwrite or not', async () => {
  const { dir, source } = folderWithSource('a.png');
  const link = path.join(dir, 'link.png');
  fs.symlinkSync(source, link);
  const hard = path.join(dir, 'hard.png');
  fs.linkSync(source, hard);
  for (const file of [source, path.join(dir, '.', 'a.png'), link, hard]) {
    for (const overwrite of [false, true]) {
      await assert.rejects(
        checkNamedOutput(file, source, overwrite),
        (e: Error) => e.message.startsWith(`${file}: is the input image`),
        `${file} overwrite ${overwrite}`,
      );
    }
  }
  assert.equal(fs.readFileSync(source, 'utf8'), 'source');
});

test('a name the user gave that exists is refused without overwrite, and kept as given with it', async () => {
  const { dir, source } = folderWithSource('a.png');
  const out = path.join(dir, 'out.png');
  await checkNamedOutput(out, source, false);
  fs.writeFileSync(out, 'old');
  await assert.rejects(checkNamedOutput(out, source, false), (e: Error) =>
    e.message.startsWith(`${out}: already exists; nothing was written`),
  );
  await checkNamedOutput(out, source, true);
  // The race: the name is taken while the job runs. A chosen name moves on; a given one is refused.
  const temp = path.join(dir, '.out.png.job.partial');
  fs.writeFileSync(temp, 'ours');
  await assert.rejects(
    placeFile(temp, out, source, { overwrite: false, named: true }),
    /out\.png: appeared while the job ran; nothing was written over it/,
  );
  assert.equal(fs.readFileSync(out, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['.out.png.job.partial', 'a.png', 'out.png']);
});

test("a template's extension is read from the template, not from the name it fills in", () => {
  assert.equal(templateExtension('{name}@{scale}x.{ext}'), '{ext}');
  assert.equal(templateExtension('{name}-big.png'), '.png');
  assert.equal(templateExtension('{name}.{ext}.bak'), '.bak');
  assert.equal(
    templateExtension('{name}-big'),
    '',
    'a source my.photo.png fills it as my.photo-big: still no extension',
  );
  assert.equal(templateExtension('{name}@{scale}x'), '', 'a scale of 2.5 gives photo@2.5x: still no extension');
  assert.equal(templateExtension('result.jpeg'), '.jpeg');
});
