// The stdout report: one table per section, then the goals.
import type { ArchBench } from './arch';
import { BORDER_CROP, type BorderScore } from './border';
import type { Goal } from './goals';
import type { LifecycleResult } from './lifecycle';
import { growthBeyondRaster, type MemoryPoint } from './memory';
import type { MatmulRate } from './ort-ceiling';
import type { OperatorProfile } from './ort-profile';
import type { PrecisionScore } from './precision';
import type { QualityResult } from './quality';
import type { SpeedSeries } from './speed';
import type { SweepResult } from './sweep';
import { fixed, formatTable } from './table';

const MIB = 1024 * 1024;

/**
 * Each architecture's whole-image ceiling against the MatMul rate, in wall time (median and
 * best run) and in CPU time (steadier when other work shares the cores), and where its time goes.
 */
export function archTable(bench: ArchBench, matmul: MatmulRate | null): string {
  const ratio = (gflops: number, of: number | undefined): string => (of ? fixed(gflops / of, 2) : '-');
  const rows = bench.measured.map((a) => [
    a.name,
    `${a.size}²`,
    fixed(a.medianMs, 0),
    fixed(a.bestMs, 0),
    fixed(a.bestCpuMs, 0),
    fixed(a.macsPerPixel / 1e3, 1),
    fixed(a.gflops, 1),
    ratio(a.gflops, matmul?.gflops),
    ratio(a.bestGflops, matmul?.gflops),
    ratio(a.gflopsPerCpuSecond, matmul?.gflopsPerCpuSecond),
    a.topOps.map((o) => `${o.op} ${(o.share * 100).toFixed(0)}%`).join(', '),
    fixed(a.loadAverage, 1),
  ]);
  const table = formatTable(
    [
      'model',
      'size',
      'median ms',
      'best ms',
      'best cpu ms',
      'kMAC/px',
      'GFLOP/s',
      'ceil/matmul',
      'best/matmul',
      'cpu-time ratio',
      'top ops (profiler)',
      'load',
    ],
    rows,
  );
  const models = bench.measured.map((a) => `${a.name}: ${a.model}`).join('\n');
  const missing =
    bench.missing.length > 0
      ? `\nnot measured, no weights in the cache: ${bench.missing.join(', ')}; write them with ${bench.weightsCommand}`
      : '';
  return `${table}\n${models}${missing}`;
}

export function profileTable(profiles: readonly OperatorProfile[]): string {
  return profiles
    .map(
      (p) =>
        `${p.model} at ${p.size}²: ${p.totalKernelMs.toFixed(0)} ms in kernels\n` +
        formatTable(
          ['operator', 'nodes', 'ms', 'share'],
          p.ops.map((o) => [o.op, String(o.count), fixed(o.ms, 1), `${(o.share * 100).toFixed(1)}%`]),
        ),
    )
    .join('\n');
}

export function speedTable(series: readonly SpeedSeries[], matmul: MatmulRate | null): string {
  const rows = series.flatMap((s) =>
    s.points.map((p) => [
      s.model,
      `${p.size}²`,
      fixed(p.e2eMs / 1000, 2),
      fixed(p.e2eMpixPerS, 4),
      fixed(p.ceilingMs / 1000, 2),
      fixed(p.ceilingMpixPerS, 4),
      fixed(p.e2eOverCeiling, 3),
      `${p.tileWork.tiles}×${p.tileWork.tileWidth}`,
      fixed(p.tileWork.workRatio, 3),
      fixed(p.timings.decodeMs, 0),
      fixed(p.timings.inferMs, 0),
      fixed(p.timings.encodeMs, 0),
      fixed(p.e2eGflops, 1),
      fixed(p.ceilingGflops, 1),
      matmul && p.ceilingGflops !== null ? fixed(p.ceilingGflops / matmul.gflops, 3) : '-',
      fixed(p.cpuTimeRatio, 3),
      fixed(p.profile.tilingOverheadMs, 0),
      fixed(p.profile.tilesTimesOneTileMs, 0),
      fixed(p.loadAverage, 1),
    ]),
  );
  return formatTable(
    [
      'model',
      'input',
      'e2e s',
      'e2e MP/s',
      'ceil s',
      'ceil MP/s',
      'e2e/ceil',
      'tiles',
      'work×',
      'decode ms',
      'infer ms',
      'encode ms',
      'e2e GF/s',
      'ceil GF/s',
      'ceil/matmul',
      'cpu ratio',
      'blend ms',
      'tiles×1 ms',
      'load',
    ],
    rows,
  );
}

export function sweepTable(sweep: SweepResult): string {
  const rows = sweep.cells.map((c) => [
    String(c.tile),
    String(c.overlap),
    String(c.tiles),
    fixed(c.workRatio, 2),
    fixed(c.ms / 1000, 2),
    fixed(c.ms / sweep.wholeImageMs, 2),
    fixed(c.psnrDb, 1),
  ]);
  return (
    `${sweep.plan.model}, ${sweep.plan.crop}² crop of ${sweep.plan.photo}; whole image in one pass: ${(sweep.wholeImageMs / 1000).toFixed(2)} s\n` +
    formatTable(['tile', 'overlap', 'tiles', 'work×', 'seconds', '× whole', 'PSNR dB vs whole'], rows)
  );
}

export function memoryTable(points: readonly MemoryPoint[]): string {
  const mib = (b: number) => fixed(b / MIB, 0);
  const growth = growthBeyondRaster(points);
  const verdict =
    growth === null
      ? ''
      : `\nbeyond the baseline and the 8-bit output raster, the peak grows by ${growth.toFixed(1)} bytes per output pixel ` +
        `from ${points[0]?.outputSize}² to ${points[points.length - 1]?.outputSize}² (a float32 output buffer would add 12): ` +
        "the input's float planes and the row of tile outputs held for blending, which widens with the image";
  return (
    formatTable(
      [
        'input',
        'output',
        'seconds',
        'baseline MiB',
        'peak RSS MiB',
        'VmHWM MiB',
        'u8 out MiB',
        'f32 out MiB',
        'HWM−base−u8',
        'HWM−base−u8−f32',
      ],
      points.map((p) => [
        `${p.inputSize}²`,
        `${p.outputSize}²`,
        fixed(p.ms / 1000, 1),
        mib(p.baselineBytes),
        mib(p.sampledPeakBytes),
        mib(p.hwmBytes),
        mib(p.outputRasterBytes),
        mib(p.outputFloatBytes),
        mib(p.hwmOverBaselineMinusRaster),
        mib(p.hwmOverBaselineMinusBuffers),
      ]),
    ) + verdict
  );
}

export function lifecycleTable(l: LifecycleResult): string {
  const loads = formatTable(
    ['model', 'cold ms', 'cold round trip', 'warm ms', 'warm round trip', 'cached'],
    l.loads.map((x) => [
      x.model,
      fixed(x.coldMs, 1),
      fixed(x.coldRoundTripMs, 1),
      fixed(x.warmMs, 3),
      fixed(x.warmRoundTripMs, 2),
      String(x.warmCached),
    ]),
  );
  const cancels = formatTable(
    ['cancel sent', 'input', 'tiles', 'tile ms', 'cancel → end ms', 'within one tile'],
    l.cancels.map((c) => [
      c.when,
      `${c.inputSize}²`,
      String(c.tiles),
      fixed(c.tileMs, 0),
      fixed(c.cancelLatencyMs, 0),
      c.withinOneTile ? 'yes' : 'no',
    ]),
  );
  return `daemon start-up (spawn → initialize answered): ${l.startupMs.map((t) => t.toFixed(0)).join(', ')} ms (median ${l.startupMedianMs.toFixed(0)} ms)\n${loads}\n${cancels}`;
}

export function qualityTable(q: QualityResult): string {
  const rows = [...q.summary]
    .sort((a, b) => a.scale - b.scale || b.meanPsnrY - a.meanPsnrY)
    .map((s) => [
      `x${s.scale}`,
      s.method,
      String(s.photos),
      fixed(s.meanPsnrY, 2),
      fixed(s.meanSsimY, 4),
      fixed(s.gainOverBicubicDb, 2),
    ]);
  return (
    `photos: ${q.photos.join(', ')} (Y of BT.601, border = scale cropped)\n` +
    formatTable(['scale', 'method', 'photos', 'PSNR-Y dB', 'SSIM-Y', 'vs bicubic dB'], rows)
  );
}

export function borderTable(scores: readonly BorderScore[]): string {
  const paddings = [...new Set(scores.map((s) => s.padding))];
  const keys = [...new Set(scores.map((s) => `${s.model}\t${s.photo}`))];
  const rows = keys.map((k) => {
    const [model, photo] = k.split('\t') as [string, string];
    return [
      model,
      photo,
      ...paddings.map((p) =>
        fixed(scores.find((s) => s.model === model && s.photo === photo && s.padding === p)?.ringPsnr, 1),
      ),
    ];
  });
  const { width, height, context, ring } = BORDER_CROP;
  return (
    `${width}x${height} centre crop, upscaled whole; outer ${ring} output px against the same pixels of the crop with ${context} px of real context (8-bit PSNR, dB)\n` +
    formatTable(['model', 'photo', ...paddings.map((p) => `padding ${p}`)], rows)
  );
}

export function goalsTable(goals: readonly Goal[]): string {
  return formatTable(
    ['result', 'goal', 'measured'],
    goals.map((g) => [g.pass ? 'PASS' : 'FAIL', g.goal, g.detail]),
  );
}

export function precisionTable(scores: readonly PrecisionScore[]): string {
  return formatTable(
    ['model', 'photo', 'crop', 'fp16 vs fp32 dB', 'fp32 s', 'fp16 s'],
    scores.map((s) => [
      s.model,
      s.photo,
      `${s.crop}²`,
      fixed(s.psnr, 1),
      fixed(s.fp32Seconds, 2),
      fixed(s.fp16Seconds, 2),
    ]),
  );
}
