// `npm run bench [-- --quick] [--provider P] [--out DIR] [--only sections] [--restoration FILE]`:
// speed and cost against the machine's ceilings, the tile sweep, memory and the memory
// budget's trade-off, start-up/load/cancel, quality, borders and model combinations, all
// through the real daemon, and each converted architecture's
// whole-image ceiling against MatMul (arch, in-process). Each section's JSON is written as soon
// as it is done, so an interrupted run still leaves what it measured. Never part of `npm test`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coreCount, loadAverage } from './cpu';
import type { ExecutionProvider } from '../contract/vocabulary';
import { parseBenchArgs } from './args';
import { measureArchitectures, type ArchBench } from './arch';
import { measureBorders, type BorderScore } from './border';
import { sweepCharts, throughputChart } from './charts';
import { startBenchDaemon } from './daemon-client';
import { judgeGoals, type Goal } from './goals';
import { measureCancel, measureLoads, measureStartup, type LifecycleResult } from './lifecycle';
import { measureMemory, type MemoryPoint } from './memory';
import { budgetTable, measureBudgets } from './budget';
import { combosTable, measureCombos } from './combos';
import { measureMatmul, type MatmulRate } from './ort-ceiling';
import { profileOperators, type OperatorProfile } from './ort-profile';
import { builtinModelsDir } from '../models/paths';
import { BUSY_PLAN, BUSY_QUICK_PLAN, busyGoals, busyTable, measureBusy, type BusyResult } from './busy';
import { FULL_PLAN, QUICK_PLAN } from './plans';
import { median } from './median';
import { measureQuality, type QualityResult } from './quality';
import { measurePrecision, type PrecisionScore } from './precision';
import {
  archTable,
  borderTable,
  goalsTable,
  lifecycleTable,
  memoryTable,
  precisionTable,
  profileTable,
  qualityTable,
  speedTable,
  sweepTable,
} from './report';
import { measureSpeed, type SpeedSeries } from './speed';
import { runSweep, type SweepResult } from './sweep';
import { Requests } from '../contract/methods';

/** The parts of an earlier summary.json that a partial (--only) run carries over. */
interface PreviousSummary {
  readonly matmul_gflops?: number | null;
  readonly ceiling_over_matmul?: number | null;
  readonly models?: Record<string, unknown>;
  readonly goals?: readonly Goal[];
  readonly quality?: unknown;
  readonly borders?: unknown;
  readonly precision?: unknown;
  readonly architectures?: unknown;
}

function readPreviousSummary(file: string): PreviousSummary | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PreviousSummary;
  } catch {
    return null;
  }
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

function section(title: string, body: string): void {
  process.stdout.write(`\n== ${title} ==\n${body}\n`);
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  const wants = (s: string) => options.only.length === 0 || options.only.includes(s);
  fs.mkdirSync(options.outDir, { recursive: true });
  const save = (name: string, value: unknown) =>
    fs.writeFileSync(
      path.join(options.outDir, name),
      `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
    );
  const began = performance.now();

  log(`starting the daemon (provider ${options.provider}, ${options.quick ? 'quick' : 'full'} run)`);
  // A named provider that cannot run is refused by the daemon's `initialize`, with the reason.
  const daemon = await startBenchDaemon(options.provider);
  const provider: ExecutionProvider = daemon.initialized.activeProvider;
  log(
    `active provider: ${provider} (${daemon.initialized.providerReason}); start-up ${daemon.startupMs.toFixed(0)} ms`,
  );
  const machine = {
    provider,
    node: process.version,
    quick: options.quick,
    started: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: coreCount(),
    loadAverageAtStart: loadAverage(),
  };

  let matmul: MatmulRate | null = null;
  // Measured at the start and again at the end: on a shared machine the best is the peak.
  const matmulSamples: MatmulRate[] = [];
  const speed: SpeedSeries[] = [];
  const profiles: OperatorProfile[] = [];
  const sweeps: SweepResult[] = [];
  let lifecycle: LifecycleResult | null = null;
  let memory: MemoryPoint[] = [];
  let quality: QualityResult | null = null;
  let borders: BorderScore[] = [];
  let precision: PrecisionScore[] = [];
  let arch: ArchBench | null = null;
  let busy: BusyResult | null = null;
  try {
    if (wants('speed')) {
      log(`MatMul ${plan.matmulSize}² · ${plan.matmulSize}², best of ${plan.matmulRuns}`);
      matmul = await measureMatmul(provider, plan.matmulSize, plan.matmulRuns);
      matmulSamples.push(matmul);
      log(`  ${matmul.gflops.toFixed(1)} GFLOP/s (${matmul.bestMs.toFixed(1)} ms)`);
      for (const p of plan.speed) {
        log(`speed: ${p.model} at ${p.sizes.join(', ')}`);
        speed.push(await measureSpeed(daemon, provider, p, log));
        save('speed.json', { machine, matmul, speed });
        fs.writeFileSync(
          path.join(options.outDir, `throughput-${p.model}.svg`),
          throughputChart(speed[speed.length - 1] as SpeedSeries, provider),
        );
      }
      section('speed (end to end through the daemon vs whole-image onnxruntime ceiling)', speedTable(speed, matmul));
      for (const p of plan.speed) {
        const size = p.model === 'realesrgan-x4plus' ? 64 : 128;
        log(`operator profile of the ceiling: ${p.model} at ${size}²`);
        profiles.push(
          await profileOperators(
            path.join(builtinModelsDir(), `${p.model}.onnx`),
            p.model,
            provider,
            size,
            options.outDir,
          ),
        );
      }
      save('ort-profile.json', profiles);
      section('where the ceiling spends its time (onnxruntime profiler, warm run)', profileTable(profiles));
    }
    if (wants('sweep')) {
      for (const s of plan.sweeps) {
        log(`sweep: ${s.model}, ${s.crop}² crop, tiles ${s.tiles.join('/')} × overlaps ${s.overlaps.join('/')}`);
        const result = await runSweep(daemon, s, log);
        sweeps.push(result);
        save('sweep.json', sweeps);
        const charts = sweepCharts(result);
        fs.writeFileSync(path.join(options.outDir, `sweep-time-${s.model}.svg`), charts.time);
        fs.writeFileSync(path.join(options.outDir, `sweep-psnr-${s.model}.svg`), charts.psnr);
        section(`tile sweep: ${s.model}`, sweepTable(result));
      }
    }
    if (wants('lifecycle')) {
      log(`cancel: ${plan.cancelModel} at ${plan.cancelInputSize}²`);
      const cancels = await measureCancel(daemon, plan.cancelModel, plan.cancelInputSize, plan.cancelWhen);
      log('start-up and model loads');
      const startupMs = [daemon.startupMs, ...(await measureStartup(options.provider, plan.startupRuns - 1))];
      const loads = await measureLoads(options.provider, plan.loadModels);
      lifecycle = { startupMs, startupMedianMs: median(startupMs), loads, cancels };
      save('lifecycle.json', lifecycle);
      section('start-up, model load, cancel', lifecycleTable(lifecycle));
    }
    if (wants('quality')) {
      const models = (await daemon.connection.request(Requests.modelsList, {})).models.filter(
        (m) => m.source === 'builtin',
      );
      log(`quality: ${models.length} models on ${plan.qualityPhotos.join(', ')}`);
      quality = await measureQuality(
        daemon,
        models,
        plan.qualityPhotos,
        plan.qualityCrop,
        path.join(options.outDir, 'sheets'),
        log,
      );
      save('quality.json', quality);
      section('quality (standard SR protocol: bicubic down, upscale, PSNR/SSIM on Y)', qualityTable(quality));
    }
    if (wants('border')) {
      log(`border: ${plan.borders.map((b) => `${b.model} on ${b.photos.join(', ')}`).join('; ')}`);
      borders = await measureBorders(daemon, plan.borders, log);
      save('border.json', borders);
      section('borders (padding none vs reflect against real surroundings)', borderTable(borders));
    }
    if (wants('combos')) {
      log(`combos: TTA, blend and a restoration chain on ${plan.combos.photos.join(', ')}`);
      const combos = await measureCombos(daemon, plan.combos.photos, plan.combos.crop, options.restoration, log);
      save('combos.json', combos);
      section('combining models (issue 27): quality and time against one compact run', combosTable(combos));
    }
    if (wants('precision')) {
      if (provider === 'cpu') {
        if (options.only.includes('precision'))
          throw new Error('--only precision needs a GPU provider (fp16 runs on GPUs only)');
        log('precision: skipped (fp16 runs on GPU providers only)');
      } else {
        const { cases, photos } = plan.precision;
        log(`precision: ${cases.map((c) => `${c.model} at ${c.crop}²`).join(', ')} on ${photos.join(', ')}`);
        precision = await measurePrecision(options.provider, cases, photos, log);
        save('precision.json', precision);
        section(`fp16 against fp32 on ${provider} (8-bit PSNR, RGB, whole crops)`, precisionTable(precision));
      }
    }
    if (wants('arch')) {
      if (!matmul) {
        log(`MatMul ${plan.matmulSize}² · ${plan.matmulSize}², best of ${plan.matmulRuns}`);
        matmul = await measureMatmul(provider, plan.matmulSize, plan.matmulRuns);
        matmulSamples.push(matmul);
      }
      arch = await measureArchitectures(provider, plan.archSize, plan.archRuns, options.outDir, log);
      save('arch.json', arch);
      section(`architectures: whole-image ceiling at ${plan.archSize}² against MatMul`, archTable(arch, matmul));
    }
    if (wants('busy')) {
      busy = await measureBusy(daemon, provider, options.quick ? BUSY_QUICK_PLAN : BUSY_PLAN, log);
      save('busy.json', busy);
      section('keeping the machine busy (issue 28: end to end against the best whole-image run)', busyTable(busy));
    }
  } finally {
    await daemon.stop();
  }
  if (wants('memory')) {
    log(`memory: ${plan.memoryModel} at ${plan.memorySizes.join(', ')} (a fresh daemon each)`);
    memory = await measureMemory(options.provider, plan.memoryModel, plan.memorySizes, log);
    save('memory.json', memory);
    section('peak resident memory of the daemon (fresh daemon per job)', memoryTable(memory));
  }
  if (wants('budget')) {
    log(
      `budget: ${plan.memoryModel}, ${plan.budgets.map((b) => `${b.inputSize}² at ${b.budgetMib ?? 'the default'}`).join('; ')}`,
    );
    const budgets = await measureBudgets(options.provider, plan.memoryModel, plan.budgets, log);
    save('budget.json', budgets);
    section(
      'the memory budget: resident peak against time (fresh daemon per job)',
      budgetTable(budgets, os.totalmem()),
    );
  }

  if (matmul) {
    log('MatMul again, at the end');
    matmulSamples.push(await measureMatmul(provider, plan.matmulSize, plan.matmulRuns));
    const peak = matmulSamples.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    const cpuPeak = matmulSamples.reduce((a, b) => (b.gflopsPerCpuSecond > a.gflopsPerCpuSecond ? b : a));
    matmul = { ...peak, bestCpuMs: cpuPeak.bestCpuMs, gflopsPerCpuSecond: cpuPeak.gflopsPerCpuSecond };
    save('matmul.json', matmulSamples);
    section(
      'MatMul',
      `${matmul.n}² · ${matmul.n}² float32, best of ${matmul.runs} at the start and at the end: ` +
        `${matmulSamples.map((m) => m.gflops.toFixed(1)).join(' and ')} GFLOP/s; peak ${matmul.gflops.toFixed(1)} GFLOP/s; ` +
        `per CPU-second ${matmulSamples.map((m) => m.gflopsPerCpuSecond.toFixed(1)).join(' and ')} GFLOP`,
    );
    if (speed.length > 0) section('speed with ceil/matmul against the peak', speedTable(speed, matmul));
    if (arch) section('architectures against the peak MatMul', archTable(arch, matmul));
  }
  // With --only, the sections not run keep their figures from the previous summary.
  const previous = options.only.length > 0 ? readPreviousSummary(path.join(options.outDir, 'summary.json')) : null;
  const judged = [...judgeGoals(speed, matmul, lifecycle), ...(busy ? busyGoals(busy) : [])];
  const goals = [...(previous?.goals ?? []).filter((g) => !judged.some((j) => j.goal === g.goal)), ...judged];
  section('goals', goalsTable(goals));
  save('goals.json', goals);
  const at512 = (s: SpeedSeries) => s.points.find((p) => p.size === 512) ?? null;
  const ceilingOverMatmul = (s: SpeedSeries): number | null => {
    const last = s.points[s.points.length - 1];
    return matmul && last && last.ceilingGflops !== null ? last.ceilingGflops / matmul.gflops : null;
  };
  const models = Object.fromEntries(
    speed.map((s) => {
      const p = at512(s);
      return [
        s.model,
        {
          e2e_mpix_per_s: p?.e2eMpixPerS ?? null,
          ceiling_mpix_per_s: p?.ceilingMpixPerS ?? null,
          e2e_over_ceiling: p?.e2eOverCeiling ?? null,
          // The same ratio in CPU time (daemon CPU vs in-process CPU): steadier on a shared machine.
          e2e_over_ceiling_cpu_time: p?.cpuTimeRatio ?? null,
          ceiling_over_matmul: ceilingOverMatmul(s),
          measured_at: p ? 512 : null,
        },
      ];
    }),
  );
  const ratios = speed.map(ceilingOverMatmul).filter((r): r is number => r !== null);
  const ranSpeed = speed.length > 0;
  save('summary.json', {
    machine,
    matmul_gflops: ranSpeed ? (matmul?.gflops ?? null) : (previous?.matmul_gflops ?? null),
    // The best any model's whole-image pass reaches; per model below.
    ceiling_over_matmul: ranSpeed
      ? ratios.length
        ? Math.max(...ratios)
        : null
      : (previous?.ceiling_over_matmul ?? null),
    models: ranSpeed ? models : (previous?.models ?? {}),
    goals: goals.map((g) => ({ goal: g.goal, pass: g.pass, detail: g.detail })),
    quality: quality?.summary ?? previous?.quality ?? null,
    borders: borders.length > 0 ? borders : (previous?.borders ?? null),
    precision: precision.length > 0 ? precision : (previous?.precision ?? null),
    // Each architecture's whole-image ceiling at the arch section's size, against the peak MatMul.
    architectures: arch
      ? Object.fromEntries(
          arch.measured.map((a) => [
            a.name,
            {
              median_ms: a.medianMs,
              gflops: a.gflops,
              ceiling_over_matmul: matmul ? a.gflops / matmul.gflops : null,
              cpu_time_ratio: matmul ? a.gflopsPerCpuSecond / matmul.gflopsPerCpuSecond : null,
              top_ops: a.topOps.map((o) => o.op),
            },
          ]),
        )
      : (previous?.architectures ?? null),
    seconds: (performance.now() - began) / 1000,
    load_average_at_end: loadAverage(),
  });
  log(`done in ${((performance.now() - began) / 1000).toFixed(0)} s; results in ${options.outDir}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
