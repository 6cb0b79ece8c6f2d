// The hostile suite's plumbing: a raw client for the real daemon over real stdio (every
// byte is ours to choose), a deterministic PRNG, folder snapshots, RSS readings and the
// tally that becomes the printed report.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrameParser, frame } from '../../contract/rpc/framing';
import type { ProgressParams } from '../../contract/protocol';

export const REPO_ROOT = process.cwd();
export const DAEMON_ENTRY = path.join(REPO_ROOT, 'out', 'daemon', 'upscale.js');
export const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-hostile-'));

export function dir(...parts: string[]): string {
  const d = path.join(ROOT, ...parts);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

// ---------------------------------------------------------------------------------------
// The tally

export interface Tally {
  tried: number;
  expectedErrors: number;
  passed: number;
  failed: number;
}

const tallies = new Map<string, Tally>();
export const totals = { crashes: 0, lost: 0 };
export const failures: string[] = [];
export const notes: string[] = [];

export function tally(category: string): Tally {
  let t = tallies.get(category);
  if (!t) tallies.set(category, (t = { tried: 0, expectedErrors: 0, passed: 0, failed: 0 }));
  return t;
}

export function allTallies(): ReadonlyMap<string, Tally> {
  return tallies;
}

export class CheckFailed extends Error {}

export function ensure(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** Runs one named check; a thrown error makes it fail, with the reason in the report. */
export async function check(category: string, name: string, fn: () => Promise<void>): Promise<void> {
  const t = tally(category);
  const started = Date.now();
  try {
    await fn();
    t.passed++;
    process.stdout.write(`  ok    ${category}: ${name} (${Date.now() - started} ms)\n`);
  } catch (e) {
    t.failed++;
    const why = e instanceof Error ? e.message : String(e);
    failures.push(`${category}: ${name}: ${why}`);
    process.stdout.write(`  FAIL  ${category}: ${name}: ${why}\n`);
  }
}

export function note(text: string): void {
  notes.push(text);
  process.stdout.write(`  note  ${text}\n`);
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness (mulberry32)

export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------
// Snapshots: names, sizes, mtimes and content hashes of everything under a folder

export interface Entry {
  readonly kind: 'file' | 'dir' | 'link' | 'other';
  readonly size: number;
  readonly mtimeMs: number;
  readonly hash: string;
}

export function snapshot(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(root, full);
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink())
        out.set(rel, { kind: 'link', size: 0, mtimeMs: st.mtimeMs, hash: fs.readlinkSync(full) });
      else if (st.isDirectory()) {
        out.set(rel, { kind: 'dir', size: 0, mtimeMs: st.mtimeMs, hash: '' });
        walk(full);
      } else if (st.isFile()) {
        out.set(rel, {
          kind: 'file',
          size: st.size,
          mtimeMs: st.mtimeMs,
          hash: createHash('sha256').update(fs.readFileSync(full)).digest('hex'),
        });
      } else out.set(rel, { kind: 'other', size: 0, mtimeMs: st.mtimeMs, hash: '' });
    }
  };
  walk(root);
  return out;
}

/** What changed between two snapshots, in words ([] when nothing did). */
export function differences(before: Map<string, Entry>, after: Map<string, Entry>): string[] {
  const diffs: string[] = [];
  for (const [name, b] of before) {
    const a = after.get(name);
    if (!a) diffs.push(`${name} disappeared`);
    else if (a.kind !== b.kind || a.size !== b.size || a.hash !== b.hash) diffs.push(`${name} changed`);
    else if (a.kind === 'file' && a.mtimeMs !== b.mtimeMs) diffs.push(`${name} was rewritten (mtime)`);
  }
  for (const name of after.keys()) if (!before.has(name)) diffs.push(`${name} appeared`);
  return diffs;
}

/** Checks nothing changed; any change counts as a file lost or half-written. */
export function ensureUnchanged(before: Map<string, Entry>, after: Map<string, Entry>, what: string): void {
  const diffs = differences(before, after);
  if (diffs.length > 0) {
    totals.lost += diffs.length;
    throw new CheckFailed(`${what}: ${diffs.slice(0, 5).join('; ')}`);
  }
}

export function partialsUnder(root: string): string[] {
  return [...snapshot(root).keys()].filter((n) => n.endsWith('.partial'));
}

// ---------------------------------------------------------------------------------------
// Memory

export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes the process has read through read(2) and friends, from /proc/<pid>/io. */
export function bytesRead(pid: number): number {
  const m = /^rchar:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// A raw client of the real daemon

export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: { readonly file?: string; readonly name?: string };
}

export interface Reply {
  readonly result?: unknown;
  readonly error?: RpcError;
}

interface Message {
  readonly id?: unknown;
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: RpcError;
}

export class RawDaemon {
  readonly process: ChildProcess;
  readonly stderr: string[] = [];
  readonly progress: ProgressParams[] = [];
  /** Every error response, by code, and responses with no id (to malformed input). */
  readonly errorCodes = new Map<number, number>();
  responses = 0;
  logs = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly pending = new Map<string, (reply: Reply) => void>();
  private nextId = 1;
  private readonly listeners = new Set<(m: Message) => void>();

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.process = spawn(process.execPath, [DAEMON_ENTRY, 'daemon'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.process.stdin?.on('error', () => undefined);
    this.process.stderr?.on('data', (c: Buffer) => {
      this.stderr.push(c.toString('utf8'));
      if (this.stderr.length > 2000) this.stderr.splice(0, 1000);
    });
    const parser = new FrameParser({
      message: (text) => this.receive(text),
      malformed: (problem) => this.stderr.push(`CLIENT: malformed frame from the daemon: ${problem}\n`),
    });
    this.process.stdout?.on('data', (c: Buffer) => parser.push(c));
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        for (const [, r] of this.pending) r({ error: { code: -1, message: `the daemon exited (${signal ?? code})` } });
        this.pending.clear();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.process.pid as number;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  private receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.stderr.push(`CLIENT: the daemon sent invalid JSON: ${text.slice(0, 200)}\n`);
      return;
    }
    for (const m of (Array.isArray(parsed) ? parsed : [parsed]) as Message[]) {
      if (typeof m !== 'object' || m === null) continue;
      if (typeof m.method === 'string') {
        if (m.method === '$/progress') this.progress.push(m.params as ProgressParams);
        if (m.method === '$/log') this.logs++;
      } else {
        this.responses++;
        if (m.error) this.errorCodes.set(m.error.code, (this.errorCodes.get(m.error.code) ?? 0) + 1);
        const key = JSON.stringify(m.id ?? null);
        const r = this.pending.get(key);
        if (r) {
          this.pending.delete(key);
          r(m.error ? { error: m.error } : { result: m.result });
        }
      }
      for (const l of this.listeners) l(m);
    }
  }

  onMessage(listener: (m: Message) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes bytes as they are; resolves when the pipe has taken them (backpressure). */
  async writeRaw(bytes: Buffer | string): Promise<void> {
    const stdin = this.process.stdin;
    if (!stdin || stdin.destroyed || !this.alive) return;
    if (!stdin.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }

  /** Sends a request with an id of our choosing (default: the next number) and waits for its reply. */
  request(
    method: string,
    params: unknown,
    id: string | number = `h${this.nextId++}`,
  ): { id: string | number; reply: Promise<Reply> } {
    const reply = new Promise<Reply>((resolve) => this.pending.set(JSON.stringify(id), resolve));
    void this.writeRaw(frame(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    return { id, reply };
  }

  async call(method: string, params: unknown): Promise<Reply> {
    return this.request(method, params).reply;
  }

  notify(method: string, params: unknown): void {
    void this.writeRaw(frame(JSON.stringify({ jsonrpc: '2.0', method, params })));
  }

  /** Waits for a progress notification matching `pred`, up to `ms`. */
  async waitProgress(pred: (p: ProgressParams) => boolean, ms: number): Promise<ProgressParams | null> {
    const deadline = Date.now() + ms;
    let seen = 0;
    while (Date.now() < deadline && this.alive) {
      for (; seen < this.progress.length; seen++) {
        const p = this.progress[seen] as ProgressParams;
        if (pred(p)) return p;
      }
      await sleep(5);
    }
    return null;
  }

  /** Whether an uncaught exception or unhandled rejection was logged. */
  uncaught(): string[] {
    return this.stderr
      .join('')
      .split('\n')
      .filter((l) => /uncaught|unhandled rejection/i.test(l));
  }

  async stop(): Promise<void> {
    if (this.alive) {
      await Promise.race([this.call('shutdown', {}), sleep(20000)]);
      this.notify('exit', {});
      await Promise.race([this.exited, sleep(10000)]);
      if (this.alive) this.process.kill('SIGKILL');
    }
    await this.exited;
  }
}

/** Counts an unexpected exit of `d` (and uncaught errors it logged) as crashes. */
export function countCrash(d: RawDaemon, expectedExit = false): void {
  if (!expectedExit && !d.alive) {
    totals.crashes++;
    failures.push(
      `crash: the daemon exited (${d.exitInfo?.signal ?? d.exitInfo?.code}); stderr tail: ${d.stderr.join('').slice(-600)}`,
    );
  }
  const uncaught = d.uncaught();
  if (uncaught.length > 0) {
    totals.crashes += uncaught.length;
    failures.push(`uncaught in the daemon: ${uncaught.slice(0, 3).join(' | ').slice(0, 600)}`);
  }
}
