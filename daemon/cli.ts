// The `upscale` command line: starts a daemon child process and drives it through the
// same protocol module as the extension. Results go to stdout, progress and errors to stderr.
import * as fs from 'node:fs';
import { parseCliArgs, UsageError, USAGE, type UpscaleCommand } from './cli-args';
import { spawnDaemon, type SpawnedDaemon } from './protocol/connection';
import type { ModelInfo, ProgressParams, UpscaleParams, UpscaleResult } from './protocol/protocol';
import { DAEMON_VERSION } from './service';
import { convertToFile } from '../models/import';

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
  return `${r.outputPath} (${r.inputWidth}x${r.inputHeight} -> ${r.width}x${r.height}, ${r.passes} pass${r.passes === 1 ? '' : 'es'}, ${r.model} on ${r.provider}, ${seconds} s)`;
}

async function upscaleAll(cmd: UpscaleCommand, daemon: SpawnedDaemon): Promise<number> {
  const { connection } = daemon;
  if (cmd.inputs.length > 1 && cmd.output && !(fs.existsSync(cmd.output) && fs.statSync(cmd.output).isDirectory())) {
    process.stderr.write(`upscale: error: with several inputs, -o must be an existing folder; ${cmd.output} is not\n`);
    return 2;
  }
  await connection.request('initialize', { clientName: 'upscale-cli', ...(cmd.provider && { provider: cmd.provider }) });
  const tty = process.stderr.isTTY;
  let current = '';
  connection.on('$/progress', (p) => {
    if (tty && !cmd.json) process.stderr.write(`\r\x1b[K${progressLine(p, current)}`);
  });
  const pending: number[] = [];
  process.on('SIGINT', () => {
    for (const id of pending) connection.cancel(id);
    process.stderr.write('\nupscale: cancelling…\n');
  });
  let failures = 0;
  for (const input of cmd.inputs) {
    current = input;
    const params: UpscaleParams = {
      input,
      ...(cmd.output !== undefined && { output: cmd.output }),
      ...(cmd.model !== undefined && { model: cmd.model }),
      ...(cmd.scale !== undefined && { scale: cmd.scale }),
      ...(cmd.width !== undefined && { width: cmd.width }),
      ...(cmd.height !== undefined && { height: cmd.height }),
      ...(cmd.fit !== undefined && { fit: cmd.fit }),
      ...(cmd.tile !== undefined && { tile: cmd.tile }),
      ...(cmd.overlap !== undefined && { overlap: cmd.overlap }),
      ...(cmd.format !== undefined && { format: cmd.format }),
      ...(cmd.quality !== undefined && { quality: cmd.quality }),
      ...(cmd.alpha !== undefined && { alpha: cmd.alpha }),
      overwrite: cmd.overwrite,
    };
    const job = connection.start('upscale', params);
    pending.push(job.id);
    try {
      const r = await job.result;
      if (tty && !cmd.json) process.stderr.write('\r\x1b[K');
      if (cmd.json) {
        process.stdout.write(`${JSON.stringify({
          input: r.input, output: r.outputPath, width: r.width, height: r.height, passes: r.passes,
          provider: r.provider, model: r.model, seconds: r.timings.totalMs / 1000, warnings: r.warnings,
        })}\n`);
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
  const { models } = await daemon.connection.request('models/list', {});
  if (json) {
    process.stdout.write(`${JSON.stringify(models)}\n`);
    return 0;
  }
  if (models.length === 0) process.stdout.write('no models installed; run `npm run setup-models`\n');
  const row = (m: ModelInfo) => `${m.id.padEnd(28)} x${String(m.scale).padEnd(3)} ${m.family.padEnd(12)} ${(m.sizeBytes / 1e6).toFixed(1).padStart(6)} MB  ${m.source.padEnd(7)} ${m.license}`;
  for (const m of models) process.stdout.write(`${row(m)}\n`);
  return 0;
}

async function importModelFile(file: string, json: boolean, daemon: SpawnedDaemon): Promise<number> {
  await daemon.connection.request('initialize', { clientName: 'upscale-cli' });
  const { model } = await daemon.connection.request('models/import', { path: file });
  process.stdout.write(json ? `${JSON.stringify(model)}\n` : `imported ${file} as '${model.id}' (${model.family}, ${model.variant}, x${model.scale})\n`);
  return 0;
}

async function stop(daemon: SpawnedDaemon): Promise<void> {
  try {
    await daemon.connection.request('shutdown', {});
  } catch {
    // Already gone: nothing to shut down.
  }
  daemon.connection.notify('exit', {});
  await daemon.exited;
}

/** Runs the CLI; resolves with the process exit code. */
export async function runCli(argv: readonly string[], entry: string): Promise<number> {
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
  if (cmd.kind === 'models-convert') {
    // Conversion needs no resident models or queue, so it runs in this process.
    try {
      const { info } = await convertToFile(cmd.input, cmd.output);
      process.stdout.write(`wrote ${cmd.output} (${info.family}, ${info.variant}, x${info.scale})\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`upscale: error: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const daemon = startDaemon(entry);
  try {
    if (cmd.kind === 'models-list') return await listModels(cmd.json, daemon);
    if (cmd.kind === 'models-import') return await importModelFile(cmd.path, cmd.json, daemon);
    return await upscaleAll(cmd, daemon);
  } catch (e) {
    process.stderr.write(`upscale: error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stop(daemon);
  }
}
