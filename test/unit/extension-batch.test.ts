import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outputFolderOf, planFolder, planSelection } from '../../extension/batch';

function tree(files: readonly string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-batch-'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), '');
  }
  return root;
}

const rel = (root: string, items: readonly { input: string; outputFolder: string }[]) =>
  items.map((i) => [path.relative(root, i.input), path.relative(root, i.outputFolder)]);

test('one folder, not recursive: its images only, sorted, into the output folder', async () => {
  const root = tree(['src/b.png', 'src/a.JPG', 'src/notes.txt', 'src/sub/c.webp']);
  const plan = await planFolder({
    folder: path.join(root, 'src'),
    outputFolder: path.join(root, 'out'),
    recursive: false,
  });
  assert.deepEqual(rel(root, plan.items), [
    ['src/a.JPG', 'out'],
    ['src/b.png', 'out'],
  ]);
});

test('recursive: subfolders are mirrored under the output folder', async () => {
  const root = tree(['src/a.png', 'src/sub/c.webp', 'src/sub/deeper/d.gif', 'src/sub/readme.md']);
  const plan = await planFolder({
    folder: path.join(root, 'src'),
    outputFolder: path.join(root, 'out'),
    recursive: true,
  });
  assert.deepEqual(rel(root, plan.items), [
    ['src/a.png', 'out'],
    ['src/sub/c.webp', 'out/sub'],
    ['src/sub/deeper/d.gif', 'out/sub/deeper'],
  ]);
});

test('an output folder inside the source is not read again (no upscaling of results)', async () => {
  const root = tree(['src/a.png', 'src/upscaled/a@4x.png', 'src/upscaled/sub/x.png', 'src/sub/b.png']);
  const plan = await planFolder({
    folder: path.join(root, 'src'),
    outputFolder: path.join(root, 'src', 'upscaled'),
    recursive: true,
  });
  assert.deepEqual(rel(root, plan.items), [
    ['src/a.png', 'src/upscaled'],
    ['src/sub/b.png', 'src/upscaled/sub'],
  ]);
  assert.equal(plan.skipped.length, 1);
  assert.match(plan.skipped[0] as string, /upscaled: the output folder is not read as input/);
});

test('output folder = source folder: results beside their sources', async () => {
  const root = tree(['src/a.png', 'src/sub/b.png']);
  const plan = await planFolder({
    folder: path.join(root, 'src'),
    outputFolder: path.join(root, 'src'),
    recursive: true,
  });
  assert.deepEqual(rel(root, plan.items), [
    ['src/a.png', 'src'],
    ['src/sub/b.png', 'src/sub'],
  ]);
});

test('empty folder: nothing planned', async () => {
  const root = tree([]);
  assert.deepEqual((await planFolder({ folder: root, outputFolder: path.join(root, 'o'), recursive: true })).items, []);
});

test('Explorer selection: images once each, others skipped with a reason', () => {
  const plan = planSelection(['/a/x.png', '/a/notes.txt', '/a/x.png', '/b/y.avif'], (f) =>
    path.join(path.dirname(f), 'out'),
  );
  assert.deepEqual(plan.items, [
    { input: '/a/x.png', outputFolder: '/a/out' },
    { input: '/b/y.avif', outputFolder: '/b/out' },
  ]);
  assert.deepEqual(plan.skipped, ['/a/notes.txt: not an image Upscale reads']);
});

test('output folder: beside, relative to the source, absolute', () => {
  assert.equal(outputFolderOf('/img/a/p.png', ''), '/img/a');
  assert.equal(outputFolderOf('/img/a/p.png', 'upscaled'), path.resolve('/img/a/upscaled'));
  assert.equal(outputFolderOf('/img/a/p.png', '../out'), path.resolve('/img/out'));
  assert.equal(outputFolderOf('/img/a/p.png', '/tmp/out'), '/tmp/out');
});
