// The preview panel's own layout test: the shipped page (extension/preview/html.ts with the
// packaged dist/webview.js and media/preview.css) in a real Chromium, fed the messages the
// extension sends, at widths from 320 px to a full screen. At each width nothing in the
// toolbar or the footer overlaps or leaves the page, no fact loses text, the output path
// keeps room for its text, and the status shares its line with the facts. The same check
// runs on the real panel in code-server (run.ts).
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import sharp from 'sharp';
import { createNonce, previewHtml } from '../../extension/preview/html';
import type { ProgressView, ResultView, ToWebviewMessage } from '../../webview/messages';
import type { Browser, Page } from './playwright';

/** The page's elements as the check below reads them (the e2e build has no DOM types). */
interface Box {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly width: number;
  readonly height: number;
}
interface El {
  readonly id: string;
  readonly className: string;
  readonly textContent: string | null;
  readonly clientWidth: number;
  readonly scrollWidth: number;
  readonly clientHeight: number;
  readonly scrollHeight: number;
  readonly hidden: boolean;
  readonly ownerDocument: {
    readonly defaultView: { readonly innerWidth: number } | null;
    readonly documentElement: El;
  };
  getBoundingClientRect(): Box;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}

export interface LayoutReport {
  readonly width: number;
  readonly pathWidth: number;
  readonly problems: string[];
}

/**
 * What is wrong with the panel's layout, read from its DOM. Runs inside the page (given to
 * playwright's evaluate), so it uses nothing from outside itself.
 */
export function layoutProblems(bodyElement: unknown): LayoutReport {
  const body = bodyElement as El;
  const doc = body.ownerDocument;
  const width = doc.defaultView?.innerWidth ?? 0;
  const problems: string[] = [];
  const all = (selector: string) => Array.from(body.querySelectorAll(selector)).filter((e) => !e.hidden);
  const name = (e: El) =>
    e.id
      ? `#${e.id}`
      : `${e.className ? `.${e.className.split(' ')[0] ?? ''} ` : ''}"${(e.textContent ?? '').trim().slice(0, 24)}"`;
  // Everything a user reads or clicks in the toolbar and the footer.
  const atoms = [
    ...all('.toolbar vscode-button'),
    ...all('.facts > div'),
    ...all('#info-path'),
    ...all('.actions vscode-button'),
  ].filter((e) => e.getBoundingClientRect().width > 0 || e.id === 'info-path');
  const boxes = atoms.map((e) => ({ e, r: e.getBoundingClientRect() }));
  for (const { e, r } of boxes) {
    if (r.left < -0.5 || r.right > width + 0.5)
      problems.push(`${name(e)} leaves the page (${Math.round(r.left)}..${Math.round(r.right)} of ${width})`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (!a || !b) continue;
      const x = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const y = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (x > 0.5 && y > 0.5) problems.push(`${name(a.e)} overlaps ${name(b.e)}`);
    }
  }
  // No fact loses text: none is cut short by its ellipsis.
  for (const dd of all('.facts dd')) {
    if (dd.scrollWidth > dd.clientWidth + 1 || dd.scrollHeight > dd.clientHeight + 1)
      problems.push(`${name(dd)} is cut (${dd.scrollWidth} px of text in ${dd.clientWidth} px)`);
  }
  const pathEl = body.querySelector('#info-path');
  const pathWidth = pathEl ? pathEl.getBoundingClientRect().width : 0;
  if (pathEl && (pathEl.textContent ?? '') !== '' && pathWidth < 120)
    problems.push(`the output path is ${Math.round(pathWidth)} px wide`);
  // The status does not sit alone on its line while there is room beside it.
  const status = body.querySelector('.facts .status');
  const next = all('.facts > div')[1];
  if (status && next) {
    const s = status.getBoundingClientRect();
    const n = next.getBoundingClientRect();
    if (s.width < width / 2 && Math.abs(s.top - n.top) > 2) problems.push('the status sits alone on its line');
  }
  if (doc.documentElement.scrollWidth > width + 1)
    problems.push(`the page scrolls sideways (${doc.documentElement.scrollWidth} px wide)`);
  const views = body.querySelector('#views');
  if (views && views.getBoundingClientRect().height < 80)
    problems.push(`the images get ${Math.round(views.getBoundingClientRect().height)} px of height`);
  return { width, pathWidth, problems };
}

const WIDTHS = [320, 360, 400, 480, 520, 600, 720, 800, 960, 1024, 1280, 1440, 1600, 1920];
const SHOTS = new Set([320, 520, 1920]);

/** VS Code's theme variables, as a dark theme sets them on the webview's <html>. */
const THEME: Record<string, string> = {
  '--vscode-font-family': 'system-ui, "Segoe UI", Ubuntu, sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-badge-background': '#616161',
  '--vscode-badge-foreground': '#f8f8f8',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-focusBorder': '#0078d4',
};

/** Before the page's own script: the webview API the page expects, and the theme. */
function initScript(): string {
  return `
    window.acquireVsCodeApi = () => ({ postMessage() {}, getState() { return undefined; }, setState() {} });
    document.addEventListener('DOMContentLoaded', () => {
      for (const [k, v] of Object.entries(${JSON.stringify(THEME)})) document.documentElement.style.setProperty(k, v);
    });`;
}

interface Served {
  readonly origin: string;
  close(): Promise<void>;
}

/** The page and its files on a loopback port, the way the webview's resource origin serves them. */
async function serve(extensionDir: string, images: Record<string, Buffer>): Promise<Served> {
  const files: Record<string, { type: string; body: () => Buffer }> = {
    '/dist/webview.js': {
      type: 'text/javascript',
      body: () => fs.readFileSync(path.join(extensionDir, 'dist', 'webview.js')),
    },
    '/media/preview.css': {
      type: 'text/css',
      body: () => fs.readFileSync(path.join(extensionDir, 'media', 'preview.css')),
    },
  };
  for (const [name, png] of Object.entries(images)) files[`/img/${name}`] = { type: 'image/png', body: () => png };
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        previewHtml({
          nonce: createNonce(),
          cspSource: origin,
          scriptUri: `${origin}/dist/webview.js`,
          styleUri: `${origin}/media/preview.css`,
          title: 'Upscale: lighthouse.png',
        }),
      );
      return;
    }
    const file = files[url];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type });
    res.end(file.body());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function post(page: Page, message: ToWebviewMessage): Promise<void> {
  await page.evaluate(
    (m) => (globalThis as unknown as { postMessage(data: unknown, origin: string): void }).postMessage(m, '*'),
    message,
  );
}

/** One state of the panel at every width: the problems found, by width. */
async function sweep(
  page: Page,
  state: string,
  resultsDir: string,
): Promise<{ problems: string[]; narrowestPath: number }> {
  const problems: string[] = [];
  let narrowestPath = Infinity;
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 700 });
    await page.waitForTimeout(150);
    const report = await page.locator('body').evaluate(layoutProblems);
    for (const p of report.problems) problems.push(`${state} at ${width} px: ${p}`);
    if (report.pathWidth > 0) narrowestPath = Math.min(narrowestPath, report.pathWidth);
    if (SHOTS.has(width)) await page.screenshot({ path: path.join(resultsDir, `panel-layout-${state}-${width}.png`) });
  }
  return { problems, narrowestPath };
}

/**
 * Loads the panel from `extensionDir` (the installed .vsix) in `browser`, in two states (a
 * job running, with the time left; a finished job with a long output path and two warnings),
 * and checks its layout at every width. Returns a summary; throws with every problem found.
 */
export async function checkPanelLayout(browser: Browser, extensionDir: string, resultsDir: string): Promise<string> {
  const original = await sharp({ create: { width: 512, height: 480, channels: 3, background: '#4a7' } })
    .png()
    .toBuffer();
  const output = await sharp({ create: { width: 2048, height: 1920, channels: 3, background: '#7a4' } })
    .png()
    .toBuffer();
  const served = await serve(extensionDir, { 'original.png': original, 'output.png': output });
  const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
  try {
    await context.addInitScript({ content: initScript() });
    const page = await context.newPage();
    await page.goto(`${served.origin}/`, { waitUntil: 'load' });
    const folder = '/home/someone/Pictures/2024 holidays/the coast, day three/edited for print';
    const job = {
      inputName: 'lighthouse.png',
      input: `${folder}/lighthouse.png`,
      model: 'realesrgan-x4plus',
      originalUri: `${served.origin}/img/original.png`,
    };
    await post(page, { type: 'init', job });
    const running: ProgressView = {
      stage: 'infer',
      pass: 1,
      passes: 2,
      done: 3,
      total: 12,
      estimate: { fraction: 0.21, leftMs: 146_700 },
    };
    await post(page, { type: 'progress', progress: running });
    const a = await sweep(page, 'running', resultsDir);
    const result: ResultView = {
      outputPath: `${folder}/lighthouse@4x.png`,
      outputUri: `${served.origin}/img/output.png`,
      width: 2048,
      height: 1920,
      inputWidth: 512,
      inputHeight: 480,
      model: 'realesrgan-x4plus',
      provider: 'cpu',
      passes: 1,
      totalMs: 146_700,
      warnings: ['PNG output does not get the source EXIF metadata', 'the ICC profile was converted to sRGB'],
    };
    await post(page, { type: 'complete', result });
    await page.locator('#image-upscaled:not([hidden])').waitFor({ timeout: 10_000 });
    const b = await sweep(page, 'done', resultsDir);
    const problems = [...a.problems, ...b.problems];
    if (problems.length > 0) throw new Error(`the panel's layout fails:\n  ${problems.join('\n  ')}`);
    const time = (await page.locator('#info-time').innerText()).trim();
    const status = (await page.locator('#status-text').innerText()).trim();
    return `${WIDTHS.length} widths × 2 states (${WIDTHS[0]}–${WIDTHS[WIDTHS.length - 1]} px): no overlap, no cut text; narrowest path ${Math.round(Math.min(a.narrowestPath, b.narrowestPath))} px; Time "${time}", status "${status}"`;
  } finally {
    await context.close();
    await served.close();
  }
}
