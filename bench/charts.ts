// Plain SVG line charts, written by hand so the bench needs no plotting library: one per
// model for throughput against input size (with the whole-image ceiling), and the tile
// sweep (time and fidelity against tile size, a line per overlap).
import type { SpeedSeries } from './speed';
import type { SweepResult } from './sweep';

export interface ChartSeries {
  readonly name: string;
  readonly colour: string;
  readonly dashed?: boolean;
  /** y per x category; null leaves a gap. */
  readonly values: readonly (number | null)[];
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly ChartSeries[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/** A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function lineChartSvg(chart: LineChart): string {
  const W = 720;
  const H = 420;
  const m = { left: 70, right: 180, top: 40, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const finite = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = niceMax(Math.max(0, ...finite));
  const n = chart.categories.length;
  const x = (i: number) => m.left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const y = (v: number) => m.top + ph - (v / yMax) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(
    `<text x="${W / 2 - m.right / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(chart.title)}</text>`,
  );
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`);
  }
  chart.categories.forEach((c, i) => {
    parts.push(`<text x="${x(i)}" y="${m.top + ph + 18}" text-anchor="middle">${escapeXml(c)}</text>`);
  });
  parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, k) => {
    const pts = s.values.map((v, i) =>
      v === null || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`,
    );
    const runs: string[][] = [[]];
    for (const p of pts) {
      if (p === null) runs.push([]);
      else (runs[runs.length - 1] as string[]).push(p);
    }
    for (const run of runs) {
      if (run.length > 1)
        parts.push(
          `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${run.join(' ')}"/>`,
        );
      for (const p of run) {
        const [cx, cy] = p.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.colour}"/>`);
      }
    }
    const ly = m.top + 10 + k * 20;
    parts.push(
      `<line x1="${W - m.right + 15}" x2="${W - m.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text x="${W - m.right + 46}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function throughputChart(series: SpeedSeries, provider: string): string {
  return lineChartSvg({
    title: `${series.model}: throughput vs input size (${provider})`,
    xLabel: 'input size (pixels per side)',
    yLabel: 'input megapixels per second',
    categories: series.points.map((p) => `${p.size}²`),
    series: [
      { name: 'end to end (daemon)', colour: PALETTE[0] as string, values: series.points.map((p) => p.e2eMpixPerS) },
      {
        name: 'ceiling (whole image)',
        colour: PALETTE[1] as string,
        dashed: true,
        values: series.points.map((p) => p.ceilingMpixPerS),
      },
    ],
  });
}

export function sweepCharts(sweep: SweepResult): { time: string; psnr: string } {
  const tiles = sweep.plan.tiles;
  const categories = tiles.map(String);
  const cell = (t: number, o: number) => sweep.cells.find((c) => c.tile === t && c.overlap === o);
  const series = (pick: (t: number, o: number) => number | null): ChartSeries[] =>
    sweep.plan.overlaps.map((o, k) => ({
      name: `overlap ${o}`,
      colour: PALETTE[k % PALETTE.length] as string,
      values: tiles.map((t) => pick(t, o)),
    }));
  const title = `${sweep.plan.model}, ${sweep.plan.crop}² crop of ${sweep.plan.photo}`;
  const time = lineChartSvg({
    title: `${title}: time per tile setting`,
    xLabel: 'tile (input pixels each tile decides)',
    yLabel: 'seconds (whole image: ' + (sweep.wholeImageMs / 1000).toFixed(2) + ' s)',
    categories,
    series: series((t, o) => (cell(t, o)?.ms ?? NaN) / 1000),
  });
  // An identical result has infinite PSNR; draw it at 100 dB so the line stays visible.
  const psnr = lineChartSvg({
    title: `${title}: PSNR vs whole image`,
    xLabel: 'tile (input pixels each tile decides)',
    yLabel: 'dB (8-bit RGB; 100 = identical)',
    categories,
    series: series((t, o) => Math.min(100, cell(t, o)?.psnrDb ?? NaN)),
  });
  return { time, psnr };
}
