// Placing a finished file over an existing one on every system (platform/rename.ts): on
// Windows a file held open for a moment is waited out, a bounded number of times; elsewhere
// the same errors are thrown at once. Windows is played by the platform and the errors it
// gives; the waits are recorded, not slept. Every place that renames a file into place uses
// it, and placeFile still places and refuses as it should where there are no hard links.
import { test, mock, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { placeFile } from '../../daemon/engine/output-path';
import { HELD_RETRY_DELAYS_MS, renameIntoPlace, retryWhileHeld } from '../../platform/rename';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation failed`), { code });
}

/** An operation that fails with `codes`, one per call, then succeeds; with the waits asked for. */
function flaky(codes: readonly string[]) {
  const waits: number[] = [];
  let calls = 0;
  return {
    waits,
    calls: () => calls,
    op: async () => {
      const code = codes[calls++];
      if (code !== undefined) throw errno(code);
      return 'placed';
    },
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}

test('on Windows a file held for a moment (EPERM, EACCES, EBUSY) is tried again, waiting longer each time', async () => {
  const f = flaky(['EBUSY', 'EPERM', 'EACCES']);
  assert.equal(await retryWhileHeld(f.op, { platform: 'win32', sleep: f.sleep }), 'placed');
  assert.equal(f.calls(), 4);
  assert.deepEqual(f.waits, [10, 20, 40]);
});

test('on Windows a file held for good is reported after about 10 s of waits, with its own error', async () => {
  const f = flaky(Array<string>(100).fill('EPERM'));
  await assert.rejects(retryWhileHeld(f.op, { platform: 'win32', sleep: f.sleep }), { code: 'EPERM' });
  assert.equal(f.calls(), HELD_RETRY_DELAYS_MS.length + 1);
  assert.deepEqual(f.waits, HELD_RETRY_DELAYS_MS);
  const total = f.waits.reduce((a, b) => a + b, 0);
  assert.ok(total >= 9000 && total <= 11000, `${total} ms of waits`);
});

test('other errors, and the same errors on other systems, are thrown at once', async () => {
  for (const code of ['ENOENT', 'ENOSPC', 'EXDEV', 'EROFS']) {
    const f = flaky([code]);
    await assert.rejects(retryWhileHeld(f.op, { platform: 'win32', sleep: f.sleep }), { code });
    assert.equal(f.calls(), 1, code);
  }
  for (const platform of ['linux', 'darwin'] as const) {
    for (const code of ['EPERM', 'EACCES', 'EBUSY']) {
      const f = flaky([code]);
      await assert.rejects(retryWhileHeld(f.op, { platform, sleep: f.sleep }), { code });
      assert.equal(f.calls(), 1, `${platform} ${code}`);
      assert.deepEqual(f.waits, []);
    }
  }
});

/** A fresh folder, removed when the test ends. */
function tempFolder(t: TestContext, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('renameIntoPlace replaces an existing file with the new one', async (t) => {
  const dir = tempFolder(t, 'upscale-rename-');
  const [temp, target] = [path.join(dir, '.a.png.partial'), path.join(dir, 'a.png')];
  fs.writeFileSync(target, 'old');
  fs.writeFileSync(temp, 'new');
  await renameIntoPlace(temp, target);
  assert.deepEqual(fs.readdirSync(dir), ['a.png']);
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
});

/** Shipped sources, as repository paths. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    return e.isDirectory() ? sources(rel) : e.name.endsWith('.ts') ? [rel] : [];
  });
}

test('every rename that places a file goes through renameIntoPlace (the output, its sidecar, model import and download)', () => {
  const bare = ['contract', 'platform', 'models', 'daemon', 'extension', 'scripts']
    .flatMap(sources)
    .filter((f) => f !== 'platform/rename.ts')
    .flatMap((f) =>
      fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /\brename(Sync)?\(/.test(line) && !/renameIntoPlace\(/.test(line) ? [`${f}:${i + 1}`] : [],
        ),
    );
  assert.deepEqual(bare, []);
  const users = ['daemon/engine/output-path.ts', 'daemon/engine/commit.ts', 'models/import.ts', 'models/download.ts'];
  for (const f of users) assert.match(fs.readFileSync(f, 'utf8'), /renameIntoPlace\(/, f);
});

test('without hard links (Windows reports FAT as EISDIR) the file is still placed, and a given name still never replaced', async (t) => {
  t.after(() => mock.restoreAll());
  mock.method(fs.promises, 'link', async () => {
    throw errno('EISDIR');
  });
  const dir = tempFolder(t, 'upscale-nolinks-');
  const source = path.join(dir, 'a.png');
  fs.writeFileSync(source, 'source');
  const temp = path.join(dir, '.out.png.job.partial');
  const out = path.join(dir, 'a@4x.png');
  // A name the program chose: renamed into place.
  fs.writeFileSync(temp, 'first');
  assert.equal(await placeFile(temp, out, source, { overwrite: false, named: false }), out);
  assert.equal(fs.readFileSync(out, 'utf8'), 'first');
  // A name the user gave, free: copied into place, the temporary file removed.
  const given = path.join(dir, 'given.png');
  fs.writeFileSync(temp, 'second');
  assert.equal(await placeFile(temp, given, source, { overwrite: false, named: true }), given);
  assert.equal(fs.readFileSync(given, 'utf8'), 'second');
  // A name the user gave that appeared meanwhile: refused, the file there untouched.
  fs.writeFileSync(temp, 'third');
  await assert.rejects(
    placeFile(temp, given, source, { overwrite: false, named: true }),
    /given\.png: appeared while the job ran; nothing was written over it/,
  );
  assert.equal(fs.readFileSync(given, 'utf8'), 'second');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['.out.png.job.partial', 'a.png', 'a@4x.png', 'given.png']);
});
