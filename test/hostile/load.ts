// Load. The product runs one daemon per client (each VS Code window or CLI run spawns its
// own over stdio), so "two clients" is tested both ways it can happen: two submitters
// interleaving 50 jobs on one connection (two extension features in one window, e.g. a
// folder batch and single images), and two daemons writing into one shared output folder
// at the same time (two windows on one workspace).
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { type ProgressParams } from '../../contract/protocol';
import { ErrorCode } from '../../contract/errors';
import {
  CheckFailed,
  Prng,
  RawDaemon,
  check,
  countCrash,
  dir,
  ensure,
  partialsUnder,
  rssBytes,
  sleep,
  tally,
  totals,
  type Reply,
} from './harness';
import { noisePng } from './craft';

const C = 'load';
const JOBS = 50;
const SIDE = 64;

export async function load(rng: Prng, modelsDir: string): Promise<void> {
  const folder = dir('load');
  const outDir = dir('load-out');
  const inputs: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const file = path.join(folder, `in-${String(i).padStart(2, '0')}.png`);
    fs.writeFileSync(file, await noisePng(rng, SIDE, SIDE));
    inputs.push(file);
  }
  const d = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
  try {
    await check(
      C,
      `${JOBS} jobs from two interleaved submitters on one connection: all finish or are cancelled, in submission order, memory bounded`,
      async () => {
        ensure(!(await d.call('initialize', { clientName: 'load' })).error, 'initialize failed');
        const warm = await d.call('upscale', { input: inputs[0], output: dir('load-warm') });
        ensure(!warm.error, `warm-up failed: ${warm.error?.message}`);
        await sleep(2000);
        const baseline = rssBytes(d.pid);
        let peak = baseline;
        let sampling = true;
        const sampler = (async () => {
          while (sampling && d.alive) {
            peak = Math.max(peak, rssBytes(d.pid));
            await sleep(20);
          }
        })();

        // Two submitters, A (even) and B (odd), each writing as fast as it can; the order of
        // submission is the order the requests reach the pipe.
        const submitted: Array<{ index: number; id: string; reply: Promise<Reply> }> = [];
        const submitter = async (parity: number): Promise<void> => {
          for (let i = parity; i < JOBS; i += 2) {
            const { id, reply } = d.request('upscale', { input: inputs[i], output: outDir }, `job-${i}`);
            submitted.push({ index: i, id: String(id), reply });
            await new Promise((r) => setImmediate(r));
          }
        };
        await Promise.all([submitter(0), submitter(1)]);
        const order = submitted.map((s) => s.id);
        // Cancel five: four still queued, and whichever is running once 10 have finished.
        const toCancel = new Set([order[20], order[30], order[40], order[49]]);
        for (const id of toCancel) d.notify('$/cancelRequest', { id });
        let runningCancelled: string | null = null;
        void (async () => {
          const tenth = await d.waitProgress(
            (p) => p.stage === 'done' && order.indexOf(String(p.requestId)) >= 9,
            300000,
          );
          if (!tenth) return;
          const next = await d.waitProgress(
            (p) =>
              p.stage === 'infer' &&
              order.indexOf(String(p.requestId)) > order.indexOf(String(tenth.requestId)) &&
              !toCancel.has(String(p.requestId)),
            300000,
          );
          if (next) {
            runningCancelled = String(next.requestId);
            d.notify('$/cancelRequest', { id: next.requestId });
          }
        })();

        const replies = await Promise.all(submitted.map((s) => s.reply));
        sampling = false;
        await sampler;
        let ok = 0;
        let cancelled = 0;
        const problems: string[] = [];
        replies.forEach((r, k) => {
          const id = submitted[k]?.id as string;
          if (r.error) {
            if (r.error.code === ErrorCode.Cancelled && (toCancel.has(id) || id === runningCancelled)) cancelled++;
            else problems.push(`${id}: ${r.error.code} ${r.error.message}`);
          } else ok++;
        });
        ensure(problems.length === 0, `unexpected failures: ${problems.slice(0, 3).join('; ')}`);
        tally(C).tried += JOBS;
        tally(C).expectedErrors += cancelled;
        // Started in submission order: the first non-queued progress of each job.
        const firstActive = new Map<string, number>();
        d.progress.forEach((p: ProgressParams, k) => {
          if (p.stage !== 'queued' && !firstActive.has(String(p.requestId))) firstActive.set(String(p.requestId), k);
        });
        const startedOrder = [...firstActive]
          .sort((a, b) => a[1] - b[1])
          .map(([id]) => id)
          .filter((id) => order.includes(id));
        const expected = order.filter((id) => startedOrder.includes(id));
        ensure(
          JSON.stringify(startedOrder) === JSON.stringify(expected),
          `jobs started out of order: ${startedOrder.slice(0, 10).join(',')}`,
        );
        const outputs = fs.readdirSync(outDir);
        ensure(outputs.length === ok, `${ok} jobs succeeded but ${outputs.length} files are in the output folder`);
        ensure(partialsUnder(outDir).length === 0, 'partial files left');
        const mb = (b: number): string => (b / 1048576).toFixed(1);
        // One job's buffers: the decoded input and the float output planes, a few copies.
        const jobBuffers = 8 * 3 * 4 * (SIDE * 4) ** 2;
        const bound = baseline + jobBuffers + 96 * 1048576;
        process.stdout.write(
          `  ${ok} finished, ${cancelled} cancelled (running one: ${runningCancelled ?? 'none'}); RSS baseline ${mb(baseline)} MiB, peak ${mb(peak)} MiB, bound ${mb(bound)} MiB\n`,
        );
        ensure(runningCancelled !== null, 'no running job was cancelled');
        ensure(cancelled === toCancel.size + 1, `${cancelled} cancelled`);
        ensure(peak <= bound, `peak RSS ${mb(peak)} MiB above the bound ${mb(bound)} MiB`);
      },
    );
    await d.stop();
    countCrash(d, true);
  } finally {
    if (d.alive) d.process.kill('SIGKILL');
  }

  await check(
    C,
    'two daemons writing the same names into one shared output folder at once: no result lost',
    async () => {
      const shared = dir('shared-out');
      const src = path.join(folder, 'in-00.png');
      const a = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
      const b = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
      try {
        for (const x of [a, b])
          ensure(!(await x.call('initialize', { clientName: 'shared' })).error, 'initialize failed');
        for (const x of [a, b]) await x.call('models/load', { id: 'realesr-general-x4v3' });
        const per = 12;
        const replies = await Promise.all(
          [a, b].flatMap((x) => Array.from({ length: per }, () => x.call('upscale', { input: src, output: shared }))),
        );
        tally(C).tried += replies.length;
        const paths = replies.map((r) => {
          if (r.error) throw new CheckFailed(`a job failed: ${r.error.message}`);
          return (r.result as { outputPath: string }).outputPath;
        });
        const distinct = new Set(paths);
        const files = fs.readdirSync(shared);
        if (distinct.size !== paths.length || files.length !== paths.length) {
          totals.lost += paths.length - Math.min(distinct.size, files.length);
          throw new CheckFailed(
            `${paths.length} jobs reported ${distinct.size} distinct outputs; ${files.length} files exist (one daemon renamed over the other's result)`,
          );
        }
        for (const f of files) {
          const meta = await sharp(path.join(shared, f)).metadata();
          ensure(meta.width === SIDE * 4, `${f} is not a whole result`);
        }
      } finally {
        await Promise.all([a.stop(), b.stop()]);
        countCrash(a, true);
        countCrash(b, true);
      }
    },
  );
}
