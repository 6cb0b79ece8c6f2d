import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyTemplate, candidateName, fileNameProblem, scaleLabel, templateExtension } from '../../contract/naming';
import {
  checkNamedOutput,
  freePath,
  partialPath,
  placeFile,
  sameIdentity,
  type FileIdentity,
} from '../../daemon/engine/output-path';

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

test('a filled-in template that Windows cannot hold is refused there, whichever part made it so; POSIX holds it', () => {
  const cases: [string, Partial<typeof parts>, string, RegExp][] = [
    // Characters: from the source's name (a file copied from Linux), or the template itself.
    ['{name}@{scale}x.{ext}', { name: '12:30' }, '12:30@4x.png', /contains ':' \(Windows allows/],
    ['{name}?.{ext}', {}, 'photo?.png', /contains '\?'/],
    ['{name}-"{model}".{ext}', {}, 'photo-"m".png', /contains '"'/],
    ['{name}<{scale}>.{ext}', {}, 'photo<4>.png', /contains '<'/],
    ['{name}|{model}*.{ext}', {}, 'photo|m*.png', /contains '\|'/],
    ['{name}.{ext}', { name: 'tab\there' }, 'tab\there.png', /contains a control character/],
    // Device names, alone, before an extension, with trailing spaces, in any case.
    ['{model}.{ext}', { model: 'nul' }, 'nul.png', /is the device NUL on Windows, not a file/],
    ['CON.{ext}', {}, 'CON.png', /device CON/],
    ['{name}.{ext}', { name: 'com1' }, 'com1.png', /device COM1/],
    ['{name} .{ext}', { name: 'Lpt9' }, 'Lpt9 .png', /device LPT9/],
    ['{name}.{ext}', { name: 'COM²' }, 'COM².png', /device COM²/],
    ['{name}.tar.{ext}', { name: 'aux' }, 'aux.tar.png', /device AUX/],
    ['{model}', { model: 'prn' }, 'prn', /device PRN/],
    // A trailing dot or space, which Windows would drop: the file would not be where reported.
    ['{name}', { name: 'photo.' }, 'photo.', /ends in a dot \(Windows drops it/],
    ['{name}-{model}', { model: 'x4.' }, 'photo-x4.', /ends in a dot/],
    ['{name}', { name: 'photo ' }, 'photo ', /ends in a space/],
  ];
  for (const [template, over, filled, why] of cases) {
    const values = { ...parts, ...over };
    assert.throws(
      () => applyTemplate(template, values, path.win32),
      (e: Error) =>
        e.message.startsWith(`output template '${template}' gives '${filled}', which `) && why.test(e.message),
      template,
    );
    assert.equal(applyTemplate(template, values, path.posix), filled, `${template} on POSIX`);
  }
  // Names near those are fine on Windows.
  for (const name of ['console', 'nul-free', 'COM10', 'lpt', 'CON@4x', 'photo. x', '.hidden'])
    assert.equal(applyTemplate('{name}.{ext}', { ...parts, name }, path.win32), `${name}.png`);
  // A template names a file, never a path, on every platform.
  for (const paths of [path.win32, path.posix])
    assert.throws(() => applyTemplate('..\\{name}.{ext}', parts, paths), /which is not a plain file name$/);
  // A name the user gives is held to the same rules (daemon/engine/job-plan.ts).
  assert.match(fileNameProblem('out:1.png', path.win32) ?? '', /contains ':'/);
  assert.match(fileNameProblem('NUL.jpg', path.win32) ?? '', /device NUL/);
  assert.equal(fileNameProblem('out:1.png', path.posix), null);
  assert.equal(fileNameProblem('NUL.jpg', path.posix), null);
  assert.equal(fileNameProblem('a\0b.png', path.posix), 'contains a NUL character');
});

test('clash names and temporary files beside the output, with drive letters, backslashes and UNC paths', () => {
  const { win32, posix } = path;
  assert.equal(candidateName('C:\\Out\\photo@4x.png', 2, win32), 'C:\\Out\\photo@4x (2).png');
  assert.equal(candidateName('\\\\nas\\photos\\a@4x.png', 3, win32), '\\\\nas\\photos\\a@4x (3).png');
  // A dot in a folder's name is not an extension; only the platform's separators say where the name starts.
  assert.equal(candidateName('C:\\out.d\\photo', 2, win32), 'C:\\out.d\\photo (2)');
  assert.equal(candidateName('/out.d/photo', 2, posix), '/out.d/photo (2)');
  assert.equal(partialPath('C:\\Out\\a@4x.png', 'j1', win32), 'C:\\Out\\.a@4x.png.j1.partial');
  assert.equal(partialPath('C:/Out/a@4x.png', 'j1', win32), 'C:\\Out\\.a@4x.png.j1.partial');
  assert.equal(partialPath('\\\\nas\\photos\\a@4x.png', 'j1', win32), '\\\\nas\\photos\\.a@4x.png.j1.partial');
  assert.equal(partialPath('/out/a@4x.png', 'j1', posix), '/out/.a@4x.png.j1.partial');
});

test("is this the input? the file id decides; without one (Windows on FAT, some shares) the real path, in the volume's case", () => {
  const { win32, posix } = path;
  const id = (realPath: string, ino: bigint, dev = 7n): FileIdentity => ({ dev, ino, realPath });
  // A case-insensitive volume (macOS and Windows by default): another spelling, one inode.
  assert.ok(sameIdentity(id('/Users/u/Photo.PNG', 42n), id('/Users/u/photo.png', 42n), posix));
  assert.ok(sameIdentity(id('C:\\Photos\\A.PNG', 42n), id('C:\\Photos\\a.png', 42n), win32));
  // One inode number on two devices is two files.
  assert.ok(!sameIdentity(id('/mnt/a/x.png', 42n, 1n), id('/mnt/b/x.png', 42n, 2n), posix));
  // Inode 0: every file on the volume would match every other by id; the path decides.
  assert.ok(!sameIdentity(id('E:\\photos\\a.png', 0n), id('E:\\photos\\b.png', 0n), win32));
  assert.ok(sameIdentity(id('E:\\Photos\\A.PNG', 0n), id('e:/photos/a.png', 0n), win32));
  assert.ok(sameIdentity(id('\\\\NAS\\Share\\a.png', 0n), id('\\\\nas\\share\\A.png', 42n), win32));
  assert.ok(!sameIdentity(id('/mnt/share/A.png', 0n), id('/mnt/share/a.png', 0n), posix));
  assert.ok(sameIdentity(id('/mnt/share/a.png', 0n), id('/mnt/share/./a.png', 0n), posix));
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
  // Another case: another file where the volume tells case apart (Linux), the input where it
  // does not (macOS and Windows by default; the inode says so).
  const otherCase = path.join(dir, 'A.png');
  if (fs.existsSync(otherCase)) await assert.rejects(checkNamedOutput(otherCase, source, true), /is the input image/);
  else await checkNamedOutput(otherCase, source, true);
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
