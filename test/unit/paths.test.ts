// Path spellings on each platform (contract/paths.ts), with path.win32 and path.posix, so
// Windows' rules are checked on any machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { asFolder, endsInSeparator, pathsFor, samePath } from '../../contract/paths';

const { win32, posix } = path;

test('a trailing separator says "a folder": / everywhere, \\ too on Windows', () => {
  for (const p of ['C:\\out\\', 'C:/out/', '\\\\nas\\share\\out\\', 'out\\', 'D:\\'])
    assert.ok(endsInSeparator(p, win32), p);
  for (const p of ['C:\\out', 'C:', 'out.png']) assert.ok(!endsInSeparator(p, win32), p);
  assert.ok(endsInSeparator('/out/', posix));
  assert.ok(endsInSeparator('/', posix));
  // On Linux and macOS a backslash is part of a name, not a separator.
  assert.ok(!endsInSeparator('out\\', posix));
  assert.equal(asFolder('D:\\out', win32), 'D:\\out\\');
  assert.equal(asFolder('D:/out/', win32), 'D:/out/');
  assert.equal(asFolder('\\\\nas\\share', win32), '\\\\nas\\share\\');
  assert.equal(asFolder('/out', posix), '/out/');
  assert.equal(asFolder('/out\\', posix), '/out\\/');
});

test('two spellings of one path: Windows ignores case and takes either slash; POSIX compares as written', () => {
  assert.ok(samePath('C:\\Photos\\a.png', 'c:/photos/A.PNG', win32));
  assert.ok(samePath('C:\\Photos\\sub\\..\\a.png', 'C:\\Photos\\a.png', win32));
  assert.ok(samePath('\\\\NAS\\Share\\a.png', '\\\\nas\\share\\A.png', win32));
  assert.ok(!samePath('C:\\Photos\\a.png', 'D:\\Photos\\a.png', win32));
  assert.ok(!samePath('\\\\nas\\share\\a.png', '\\\\nas\\other\\a.png', win32));
  assert.ok(samePath('/photos/sub/../a.png', '/photos/a.png', posix));
  // A case-sensitive volume holds both: on POSIX only the file's identity may say they are one.
  assert.ok(!samePath('/photos/A.png', '/photos/a.png', posix));
});

test("each system's spelling: Windows' for win32, POSIX's for the others", () => {
  assert.equal(pathsFor('win32'), win32);
  for (const platform of ['linux', 'darwin', 'freebsd'] as const) assert.equal(pathsFor(platform), posix, platform);
});
