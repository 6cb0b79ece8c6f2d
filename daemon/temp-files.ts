// The temporary files a daemon is writing (a job's `.name.<jobId>.partial` output and
// record), written down in a journal of its own before each file is created. A daemon that
// is killed mid-write (SIGKILL, a crash, the kernel's OOM killer) cannot remove them; the
// next daemon that starts, or `upscale daemon --clean` (which the extension runs when its
// daemon dies with jobs in flight), removes the files in the journals of daemons that are no
// longer running. Clients never need to know how the daemon names its temporary files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The journals' folder: one per user, shared by every daemon of that user. */
export function journalDir(): string {
  const user = process.getuid?.() ?? os.userInfo().username;
  return path.join(os.tmpdir(), `upscale-${user}`, 'temporary-files');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJournal(file: string): string[] {
  try {
    const data: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Array.isArray(data) ? data.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/** This daemon's journal: the temporary files its jobs are writing, by job. */
export class TemporaryFiles {
  private readonly byJob = new Map<string, Set<string>>();
  private readonly journal: string;

  constructor(private readonly dir: string = journalDir()) {
    this.journal = path.join(dir, `${process.pid}.json`);
    // One already under this process's id is a dead daemon's whose id was reused: this one has written nothing yet.
    removeJournal(this.journal);
  }

  /** Writes `file` down for `jobId`; on disk before it returns, so before the file exists. */
  record(jobId: string, file: string): void {
    let files = this.byJob.get(jobId);
    if (!files) this.byJob.set(jobId, (files = new Set()));
    files.add(file);
    this.write();
  }

  /** The job is over: its files are placed or removed, and forgotten. */
  release(jobId: string): void {
    if (this.byJob.delete(jobId)) this.write();
  }

  private write(): void {
    const files = [...this.byJob.values()].flatMap((s) => [...s]);
    try {
      if (files.length === 0) {
        fs.rmSync(this.journal, { force: true });
        return;
      }
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(this.journal, JSON.stringify(files));
    } catch {
      // A journal that cannot be written costs only the cleanup after a kill; the job goes on.
    }
  }
}

/** Removes the files a journal lists, then the journal unless one could not be removed (the next daemon tries again). */
function removeJournal(journal: string): string[] {
  const removed: string[] = [];
  let left = 0;
  for (const file of readJournal(journal)) {
    if (!fs.existsSync(file)) continue;
    try {
      fs.rmSync(file, { force: true });
      removed.push(file);
    } catch {
      left++;
    }
  }
  if (left === 0) fs.rmSync(journal, { force: true });
  return removed;
}

/** Removes the files that daemons no longer running had written down, and their journals; returns the files removed. */
export function removeAbandoned(dir: string = journalDir()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(/^(\d+)\.json$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && !isRunning(pid)) removed.push(...removeJournal(path.join(dir, name)));
  }
  return removed;
}
