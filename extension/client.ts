// The extension's side of the daemon: starts it lazily, supervises it, and runs jobs on
// it. No vscode here, so the integration tests drive this very class against the real
// daemon. It reuses the shared protocol client (contract/rpc/connection.ts) and adds
// what an editor needs on top: one daemon shared by every command, in-flight jobs that
// fail with a clear message when the daemon dies, restarts with back-off and a limit
// (extension/restart-policy.ts), and an observable state for the status bar.
import { spawn } from 'node:child_process';
import { DaemonError, isCancelled } from '../contract/errors';
import { Notifications, Requests, type RequestDescriptor } from '../contract/methods';
import type { ModelsDownloadParams, ModelsImportParams } from '../contract/params';
import type {
  DownloadProgressParams,
  InitializeResult,
  LogLevel,
  ModelInfo,
  ModelsDownloadResult,
  ModelsImportResult,
  ProgressParams,
  UpscaleResult,
} from '../contract/protocol';
import type { UpscaleParams } from '../contract/request';
import { spawnDaemon, type SpawnedDaemon } from '../contract/rpc/connection';
import type { ExecutionProvider } from '../contract/vocabulary';
import type { DaemonLaunch } from './daemon-launch';
import { stderrLine } from './daemon-stderr';
import { RestartPolicy } from './restart-policy';

export type DaemonState =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'starting' }
  | {
      readonly kind: 'running';
      readonly provider: ExecutionProvider;
      /** Why this provider, and whether fp16 can run on it, as the daemon said at start. */
      readonly why: string;
      readonly jobs: number;
    }
  | { readonly kind: 'restarting'; readonly reason: string; readonly delayMs: number }
  | { readonly kind: 'failed'; readonly reason: string };

/** A job failed because the daemon went away under it (not because of the job's input). */
export class DaemonCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonCrashedError';
  }
}

export interface JobOptions {
  readonly onProgress?: (p: ProgressParams) => void;
  /** Aborting sends `$/cancelRequest`; the job then rejects with a Cancelled DaemonError. */
  readonly signal?: AbortSignal;
}

export interface Timers {
  readonly now: () => number;
  readonly setTimeout: (fn: () => void, ms: number) => { cancel(): void };
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

export interface DaemonClientOptions {
  /** Called at every start, so changed settings apply to the next daemon. */
  readonly launch: () => DaemonLaunch;
  /** Every daemon log line ($/log and stderr) and the supervisor's own notes. */
  readonly log: (level: LogLevel, message: string) => void;
  readonly policy?: RestartPolicy;
  readonly timers?: Timers;
  /** How long `shutdown` + `exit` may take before the process is killed. */
  readonly stopTimeoutMs?: number;
  /** How long the daemon may take to answer `initialize` before it counts as crashed. */
  readonly startTimeoutMs?: number;
}

interface Job {
  readonly input: string;
  readonly fail: (e: Error) => void;
}

/** One started daemon process and what belongs to it alone. */
interface Instance {
  readonly daemon: SpawnedDaemon;
  /** How it was started: `--clean` after its arguments removes what it leaves when it dies. */
  readonly launch: DaemonLaunch;
  readonly jobs: Map<number, Job>;
  initialized: InitializeResult | null;
  /** Set when we ended it on purpose, so its exit is not a crash. */
  stopping: boolean;
  exitDescription: string | null;
}

/** How long the daemon's `--clean` may take before it is killed. */
const CLEAN_TIMEOUT_MS = 10_000;

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code === null) return 'could not be started';
  return `exited with code ${code}`;
}

export class DaemonClient {
  private readonly policy: RestartPolicy;
  private readonly timers: Timers;
  private readonly listeners = new Set<(state: DaemonState) => void>();
  private current: Instance | null = null;
  /** The start in progress (or the restart scheduled after a crash); shared by all callers. */
  private starting: Promise<Instance> | null = null;
  /** The back-off before a restart after a crash: its timer and how to call it off. */
  private restartPending: { readonly timer: { cancel(): void }; readonly abandon: (e: Error) => void } | null = null;
  private failedReason: string | null = null;
  private disposed = false;
  private _state: DaemonState = { kind: 'stopped' };

  constructor(private readonly options: DaemonClientOptions) {
    this.policy = options.policy ?? new RestartPolicy();
    this.timers = options.timers ?? realTimers;
  }

  get state(): DaemonState {
    return this._state;
  }

  /** The daemon's answer to `initialize`, once running. */
  get initializeResult(): InitializeResult | null {
    return this.current?.initialized ?? null;
  }

  onState(listener: (state: DaemonState) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private setState(state: DaemonState): void {
    this._state = state;
    for (const l of [...this.listeners]) l(state);
  }

  private updateRunningState(): void {
    const inst = this.current;
    if (!inst?.initialized || this.starting) return;
    const { activeProvider, providerReason, fp16 } = inst.initialized;
    this.setState({
      kind: 'running',
      provider: activeProvider,
      why: `${providerReason}; ${fp16.available ? 'fp16 available' : `fp16 unavailable${fp16.reason ? ` (${fp16.reason})` : ''}`}`,
      jobs: inst.jobs.size,
    });
  }

  /** Starts the daemon if it is not running; resolves once it has answered `initialize`. */
  async start(): Promise<InitializeResult> {
    const inst = await this.ensureInstance();
    return inst.initialized as InitializeResult;
  }

  private ensureInstance(): Promise<Instance> {
    if (this.disposed) return Promise.reject(new Error('the Upscale extension is shutting down'));
    if (this.failedReason !== null) {
      return Promise.reject(new Error(`${this.failedReason}. Run "Upscale: Restart Daemon" to try again.`));
    }
    if (this.current?.initialized && !this.current.stopping) return Promise.resolve(this.current);
    this.starting ??= this.spawn();
    return this.starting;
  }

  private spawn(): Promise<Instance> {
    this.setState({ kind: 'starting' });
    const launch = this.options.launch();
    const log = this.options.log;
    let partial = '';
    const logStderr = (raw: string) => {
      const line = stderrLine(raw);
      if (line && !line.own) log(line.level, line.message);
    };
    const daemon = spawnDaemon(launch.command, launch.args, {
      env: launch.env,
      onStderr: (text) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) logStderr(line);
      },
    });
    const inst: Instance = {
      daemon,
      launch,
      jobs: new Map(),
      initialized: null,
      stopping: false,
      exitDescription: null,
    };
    this.current = inst;
    log('info', `starting the daemon: ${launch.command} ${launch.args.join(' ')}`);
    daemon.connection.on(Notifications.log, (p) => log(p.level, p.message));
    void daemon.exited.then(({ code, signal }) => {
      logStderr(partial);
      this.exited(inst, describeExit(code, signal));
    });
    // A daemon that never answers would hang every command: past the limit it is killed,
    // and its exit is handled as any crash.
    const startTimeoutMs = this.options.startTimeoutMs ?? 60_000;
    const startTimer = this.timers.setTimeout(() => {
      if (inst.initialized || inst.exitDescription !== null) return;
      log('error', `the daemon did not answer "initialize" within ${startTimeoutMs / 1000} s; killing it`);
      daemon.process.kill('SIGKILL');
    }, startTimeoutMs);
    const started = daemon.connection
      .request(Requests.initialize, launch.initialize)
      .finally(() => startTimer.cancel())
      .then(
        (result) => {
          inst.initialized = result;
          for (const p of result.modelProblems) log('warn', `model skipped: ${p}`);
          log(
            'info',
            `daemon ${result.version} ready; running models on ${result.activeProvider} (${result.providerReason}); fp16 ${result.fp16.available ? 'available' : `unavailable${result.fp16.reason ? `: ${result.fp16.reason}` : ''}`}; models folder ${result.modelsFolder}`,
          );
          if (this.current === inst) {
            this.starting = null;
            this.updateRunningState();
          }
          return inst;
        },
        (e: unknown) => {
          if (this.current === inst) this.starting = null;
          if (inst.exitDescription === null) {
            // It runs but refused `initialize` (a bad setting, say): end it on purpose, so
            // the next command starts a fresh one and gets the same clear answer.
            inst.stopping = true;
            daemon.process.kill();
          }
          const why = inst.exitDescription
            ? `the Upscale daemon ${inst.exitDescription} while starting`
            : `the Upscale daemon did not start: ${(e as Error).message}`;
          throw new DaemonCrashedError(`${why}; see the Upscale log`);
        },
      );
    return started;
  }

  /** Runs the daemon's `--clean`, which removes the temporary files of daemons that died; its log lines go to the log. */
  private clean(launch: DaemonLaunch): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(launch.command, [...launch.args, '--clean'], {
        env: launch.env,
        stdio: ['ignore', 'ignore', 'pipe'],
        // No console window on Windows, as for the daemon (contract/rpc/connection.ts).
        windowsHide: true,
      });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      // A clean that hangs must not hold the jobs' failure back for long.
      const timer = this.timers.setTimeout(() => child.kill('SIGKILL'), CLEAN_TIMEOUT_MS);
      const done = () => {
        timer.cancel();
        for (const raw of text.split('\n')) {
          const line = stderrLine(raw);
          if (line) this.options.log(line.level, line.message);
        }
        resolve();
      };
      child.on('exit', done);
      child.on('error', (e) => {
        this.options.log('warn', `could not run the daemon's clean-up: ${e.message}`);
        done();
      });
    });
  }

  private exited(inst: Instance, description: string): void {
    inst.exitDescription = description;
    const crashed = !inst.stopping && !this.disposed;
    const message = `the Upscale daemon ${description}`;
    if (crashed) this.options.log('error', `${message} unexpectedly`);
    else this.options.log('info', `${message}`);
    const jobs = [...inst.jobs.values()];
    inst.jobs.clear();
    const failJobs = () => {
      for (const job of jobs)
        job.fail(
          crashed
            ? new DaemonCrashedError(
                `${message} while upscaling ${job.input}; the job did not finish and left no output. See the Upscale log.`,
              )
            : new DaemonCrashedError(
                `the Upscale daemon was stopped while upscaling ${job.input}; the job did not finish.`,
              ),
        );
    };
    // A daemon that dies mid-write cannot remove its temporary files; its own `--clean` does,
    // before the jobs are reported, so that "left no output" is true when it is said.
    if (jobs.length > 0) void this.clean(inst.launch).then(failJobs);
    else failJobs();
    if (this.current !== inst) return;
    this.current = null;
    if (!crashed) {
      if (!this.starting) this.setState({ kind: 'stopped' });
      return;
    }
    const decision = this.policy.crashed(this.timers.now());
    if (!decision.restart) {
      this.failedReason = decision.reason;
      this.starting = null;
      this.options.log('error', `${decision.reason}. Run "Upscale: Restart Daemon" to try again.`);
      this.setState({ kind: 'failed', reason: decision.reason });
      return;
    }
    this.options.log(
      'info',
      `restarting the daemon in ${decision.delayMs} ms (crash ${decision.crashesInWindow} in the window)`,
    );
    this.setState({ kind: 'restarting', reason: `${message} unexpectedly`, delayMs: decision.delayMs });
    // Callers that ask for the daemon while the restart is pending wait for it.
    const restarted = new Promise<Instance>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.restartPending = null;
        this.starting = null;
        if (this.disposed) {
          reject(new Error('the Upscale extension is shutting down'));
          return;
        }
        this.starting = this.spawn();
        this.starting.then(resolve, reject);
      }, decision.delayMs);
      this.restartPending = { timer, abandon: reject };
    });
    // A restart that nobody awaits must not surface as an unhandled rejection.
    restarted.catch(() => undefined);
    this.starting = restarted;
  }

  /** A typed request to the daemon, starting it if needed. */
  async request<P, R>(request: RequestDescriptor<P, R>, params: NoInfer<P>): Promise<R> {
    const inst = await this.ensureInstance();
    return inst.daemon.connection.request(request, params);
  }

  async listModels(): Promise<readonly ModelInfo[]> {
    return (await this.request(Requests.modelsList, {})).models;
  }

  /** Imports a model file into the models folder through `models/import`. */
  async importModel(params: ModelsImportParams): Promise<ModelsImportResult> {
    const inst = await this.ensureInstance();
    return inst.daemon.connection.request(Requests.modelsImport, params);
  }

  /** `models/download` with its `$/downloadProgress`; aborting `signal` sends `$/cancelRequest`. */
  async downloadModel(
    params: ModelsDownloadParams,
    options: { readonly onProgress?: (p: DownloadProgressParams) => void; readonly signal?: AbortSignal } = {},
  ): Promise<ModelsDownloadResult> {
    const { connection } = (await this.ensureInstance()).daemon;
    const pending = connection.start(Requests.modelsDownload, params);
    const off = connection.on(Notifications.downloadProgress, (p) => {
      if (p.requestId === pending.id) options.onProgress?.(p);
    });
    const onAbort = () => connection.cancel(pending.id);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await pending.result;
    } finally {
      off();
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs one upscale job; progress and cancellation as in JobOptions. */
  async upscale(params: UpscaleParams, options: JobOptions = {}): Promise<UpscaleResult> {
    if (options.signal?.aborted)
      throw new DaemonError('Cancelled', `cancelled before it started: ${params.input}`, params.input);
    const inst = await this.ensureInstance();
    const { connection } = inst.daemon;
    const pending = connection.start(Requests.upscale, params);
    return new Promise<UpscaleResult>((resolve, reject) => {
      let settled = false;
      const offProgress = connection.on(Notifications.progress, (p) => {
        if (p.requestId !== pending.id) return;
        options.onProgress?.(p);
      });
      const onAbort = () => connection.cancel(pending.id);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        settled = true;
        offProgress();
        options.signal?.removeEventListener('abort', onAbort);
        inst.jobs.delete(pending.id);
        this.updateRunningState();
      };
      // A crash fails the job with the supervisor's message, whichever comes first.
      inst.jobs.set(pending.id, {
        input: params.input,
        fail: (e) => {
          if (settled) return;
          finish();
          reject(e);
        },
      });
      this.updateRunningState();
      pending.result.then(
        (r) => {
          if (settled) return;
          finish();
          resolve(r);
        },
        (error: unknown) => {
          if (settled) return;
          // We asked for the cancel, so say so whatever the daemon called the failure.
          const e =
            options.signal?.aborted && !isCancelled(error)
              ? new DaemonError('Cancelled', `cancelled: ${params.input}`, params.input)
              : error;
          const fail = () => {
            // The exit handler took the job: it fails it with its clearer message once the
            // daemon's clean-up has run.
            if (settled || (inst.exitDescription !== null && !inst.jobs.has(pending.id))) return;
            finish();
            reject(asError(e));
          };
          // The connection closes a moment before the supervisor hears of the exit; let
          // the exit handler take the job first.
          if (
            inst.exitDescription === null &&
            (inst.daemon.process.exitCode !== null || inst.daemon.process.signalCode !== null)
          ) {
            setImmediate(fail);
            return;
          }
          fail();
        },
      );
    });
  }

  /** Sends `$/cancelRequest` for every job in flight; returns how many. */
  cancelAll(): number {
    const inst = this.current;
    if (!inst) return 0;
    for (const id of inst.jobs.keys()) inst.daemon.connection.cancel(id);
    return inst.jobs.size;
  }

  /** The running daemon's process id (for the log, and for tests that kill it). */
  get pid(): number | undefined {
    return this.current?.daemon.process.pid;
  }

  /** Jobs this client has in flight (running or queued in the daemon). */
  get jobCount(): number {
    return this.current?.jobs.size ?? 0;
  }

  /** Stops the daemon: `shutdown`, `exit`, and a kill if it has not gone within the timeout. */
  async stop(): Promise<void> {
    // A restart waiting on its back-off is called off; whoever waits on it hears why.
    const pending = this.restartPending;
    this.restartPending = null;
    pending?.timer.cancel();
    pending?.abandon(new Error('the Upscale daemon was stopped before it could restart'));
    const starting = this.starting;
    this.starting = null;
    const inst = this.current ?? (starting && !pending ? await starting.catch(() => null) : null);
    if (!inst) {
      if (!this.disposed && this.failedReason === null) this.setState({ kind: 'stopped' });
      return;
    }
    inst.stopping = true;
    const { daemon } = inst;
    if (inst.exitDescription !== null) return;
    const timeout = this.options.stopTimeoutMs ?? 3000;
    let timer: { cancel(): void } | null = null;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.timers.setTimeout(() => resolve('timeout'), timeout);
    });
    const polite = (async () => {
      try {
        await daemon.connection.request(Requests.shutdown, {});
      } catch {
        // Gone already, or refusing: exit and the kill below still apply.
      }
      daemon.connection.notify(Notifications.exit, {});
      await daemon.exited;
      return 'exited' as const;
    })();
    const outcome = await Promise.race([polite, timedOut]);
    (timer as { cancel(): void } | null)?.cancel();
    if (outcome === 'timeout') {
      this.options.log('warn', `the daemon did not exit within ${timeout} ms; killing it`);
      daemon.process.kill('SIGKILL');
      await daemon.exited;
    }
  }

  /** The user's "Restart Daemon": a fresh crash budget and a new process now. */
  async restart(): Promise<InitializeResult> {
    await this.stop();
    this.policy.reset();
    this.failedReason = null;
    return this.start();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.stop();
    this.disposed = true;
    this.listeners.clear();
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
