// The daemon's journal of temporary files: what a killed daemon was writing is removed by
// the next, and nothing of a daemon still running is touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeAbandoned, TemporaryFiles } from '../../daemon/temp-files';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-temp-files-'));

/** The id of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test("a dead daemon's temporary files are removed with its journal; a running one's are kept", () => {
  const dir = path.join(work, 'journals');
  fs.mkdirSync(dir, { recursive: true });
  const left = path.join(work, '.photo@4x.png.job-1.partial');
  fs.writeFileSync(left, 'half an image');
  fs.writeFileSync(path.join(dir, `${deadPid()}.json`), JSON.stringify([left, path.join(work, 'renamed-already')]));

  const mine = new TemporaryFiles(dir);
  const writing = path.join(work, '.other@2x.png.job-2.partial');
  mine.record('job-2', writing);
  fs.writeFileSync(writing, 'being written');
  // A journal under a running process's id (this test's parent) is a live daemon's.
  const live = path.join(work, '.live.partial');
  fs.writeFileSync(live, 'being written elsewhere');
  fs.writeFileSync(path.join(dir, `${process.ppid}.json`), JSON.stringify([live]));

  assert.deepEqual(removeAbandoned(dir), [left]);
  assert.ok(!fs.existsSync(left));
  assert.ok(fs.existsSync(live), "a running daemon's file stays");
  assert.deepEqual(fs.readdirSync(dir).sort(), [`${process.pid}.json`, `${process.ppid}.json`].sort());

  // Released: placed or removed by its job, and no longer written down.
  fs.rmSync(writing);
  mine.release('job-2');
  assert.deepEqual(fs.readdirSync(dir), [`${process.ppid}.json`]);
  fs.rmSync(work, { recursive: true, force: true });
});
