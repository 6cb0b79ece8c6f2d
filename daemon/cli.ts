// The `upscale` command line: starts a daemon child process and drives it through the
// same protocol module as the extension. Results go to stdout, progress and errors to stderr.
import * as fs from 'node:fs';
import { parseCliArgs, UsageError, USAGE, type CliCommand, type UpscaleCommand } from './cli-args';
import { spawnDaemon, type SpawnedDaemon } from '../contract/rpc/connection';
import type { ModelInfo, ProgressParams, RunsOn, UpscaleResult } from '../contract/protocol';
import type { UpscaleParams } from '../contract/request';
import { DAEMON_VERSION } from './service';
import { cleanUp } from './main';
import { convertToFile } from '../models/import';
import { catalogueFromEnv } from '../models/catalogue';
import { formatSize, sourceName } from '../contract/catalogue';
import { Requests, Notifications } from '../contract/methods';
import { describeRequirements } from '../models/registry';

function startDaemon(entry: string): SpawnedDaemon {
  return spawnDaemon(process.execPath, [entry, 'daemon'], {
    onStderr: (text) => {
      if (process.env.UPSCALE_DEBUG) process.stderr.write(text);
    },
  });
}

function progressLine(p: ProgressParams, file: string): string {
  const passes = p.passes > 1 ? ` pass ${p.pass}/${p.passes}` : '';
  const tiles = p.total > 0 ? ` ${p.done}/${p.total} tiles` : '';
  return `${file}: ${p.stage}${passes}${tiles}`;
}

function describe(r: UpscaleResult): string {
  const seconds = (r.timings.totalMs / 1000).toFixed(2);
  return `${r.outputPath} (${r.inputWidth}x${r.inputHeight} -> ${r.width}x${r.height}, ${r.passes} pass${r.passes === 1 ? '' : 'es'}, ${r.model} on ${r.provider} in ${r.precision}, ${seconds} s)\n  ${runsOnLine(r)}`;
}

/** Why the job ran where and how it did, as the daemon decided. */
function runsOnLine(r: RunsOn): string {
  return `${r.provider}: ${r.providerReason}; ${r.precision}: ${r.precisionReason}`;
}

function runsOnOf(r: RunsOn): RunsOn {
  return {
    provider: r.provider,
    providerReason: r.providerReason,
    precision: r.precision,
    precisionReason: r.precisionReason,
  };
}

function describePlan(r: UpscaleResult): string {
  const p = r.plan;
  if (!p) return `${r.input}: (no plan returned)`;
  const models = p.chain.join(' > ');
  const lines = [
    `${r.input} (${p.inputWidth}x${p.inputHeight}) -> ${p.outputPath} (${p.width}x${p.height} ${p.format}, fit ${p.fit}) with ${models}: ${p.modelReason}`,
    `  on ${runsOnLine(r)}`,
  ];
  if (p.blend) lines.push(`  blended: ${1 - p.blend.weight} x ${models} + ${p.blend.weight} x ${p.blend.model}`);
  if (p.tta > 1) lines.push(`  TTA: each tile runs ${p.tta} times (flipped and turned), averaged`);
  p.passes.forEach((s, i) =>
    lines.push(
      `  pass ${i + 1}: ${s.branch === 'blend' ? 'blend, ' : ''}${s.model} (x${s.scale}) ${s.inputWidth}x${s.inputHeight} -> ${s.outputWidth}x${s.outputHeight}, ${s.columns}x${s.rows} tile${s.tiles === 1 ? '' : 's'} of ${s.tileWidth}x${s.tileHeight}, overlap ${s.overlap}`,
    ),
  );
  if (p.finalResize)
    lines.push(
      `  Lanczos-3: ${p.finalResize.fromWidth}x${p.finalResize.fromHeight} -> ${p.finalResize.toWidth}x${p.finalResize.toHeight}`,
    );
  if (p.content.width !== p.width || p.content.height !== p.height)
    lines.push(`  placed at ${p.content.x},${p.content.y} on ${p.background ?? 'white'}`);
  return lines.join('\n');
}

async function upscaleAll(cmd: UpscaleCommand, daemon: SpawnedDaemon): Promise<number> {
  const { connection } = daemon;
  if (cmd.inputs.length > 1 && cmd.output && !(fs.existsSync(cmd.output) && fs.statSync(cmd.output).isDirectory())) {
    process.stderr.write(`upscale: error: with several inputs, -o must be an existing folder; ${cmd.output} is not\n`);
    return 2;
  }
  // Undefined fields are left out of the message (JSON has no undefined).
  await connection.request(Requests.initialize, { clientName: 'upscale-cli', provider: cmd.provider });
  const tty = process.stderr.isTTY;
  let current = '';
  connection.on(Notifications.progress, (p) => {
    if (tty && !cmd.json) process.stderr.write(`\r\x1b[K${progressLine(p, current)}`);
  });
  const pending: number[] = [];
  process.on('SIGINT', () => {
    for (const id of pending) connection.cancel(id);
    process.stderr.write('\nupscale: cancelling…\n');
  });
  let failures = 0;
  const { kind: _kind, inputs, provider: _provider, json: _json, ...options } = cmd;
  // Every option the command line took is a request field (daemon/cli-args.ts).
  for (const input of inputs) {
    current = input;
    const params: UpscaleParams = { input, ...options };
    const job = connection.start(Requests.upscale, params);
    pending.push(job.id);
    try {
      const r = await job.result;
      if (tty && !cmd.json) process.stderr.write('\r\x1b[K');
      if (cmd.dryRun) {
        process.stdout.write(
          cmd.json
            ? `${JSON.stringify({ input: r.input, dryRun: true, plan: r.plan, ...runsOnOf(r) })}\n`
            : `${describePlan(r)}\n`,
        );
      } else if (cmd.json) {
        process.stdout.write(
          `${JSON.stringify({
            input: r.input,
            output: r.outputPath,
            width: r.width,
            height: r.height,
            passes: r.passes,
            ...runsOnOf(r),
            model: r.model,
            seconds: r.timings.totalMs / 1000,
            warnings: r.warnings,
            sidecar: r.sidecarPath,
          })}\n`,
        );
      } else {
        process.stdout.write(`wrote ${describe(r)}\n`);
        for (const w of r.warnings) process.stderr.write(`upscale: warning: ${input}: ${w}\n`);
      }
    } catch (e) {
      if (tty && !cmd.json) process.stderr.write('\r\x1b[K');
      failures++;
      process.stderr.write(`upscale: error: ${(e as Error).message}\n`);
    } finally {
      pending.splice(pending.indexOf(job.id), 1);
    }
  }
  return failures > 0 ? 1 : 0;
}

async function listModels(json: boolean, daemon: SpawnedDaemon): Promise<number> {
  const { models } = await daemon.connection.request(Requests.modelsList, {});
  if (json) {
    process.stdout.write(`${JSON.stringify(models)}\n`);
    return 0;
  }
  if (models.length === 0) process.stdout.write('no models installed; run `npm run setup-models`\n');
  const row = (m: ModelInfo) =>
    `${m.id.padEnd(28)} x${String(m.scale).padEnd(3)} ${(m.architecture ?? m.family).padEnd(12)} ${(m.sizeBytes / 1e6).toFixed(1).padStart(6)} MB  ${m.source.padEnd(7)} ${m.license}\n` +
    `${''.padEnd(29)}${m.variant}; ${describeRequirements(m)}`;
  for (const m of models) process.stdout.write(`${row(m)}\n`);
  return 0;
}

/** Warnings go to stderr even with --json, so stdout stays one JSON object. */
function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`upscale: warning: ${w}\n`);
}

async function importModelFile(
  cmd: Extract<CliCommand, { kind: 'models-import' }>,
  daemon: SpawnedDaemon,
): Promise<number> {
  await daemon.connection.request(Requests.initialize, { clientName: 'upscale-cli' });
  const { model, warnings } = await daemon.connection.request(Requests.modelsImport, {
    path: cmd.path,
    activation: cmd.activation,
  });
  process.stdout.write(
    cmd.json
      ? `${JSON.stringify(model)}\n`
      : `imported ${cmd.path} as '${model.id}' (${model.family}, ${model.variant}, x${model.scale})\n`,
  );
  printWarnings(warnings);
  return 0;
}

async function stop(daemon: SpawnedDaemon): Promise<void> {
  try {
    await daemon.connection.request(Requests.shutdown, {});
  } catch {
    // Already gone: nothing to shut down.
  }
  daemon.connection.notify(Notifications.exit, {});
  await daemon.exited;
}

/** `upscale models catalogue [--json]` and `upscale models download ID [--allow-unverified] [--keep-source] [--proxy URL] [--json]`. */
async function modelsDownloadCli(
  sub: 'download' | 'catalogue',
  args: readonly string[],
  entry: string,
): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const proxyAt = args.indexOf('--proxy');
  const proxy = proxyAt >= 0 ? args[proxyAt + 1] : undefined;
  const positional = args.filter((a, i) => !a.startsWith('--') && !(proxyAt >= 0 && i === proxyAt + 1));
  const known = sub === 'download' ? ['--json', '--allow-unverified', '--keep-source', '--proxy'] : ['--json'];
  const unknown = [...flags].find((f) => !known.includes(f));
  // `download` takes the catalogue id, `catalogue` nothing.
  const [id, ...extra] = positional;
  const wrongCount = sub === 'download' ? id === undefined || extra.length > 0 : positional.length > 0;
  if (unknown || wrongCount || (proxyAt >= 0 && !proxy)) {
    process.stderr.write(
      `upscale: usage: ${sub === 'download' ? 'upscale models download ID [--allow-unverified] [--keep-source] [--proxy URL] [--json]' : 'upscale models catalogue [--json]'}${unknown ? ` (unknown option '${unknown}')` : ''}\n`,
    );
    return 2;
  }
  const json = flags.has('--json');
  if (sub === 'catalogue') {
    const { models } = catalogueFromEnv();
    if (json) process.stdout.write(`${JSON.stringify(models)}\n`);
    for (const m of json ? [] : models) {
      const from = sourceName(m);
      const status =
        from === null
          ? `manual: ${m.manualUrl ?? ''}`
          : `${m.verified ? 'verified' : 'UNVERIFIED (no published sha256)'}, from ${from}`;
      process.stdout.write(
        `${m.id.padEnd(30)} x${String(m.scale).padEnd(2)} ${formatSize(m.sizeBytes).padStart(13)}  ${m.license.spdx}${m.license.commercialUse ? '' : ' (non-commercial)'}  ${status}\n    ${m.description}\n`,
      );
    }
    return 0;
  }
  if (id === undefined) return 2;
  const daemon = startDaemon(entry);
  const { connection } = daemon;
  try {
    await connection.request(Requests.initialize, { clientName: 'upscale-cli' });
    const tty = process.stderr.isTTY && !json;
    connection.on(Notifications.downloadProgress, (p) => {
      if (!tty) return;
      const amount = p.bytesTotal
        ? `${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB`
        : `${(p.bytesDone / 1e6).toFixed(1)} MB`;
      process.stderr.write(`\r\x1b[K${p.id}: ${p.phase}${p.phase === 'downloading' ? ` ${amount}` : ''}`);
    });
    const job = connection.start(Requests.modelsDownload, {
      id,
      allowUnverified: flags.has('--allow-unverified'),
      keepSource: flags.has('--keep-source'),
      proxy,
    });
    const onSigint = () => {
      connection.cancel(job.id);
      process.stderr.write('\nupscale: cancelling…\n');
    };
    process.on('SIGINT', onSigint);
    try {
      const r = await job.result;
      if (tty) process.stderr.write('\r\x1b[K');
      if (r.alreadyInstalled && !json)
        process.stdout.write(`${r.model.id} is already installed (sha256 ${r.sha256})\n`);
      else
        process.stdout.write(
          json
            ? `${JSON.stringify(r)}\n`
            : `downloaded ${r.model.id} (${r.model.family}, x${r.model.scale}, ${r.model.license}; ${r.bytes} bytes, sha256 ${r.sha256}${r.verified ? ' verified' : ' NOT verified'})${r.sourcePath ? `; source kept at ${r.sourcePath}` : ''}\n`,
        );
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } catch (e) {
    process.stderr.write(`\r\x1b[Kupscale: error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stop(daemon);
  }
}

/** Runs the CLI; resolves with the process exit code. */
export async function runCli(argv: readonly string[], entry: string): Promise<number> {
  if (argv[0] === 'models' && (argv[1] === 'download' || argv[1] === 'catalogue'))
    return modelsDownloadCli(argv[1], argv.slice(2), entry);
  let cmd;
  try {
    cmd = parseCliArgs(argv, process.cwd());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`upscale: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cmd.kind === 'version') {
    process.stdout.write(`${DAEMON_VERSION}\n`);
    return 0;
  }
  if (cmd.kind === 'daemon') throw new Error('the daemon command is handled by the entry point');
  if (cmd.kind === 'daemon-clean') {
    cleanUp();
    return 0;
  }
  if (cmd.kind === 'models-convert') {
    // Conversion needs no resident models or queue, so it runs in this process.
    try {
      const { info, warnings } = await convertToFile(cmd.input, cmd.output, {
        activation: cmd.activation,
      });
      process.stdout.write(`wrote ${cmd.output} (${info.family}, ${info.variant}, x${info.scale})\n`);
      printWarnings(warnings);
      return 0;
    } catch (e) {
      process.stderr.write(`upscale: error: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const daemon = startDaemon(entry);
  try {
    if (cmd.kind === 'models-list') return await listModels(cmd.json, daemon);
    if (cmd.kind === 'models-import') return await importModelFile(cmd, daemon);
    return await upscaleAll(cmd, daemon);
  } catch (e) {
    process.stderr.write(`upscale: error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stop(daemon);
  }
}
