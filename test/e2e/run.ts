// End-to-end tests in a real VS Code: code-server (from scripts/e2e-setup.sh's cache) with
// the packaged .vsix installed, driven through Chromium by playwright-core. Each scenario
// asserts on the files written (sizes and pixels, with sharp), on what the UI shows, and
// saves a screenshot under test-results/. Prints one line per scenario and then
// "N passed, M failed"; exits non-zero when any failed.
//
//   npm run test:e2e                   (packages the extension first)
//   node out/test/e2e/run.js [01 05]   (the .vsix already built; only those scenarios)
//   E2E_KEEP=1: keep the temporary folder; E2E_HEADED=1: show the browser (needs a display).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CodeServer, commandLine, daemonPids, installExtension, parentPid, type CodeServerDirs } from './code-server';
import { expectPicture, expectSize, filesStartingWith, makeImage, parseResult } from './fixtures';
import { checkPanelLayout, layoutProblems } from './panel-layout';
import { loadPlaywright, type Browser, type BrowserContext, type FrameLocator } from './playwright';
import { sleep, until, Workbench } from './workbench';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const FIXTURE_MODEL = path.resolve(ROOT, '..', 'shared', 'fixtures', 'arch', 'srvgg_x4', 'srvgg_x4.safetensors');
/** Models the lead's `npm test` (npm run setup-models) converts; x4plus makes jobs long enough to cancel. */
const MODEL_CACHE = path.join(process.env.UPSCALE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'upscale'), 'models');
const SLOW_MODEL = 'realesrgan-x4plus';
const DEFAULT_MODEL = 'realesr-general-x4v3';
const EXTENSION_ID = 'upscale-dev.upscale';

interface Env {
  readonly cacheDir: string;
  readonly tmp: string;
  readonly ws: string;
  readonly userModels: string;
  readonly dirs: CodeServerDirs;
  server: CodeServer;
  browser: Browser;
  context: BrowserContext;
  wb: Workbench;
}

interface Scenario {
  readonly id: string;
  readonly name: string;
  readonly run: (env: Env) => Promise<string | void>;
}

function log(message: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function settingsFile(userDataDir: string): string {
  return path.join(userDataDir, 'User', 'settings.json');
}

/**
 * code-server's window is a remote one: machine-scoped settings (upscale.modelsFolder,
 * upscale.executionProvider) are read from the remote's Machine settings, not the User's.
 */
function writeMachineSettings(userDataDir: string, values: Record<string, unknown>): void {
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(values, null, 2));
}

/**
 * Merges `values` into the workspace's .vscode/settings.json. (code-server does not notice
 * a User settings.json changed on disk; the workspace's file it watches.)
 */
async function workspaceSettings(env: Env, values: Record<string, unknown>): Promise<void> {
  const file = path.join(env.ws, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const current = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete current[k];
    else current[k] = v;
  }
  fs.writeFileSync(file, JSON.stringify(current, null, 2));
  // The watcher's delay, with room: on a busy 2-core machine 2 s was once too short (a job
  // then ran without the tile size just set).
  await sleep(4000);
}

async function shot(env: Env, name: string): Promise<void> {
  await env.wb.shot(path.join(RESULTS, name));
}

function ws(env: Env, ...parts: string[]): string {
  return path.join(env.ws, ...parts);
}

/** Waits for the success notification of a single-image job and checks the file it names. */
async function expectUpscaled(env: Env, input: string, width: number, height: number, timeoutMs = 120_000) {
  const base = path.basename(input);
  const toast = await env.wb.waitToast(
    new RegExp(`^Upscaled ${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} → `),
    timeoutMs,
  );
  const r = parseResult(toast.message);
  assert(r, `cannot read the result from "${toast.message}"`);
  const output = path.join(path.dirname(input), r.output);
  await expectSize(output, width, height);
  assert(
    r.width === width && r.height === height,
    `the notification says ${r.width}×${r.height}, expected ${width}×${height}`,
  );
  return { toast, output, passes: r.passes };
}

/** In the page: a loaded, shown <img>'s natural width, else 0. */
function imageWidth(el: unknown): number {
  const img = el as { complete: boolean; naturalWidth: number; hidden: boolean };
  return img.complete && !img.hidden ? img.naturalWidth : 0;
}

/** The preview panel never opens in a column narrower than this (extension/preview/placement.ts). */
const MIN_PANEL_WIDTH = 480;

/** Waits for an image's preview tab; returns its webview (the newest Upscale webview). */
async function previewOf(env: Env, file: string, timeoutMs = 30_000): Promise<FrameLocator> {
  await until(
    `the preview tab of ${file}`,
    async () => (await env.wb.editorTabs()).some((t) => t.startsWith(`Upscale: ${file}`)),
    timeoutMs,
  );
  return env.wb.webview(EXTENSION_ID);
}

/** Waits for an image in the panel to be loaded and shown; returns its natural width. */
async function panelImage(view: FrameLocator, which: 'original' | 'upscaled'): Promise<number> {
  return until(
    `the ${which} image in the panel`,
    async () => {
      const w = await view.locator(`#image-${which}`).evaluate(imageWidth);
      return w > 0 ? w : undefined;
    },
    30_000,
  );
}

/** The panel's status line ("3 of 9 tiles · about 40 s left", "Done"), or '' while it is not there. */
async function panelStatus(view: FrameLocator): Promise<string> {
  return (
    await view
      .locator('#status-text')
      .innerText()
      .catch(() => '')
  ).trim();
}

/** The panel's layout problems, from its own DOM (test/e2e/panel-layout.ts). */
async function panelLayout(view: FrameLocator): Promise<{ width: number; pathWidth: number; problems: string[] }> {
  return view.locator('body').evaluate(layoutProblems);
}

/** Every file under `dir` named `name`. */
function filesNamed(dir: string, name: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile() && entry.name === name) found.push(path.join(entry.parentPath, entry.name));
  return found;
}

/** The Upscale output channel as VS Code writes it to its log folder: "<time> [level] message" lines. */
async function upscaleLog(env: Env, expect: RegExp): Promise<string[]> {
  return until(
    `the Upscale log to say ${expect}`,
    async () => {
      for (const file of filesNamed(env.tmp, 'Upscale.log')) {
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        if (lines.some((l) => expect.test(l))) return lines;
      }
      return undefined;
    },
    20_000,
  );
}

async function startDaemonPid(env: Env): Promise<number> {
  return until('the daemon process', async () => daemonPids(env.dirs.extensionsDir)[0], 60_000);
}

// ---- the scenarios -------------------------------------------------------------------

const scenarios: Scenario[] = [
  {
    id: '01',
    name: 'explorer upscale: menu, live preview',
    run: async (env) => {
      const input = ws(env, 's1-photo.png');
      // The Upscale items are a group of their own: separators around them, and one before Rename….
      const menu = await env.wb.explorerMenu('s1-photo.png');
      const seen = menu.join(' | ');
      const up = menu.indexOf('Upscale Image');
      assert(up > 0 && menu[up - 1] === '---', `no separator before Upscale Image: ${seen}`);
      assert(menu[up + 1] === 'Upscale Image With…' && menu[up + 2] === '---', `the Upscale group: ${seen}`);
      const rename = menu.findIndex((e) => /^Rename/.test(e));
      assert(rename > 0 && menu[rename - 1] === '---', `no separator before Rename…: ${seen}`);
      // The first job of a new user opens the live preview, beside, in a usable column.
      await env.wb.explorerContext('s1-photo.png', 'Upscale Image');
      const view = await previewOf(env, 's1-photo.png');
      const { toast, output } = await expectUpscaled(env, input, 256, 192, 180_000);
      for (const b of ['Open', 'Reveal in Explorer'])
        assert(toast.buttons.includes(b), `the notification offers ${toast.buttons.join(', ')}; no ${b}`);
      assert(!toast.buttons.includes('Compare'), 'Compare is offered although the preview is open');
      const shown = await panelImage(view, 'upscaled');
      assert(shown === 256, `the panel shows a ${shown} px wide result, expected 256`);
      const panelWidth = await env.wb.webviewWidth(view);
      assert(panelWidth >= MIN_PANEL_WIDTH, `the preview is ${panelWidth} px wide`);
      const pixels = await expectPicture(input, output);
      await env.wb.waitExplorerRow(path.basename(output));
      const status = await until(
        'the status bar to show the idle daemon',
        async () => {
          const s = await env.wb.statusBarUpscale();
          return /Upscale/.test(s) && /cpu/i.test(s) ? s : undefined;
        },
        20_000,
      );
      // The daemon is the extension host's child, running the packaged dist/upscale.js.
      const pid = await startDaemonPid(env);
      const host = parentPid(pid);
      assert(
        host !== undefined && /extensionHost|bootstrap-fork|node/.test(commandLine(host)),
        `the daemon's parent is ${commandLine(host ?? 0)}`,
      );
      // A healthy start logs nothing alarming: no error line, no terminal codes, the
      // providers in one line (onnxruntime's and Dawn's probing chatter is at debug level).
      const lines = await upscaleLog(env, /\[info\] providers: /);
      const errors = lines.filter((l) => /\[error\]/.test(l));
      assert(errors.length === 0, `error lines in the Upscale log: ${errors.join(' / ')}`);
      const raw = lines.filter((l) => l.includes('\u001b'));
      assert(raw.length === 0, `escape codes in the Upscale log: ${JSON.stringify(raw)}`);
      // What libraries print on the daemon's stderr (onnxruntime, Dawn, Mesa) is at debug level.
      const chatter = lines.filter((l) => /\[(warning|error|info)\] daemon stderr:/.test(l));
      assert(chatter.length === 0, `library output above debug level: ${chatter.join(' / ')}`);
      const providers = lines.find((l) => /\[info\] providers: /.test(l))?.replace(/^.*\[info\] /, '');
      await shot(env, '01-explorer-upscale.png');
      return `menu: ${seen}; preview ${panelWidth} px wide, shows 256 px; ${path.basename(output)} 256×192, ${pixels}; buttons: ${toast.buttons.join(', ')}; status "${status}"; log: ${lines.filter((l) => l.trim() !== '').length} lines, none at error level, "${providers}"`;
    },
  },
  {
    id: '02',
    name: 'upscale with',
    run: async (env) => {
      // A 4x model for 2x: one pass, then Lanczos down.
      const a = ws(env, 's2-with.png');
      await env.wb.explorerContext('s2-with.png', 'Upscale Image With…');
      await env.wb.quickPickRows();
      await env.wb.typeAndEnter(DEFAULT_MODEL);
      const scaleRows = await env.wb.quickPickRows();
      assert(
        scaleRows.some((r) => /2x/.test(r) && /one pass, then Lanczos down/.test(r)),
        `scale rows: ${scaleRows.join(' | ')}`,
      );
      await env.wb.pickRow('2x');
      await env.wb.noExtras();
      const r1 = await expectUpscaled(env, a, 80, 60);
      assert(r1.passes === 1, `2x with a 4x model took ${r1.passes} passes`);
      await expectPicture(a, r1.output);
      await shot(env, '02-upscale-with-2x.png');
      await env.wb.clearNotifications();
      // An exact size 50 times larger: three passes of the 4x model, then Lanczos to the size.
      const b = ws(env, 's2-tiny.png');
      await env.wb.explorerContext('s2-tiny.png', 'Upscale Image With…');
      await env.wb.quickPickRows();
      await env.wb.typeAndEnter(DEFAULT_MODEL);
      await env.wb.pickRow('Custom…');
      const input = env.wb.page.locator('.quick-input-widget .quick-input-box input');
      await input.fill('500x400');
      const hint = await until(
        'the size hint under the input box',
        async () => {
          const m = await env.wb.inputMessage();
          return /500/.test(m) ? m : undefined;
        },
        10_000,
      );
      await input.press('Enter');
      await env.wb.noExtras();
      const r2 = await expectUpscaled(env, b, 500, 400, 180_000);
      assert(r2.passes === 3, `500x400 from 10×8 took ${r2.passes} passes, expected 3`);
      await shot(env, '02-upscale-with-exact.png');
      return `2x: ${path.basename(r1.output)} 80×60 in 1 pass; exact: ${path.basename(r2.output)} 500×400 in 3 passes (hint "${hint}")`;
    },
  },
  {
    id: '03',
    name: 'batch and folder',
    run: async (env) => {
      const names = ['s3-m1.png', 's3-m2.jpg', 's3-m3.webp'];
      const sizes: Record<string, [number, number]> = {
        's3-m1.png': [32, 32],
        's3-m2.jpg': [40, 24],
        's3-m3.webp': [24, 40],
      };
      await env.wb.explorerSelect(names);
      await env.wb.explorerContext('s3-m3.webp', 'Upscale Image');
      const t = await env.wb.waitToast(/^Upscaled 3 of 3 images/, 240_000);
      // The summary comes once the progress notification has gone, so nothing covers its button.
      const alongside = (await env.wb.toasts()).filter((x) => /^Upscaling 3 images/.test(x.message));
      const reachable = await env.wb.toastButtonReachable(/^Upscaled 3 of 3 images/, 'Reveal in Explorer');
      await shot(env, '03-batch.png');
      assert(alongside.length === 0, `the summary appeared beside "${alongside[0]?.message ?? ''}"`);
      assert(reachable, "the summary's Reveal in Explorer button is covered");
      for (const n of names) {
        const [w, h] = sizes[n] as [number, number];
        const out = ws(env, n.replace(/\.(\w+)$/, '@4x.$1'));
        await expectSize(out, w * 4, h * 4);
        await expectPicture(ws(env, n), out);
      }
      await env.wb.clearNotifications();
      // Upscale Folder…: this folder only, into <folder>/upscaled.
      await env.wb.explorerContext('s3-folder', 'Upscale Folder…');
      await env.wb.pickRow('This folder only');
      await env.wb.pickRow(/s3-folder\/upscaled/);
      const t2 = await env.wb.waitToast(/^Upscaled 2 of 2 images/, 240_000);
      const alongside2 = (await env.wb.toasts()).filter((x) => /^Upscaling 2 images/.test(x.message));
      assert(alongside2.length === 0, `the summary appeared beside "${alongside2[0]?.message ?? ''}"`);
      await expectSize(ws(env, 's3-folder', 'upscaled', 'f1@4x.png'), 96, 64);
      await expectSize(ws(env, 's3-folder', 'upscaled', 'f2@4x.jpg'), 64, 96);
      assert(
        !fs.existsSync(ws(env, 's3-folder', 'upscaled', 'sub')),
        'the subfolder was upscaled with "This folder only"',
      );
      await shot(env, '03-folder.png');
      return `"${t.message}"; "${t2.message}"`;
    },
  },
  {
    id: '04',
    name: 'cancel',
    run: async (env) => {
      await workspaceSettings(env, { 'upscale.tileSize': 32 });
      await env.wb.explorerContext('s4-big.png', 'Upscale Image With…');
      await env.wb.quickPickRows();
      await env.wb.typeAndEnter(SLOW_MODEL);
      await env.wb.pickRow('4x');
      await env.wb.noExtras();
      const progress = await env.wb.waitToast(/Upscaling s4-big\.png/, 30_000);
      const pidBefore = await startDaemonPid(env);
      // Let a few tiles finish, so the cancel lands mid-job.
      const running = await until(
        'tiles to be under way',
        async () => {
          const t = (await env.wb.toasts()).find((x) => /Upscaling s4-big\.png/.test(x.message));
          return t && /[1-9]\d* of \d+ tiles/.test(t.message) ? t.message : undefined;
        },
        60_000,
      );
      assert(
        progress.buttons.includes('Cancel'),
        `the progress notification offers ${progress.buttons.join(', ') || 'nothing'}; no Cancel`,
      );
      await env.wb.clickToastButton(/Upscaling s4-big\.png/, 'Cancel');
      const cancelled = await env.wb.waitToast(/^Upscale cancelled: s4-big\.png; no file was written\./, 30_000);
      await sleep(1000);
      const leftovers = filesStartingWith(env.ws, 's4-big@');
      assert(leftovers.length === 0, `files left after cancelling: ${leftovers.join(', ')}`);
      await shot(env, '04-cancel.png');
      const pidAfter = daemonPids(env.dirs.extensionsDir);
      assert(
        pidAfter.includes(pidBefore),
        `the daemon (pid ${pidBefore}) did not stay up: now ${pidAfter.join(', ') || 'none'}`,
      );
      await workspaceSettings(env, { 'upscale.tileSize': undefined });
      await env.wb.clearNotifications();
      const next = ws(env, 's4-next.png');
      await env.wb.explorerContext('s4-next.png', 'Upscale Image');
      await expectUpscaled(env, next, 96, 96);
      assert(daemonPids(env.dirs.extensionsDir).includes(pidBefore), 'the next job ran on another daemon');
      return `cancelled at "${running}"; "${cancelled.message}"; daemon pid ${pidBefore} kept; next job ok`;
    },
  },
  {
    id: '05',
    name: 'preview panel',
    run: async (env) => {
      await workspaceSettings(env, { 'upscale.tileSize': 32 });
      const input = ws(env, 's5-preview.png');
      // The image open in an editor first: the panel must open beside it.
      await (await env.wb.waitExplorerRow('s5-preview.png')).click();
      await until(
        'the image editor',
        async () => (await env.wb.editorTabs()).some((t) => t.startsWith('s5-preview.png')),
        15_000,
      );
      await env.wb.explorerContext('s5-preview.png', 'Upscale Image With…');
      await env.wb.quickPickRows();
      await env.wb.typeAndEnter(SLOW_MODEL);
      await env.wb.pickRow('4x');
      await env.wb.noExtras();
      // Opens beside the current editor: a second editor group with the panel's tab.
      const view = await previewOf(env, 's5-preview.png');
      const groups = await env.wb.editorGroups();
      assert(groups >= 2, `the preview did not open beside the image (${groups} editor group)`);
      const panelWidth = await env.wb.webviewWidth(view);
      assert(panelWidth >= MIN_PANEL_WIDTH, `the preview column is ${panelWidth} px wide`);
      const original = await panelImage(view, 'original');
      // Two moments while the tiles come in; the time left once a tile has been timed.
      const progressText = async () => {
        const bar = await view
          .locator('#progress-bar')
          .getAttribute('value')
          .catch(() => null);
        const status = await panelStatus(view);
        return { bar, status, key: `${bar ?? ''}|${status}` };
      };
      const tileOf = (status: string) => Number(/(\d+) of \d+ tiles/.exec(status)?.[1] ?? -1);
      const first = await until(
        'the first tiles',
        async () => {
          const p = await progressText();
          return tileOf(p.status) >= 1 ? p : undefined;
        },
        90_000,
        200,
      );
      await shot(env, '05-preview-live-1.png');
      const left = await until(
        'the time left in the panel',
        async () => {
          const p = await progressText();
          return / left$/.test(p.status) ? p : undefined;
        },
        90_000,
        200,
      );
      const toastLeft = await until(
        'the time left in the notification',
        async () =>
          (await env.wb.toasts()).find((x) => /^Upscaling s5-preview\.png/.test(x.message) && / left/.test(x.message))
            ?.message,
        10_000,
        200,
      );
      const second = await until(
        'more tiles',
        async () => {
          const p = await progressText();
          return tileOf(p.status) > tileOf(first.status) || (p.key !== first.key && tileOf(p.status) < 0)
            ? p
            : undefined;
        },
        90_000,
        200,
      );
      await shot(env, '05-preview-live-2.png');
      const done = await expectUpscaled(env, input, 384, 384, 300_000);
      assert(!done.toast.buttons.includes('Compare'), 'Compare is offered although the preview is open');
      await view.locator('#image-upscaled:not([hidden])').waitFor({ timeout: 30_000 });
      const upscaledW = await panelImage(view, 'upscaled');
      assert(upscaledW === 384, `the panel shows a ${upscaledW} px wide result, expected 384`);
      const infoOutput = (await view.locator('#info-output').innerText()).trim();
      const infoTime = (await view.locator('#info-time').innerText()).trim();
      assert(
        done.toast.message.includes(`, ${infoTime} on `),
        `the notification and the panel give the time differently: "${done.toast.message}" / "${infoTime}"`,
      );
      // 100% is the output's pixels; the original's own scale is beside it; the button shows pressed.
      await view.locator('#zoom-100').click();
      const pressed = await until(
        '100% to show pressed',
        async () =>
          (await view.locator('#zoom-100').getAttribute('aria-pressed')) === 'true' &&
          (await view.locator('#zoom-fit').getAttribute('aria-pressed')) === 'false',
        5_000,
      );
      const scales = [
        (await view.locator('#scale-original').innerText()).trim(),
        (await view.locator('#scale-upscaled').innerText()).trim(),
      ];
      assert(scales[0] === '400%' && scales[1] === '100%', `at 100% the captions say ${scales.join(' / ')}`);
      await view.locator('#zoom-fit').click();
      // The footer at 520 px and at the full editor width: nothing overlaps, no text is lost.
      const at520 = await env.wb.resizeWebviewTo(view, 520);
      const narrow = await panelLayout(view);
      await shot(env, '05-preview-520.png');
      assert(Math.abs(at520 - 520) <= 8, `could not make the panel 520 px wide (${at520} px)`);
      assert(narrow.problems.length === 0, `at ${at520} px: ${narrow.problems.join('; ')}`);
      await env.wb.setViewport({ width: 1440, height: 900 });
      await view.locator('#views').click();
      await env.wb.command('View: Toggle Maximize Editor Group');
      await env.wb.command('View: Close Primary Side Bar');
      await sleep(800);
      const full = await panelLayout(view);
      await shot(env, '05-preview-full-width.png');
      await env.wb.command('View: Toggle Maximize Editor Group');
      await env.wb.command('View: Show Explorer');
      assert(full.width >= 1300, `the maximized panel is ${full.width} px wide`);
      assert(full.problems.length === 0, `at ${full.width} px: ${full.problems.join('; ')}`);
      // Slider (split) mode: the divider appears and moves with the keyboard.
      await view.locator('#mode-split').click();
      await view.locator('#divider:not([hidden])').waitFor({ timeout: 10_000 });
      assert((await view.locator('#mode-split').getAttribute('aria-pressed')) === 'true', 'Split is not pressed');
      const before = await view.locator('#divider').getAttribute('aria-valuenow');
      await view.locator('#divider').focus();
      await view.locator('#divider').press('ArrowLeft');
      await view.locator('#divider').press('ArrowLeft');
      const after = await until(
        'the divider to move',
        async () => {
          const v = await view.locator('#divider').getAttribute('aria-valuenow');
          return v !== before ? v : undefined;
        },
        5_000,
      );
      await shot(env, '05-preview-slider.png');
      // Reload the window: the panel comes back with the same job and mode.
      await env.wb.command('Developer: Reload Window');
      await sleep(2000);
      await env.wb.ready();
      const restored = await previewOf(env, 's5-preview.png', 60_000);
      await restored
        .locator('#info-path')
        .filter({ hasText: path.basename(done.output) })
        .waitFor({ state: 'attached', timeout: 60_000 });
      const restoredW = await panelImage(restored, 'upscaled');
      const mode = await restored.locator('#mode-split').getAttribute('aria-pressed');
      await shot(env, '05-preview-reload.png');
      assert(mode === 'true', `after the reload the panel is not in Split mode (aria-pressed ${mode})`);
      await workspaceSettings(env, { 'upscale.tileSize': undefined });
      return `groups ${groups}, panel ${panelWidth} px; original ${original} px; progress "${first.status}" (${first.bar}) → "${left.status}" → "${second.status}" (${second.bar}); toast "${toastLeft}"; result ${upscaledW} px, output "${infoOutput}", time "${infoTime}" in both; 100%: ${scales.join(' / ')}${pressed ? ', pressed' : ''}; footer clean at ${at520} px (path ${Math.round(narrow.pathWidth)} px) and ${full.width} px (path ${Math.round(full.pathWidth)} px); divider ${before} → ${after}; restored ${restoredW} px, split kept`;
    },
  },
  {
    id: '06',
    name: 'daemon killed',
    run: async (env) => {
      await workspaceSettings(env, { 'upscale.tileSize': 32 });
      const input = ws(env, 's6-big.png');
      await env.wb.explorerContext('s6-big.png', 'Upscale Image With…');
      await env.wb.quickPickRows();
      await env.wb.typeAndEnter(SLOW_MODEL);
      await env.wb.pickRow('4x');
      await env.wb.noExtras();
      await env.wb.waitToast(/Upscaling s6-big\.png/, 30_000);
      const pid = await startDaemonPid(env);
      await until(
        'tiles to be under way',
        async () => {
          const t = (await env.wb.toasts()).find((x) => /Upscaling s6-big\.png/.test(x.message));
          return t && /[1-9]\d* of \d+ tiles/.test(t.message);
        },
        60_000,
      );
      process.kill(pid, 'SIGKILL');
      const error = await env.wb.waitToast(/s6-big\.png/i, 30_000).then(async (t) => {
        // The progress toast names the file too; wait for the failure.
        return /^Upscaling/.test(t.message) ? env.wb.waitToast(/^Upscale failed for s6-big\.png: /, 30_000) : t;
      });
      assert(/^Upscale failed for s6-big\.png: /.test(error.message), `unexpected notification "${error.message}"`);
      assert(/daemon/i.test(error.message), `the error does not say the daemon stopped: "${error.message}"`);
      const statusAfterKill = await env.wb.statusBarUpscale();
      await shot(env, '06-daemon-killed.png');
      assert(
        filesStartingWith(env.ws, 's6-big@').length === 0,
        `files left: ${filesStartingWith(env.ws, 's6-big@').join(', ')}`,
      );
      // Restarted on its own (back-off), then the next job succeeds.
      const newPid = await until(
        'a new daemon',
        async () => daemonPids(env.dirs.extensionsDir).find((p) => p !== pid),
        60_000,
      );
      await workspaceSettings(env, { 'upscale.tileSize': undefined });
      await env.wb.clearNotifications();
      await env.wb.explorerContext('s6-next.png', 'Upscale Image');
      await expectUpscaled(env, ws(env, 's6-next.png'), 96, 96);
      const status = await env.wb.statusBarUpscale();
      assert(!/error|warning/i.test(status) || /cpu/.test(status), `status bar after recovery: ${status}`);
      void input;
      return `"${error.message}"; status after kill "${statusAfterKill}"; daemon ${pid} → ${newPid}; next job ok; status "${status}"`;
    },
  },
  {
    id: '07',
    name: 'import model',
    run: async (env) => {
      assert(fs.existsSync(FIXTURE_MODEL), `the fixture model ${FIXTURE_MODEL} is missing`);
      await env.wb.command('Upscale: Import Model…');
      await env.wb.openDialogPath(FIXTURE_MODEL);
      const imported = await env.wb.waitToast(/^Imported .+: .+, x4\./, 120_000);
      const name = /^Imported (.+?): /.exec(imported.message)?.[1] ?? '';
      const json = fs
        .readdirSync(env.userModels)
        .filter((n) => n.endsWith('.json'))
        .map((n) => JSON.parse(fs.readFileSync(path.join(env.userModels, n), 'utf8')) as { id: string; name: string });
      const record = json.find((r) => r.name === name);
      assert(
        record,
        `the imported model is not in the models folder ${env.userModels} (${json.map((r) => r.name).join(', ')})`,
      );
      await env.wb.clearNotifications();
      const input = ws(env, 's7-import.png');
      await env.wb.explorerContext('s7-import.png', 'Upscale Image With…');
      const rows = await env.wb.quickPickRows();
      assert(
        rows.some((r) => r.includes(record.id)),
        `the model pick has no ${record.id}: ${rows.join(' | ')}`,
      );
      await env.wb.typeAndEnter(record.id);
      await env.wb.pickRow('4x');
      await env.wb.noExtras();
      const r = await expectUpscaled(env, input, 64, 48);
      await shot(env, '07-import-model.png');
      return `"${imported.message}" (id ${record.id}); ${path.basename(r.output)} 64×48`;
    },
  },
  {
    id: '09',
    name: 'corrupt image',
    run: async (env) => {
      await env.wb.explorerContext('s9-corrupt.png', 'Upscale Image');
      const t = await env.wb
        .waitToast(/s9-corrupt\.png/, 60_000)
        .then((x) =>
          /^Upscaling/.test(x.message)
            ? env.wb.waitToast(/(failed|error).*s9-corrupt\.png|s9-corrupt\.png.*(failed|error|corrupt|not)/i, 60_000)
            : x,
        );
      assert(/fail|error|cannot|not/i.test(t.message), `the notification does not say it failed: "${t.message}"`);
      const el = env.wb.page
        .locator('.notifications-toasts .notification-list-item')
        .filter({ hasText: 's9-corrupt.png' })
        .first();
      const severity =
        (await el
          .locator('.notification-list-item-icon')
          .getAttribute('class')
          .catch(() => '')) ?? '';
      assert(/error/.test(severity), `the notification is not an error (icon ${severity})`);
      await sleep(1000);
      const written = filesStartingWith(env.ws, 's9-corrupt@');
      assert(written.length === 0, `files written: ${written.join(', ')}`);
      await shot(env, '09-corrupt-image.png');
      return `"${t.message}"`;
    },
  },
  {
    id: '10',
    name: 'preview column width',
    run: async (env) => {
      // Two columns, the image in the right one: splitting it would make two of about 270 px.
      await (await env.wb.waitExplorerRow('s10-notes.txt')).click();
      await env.wb.command('View: Split Editor Right');
      await (await env.wb.waitExplorerRow('s10-cramped.png')).click();
      await until(
        'the image beside the notes',
        async () => (await env.wb.editorTabs()).some((t) => t.startsWith('s10-cramped.png')),
        15_000,
      );
      const before = await env.wb.editorGroups();
      await env.wb.explorerContext('s10-cramped.png', 'Upscale Image');
      const view = await previewOf(env, 's10-cramped.png');
      await expectUpscaled(env, ws(env, 's10-cramped.png'), 256, 192);
      const width = await env.wb.webviewWidth(view);
      const after = await env.wb.editorGroups();
      await shot(env, '10-preview-column.png');
      assert(after === before, `a column was added for the preview: ${before} → ${after} editor groups`);
      assert(width >= MIN_PANEL_WIDTH, `the preview is ${width} px wide`);
      return `${before} columns stay ${after}; the preview opened in the other column, ${width} px wide`;
    },
  },
  {
    id: '11',
    name: 'time left in a one-tile job',
    run: async (env) => {
      // realesrgan-x4plus on 128×128: one tile of several seconds, and a model this user has
      // never run (the cache folder is new): its first job is estimated from the model's
      // multiply-accumulates and the CPU's speed, timed once; the second from its own rate.
      const input = ws(env, 's11-once.png');
      const job = async () => {
        await env.wb.explorerContext('s11-once.png', 'Upscale Image With…');
        await env.wb.quickPickRows();
        await env.wb.typeAndEnter(SLOW_MODEL);
        await env.wb.pickRow('4x');
        await env.wb.noExtras();
        const view = await previewOf(env, 's11-once.png');
        let panel = '';
        let toast = '';
        const done = /^Upscaled s11-once\.png → /;
        await until(
          'the job to finish',
          async () => {
            const toasts = await env.wb.toasts();
            const progress = toasts.find((t) => /^Upscaling s11-once\.png/.test(t.message))?.message ?? '';
            if (/ left/.test(progress)) toast ||= progress;
            const status = await panelStatus(view);
            if (/ left$/.test(status)) panel ||= status;
            return toasts.some((t) => done.test(t.message));
          },
          180_000,
          150,
        );
        const r = await expectUpscaled(env, input, 512, 512);
        await env.wb.clearNotifications();
        return { panel, toast, output: path.basename(r.output) };
      };
      const first = await job();
      const second = await job();
      await shot(env, '11-time-left.png');
      assert(first.toast !== '', 'the notification never showed the time left during the first one-tile job');
      assert(first.panel !== '', 'the panel never showed the time left during the first one-tile job');
      assert(second.toast !== '', 'the notification never showed the time left during the second one-tile job');
      assert(second.panel !== '', 'the panel never showed the time left during the second one-tile job');
      return `first job: panel "${first.panel}", notification "${first.toast}"; second: panel "${second.panel}", notification "${second.toast}"`;
    },
  },
  {
    id: '12',
    name: 'panel layout 320 px to full screen',
    run: async (env) => {
      const installed = fs.readdirSync(env.dirs.extensionsDir).find((n) => n.startsWith(`${EXTENSION_ID}-`));
      assert(installed, `no ${EXTENSION_ID} in ${env.dirs.extensionsDir}`);
      return checkPanelLayout(env.browser, path.join(env.dirs.extensionsDir, installed), RESULTS);
    },
  },
];

/** Scenario 13: combining models from Upscale Image With… (issue 27), appended to the list. */
const combine: Scenario = {
  id: '13',
  name: 'combine models: a second model blended in and TTA',
  run: async (env) => {
    const input = ws(env, 's13-combo.png');
    await env.wb.explorerContext('s13-combo.png', 'Upscale Image With…');
    await env.wb.quickPickRows();
    await env.wb.typeAndEnter(DEFAULT_MODEL);
    await env.wb.pickRow('4x');
    await env.wb.pickExtras([/Blend a second model/, /TTA/]);
    await env.wb.quickPickRows();
    await env.wb.typeAndEnter(SLOW_MODEL);
    const weightTitle = await until(
      'the weight input box',
      async () => {
        const t = await env.wb.quickPickTitle();
        return t.startsWith('Weight') ? t : undefined;
      },
      20_000,
    );
    await env.wb.typeAndEnter('0.3');
    await env.wb.pickRow('×2');
    const view = await previewOf(env, 's13-combo.png');
    const r = await expectUpscaled(env, input, 64, 48, 180_000);
    await expectPicture(input, r.output);
    // The panel's summary names the whole combination, as the daemon's plan gives it.
    const model = await until(
      "the panel's model",
      async () => {
        const text = (await view.locator('#info-model').innerText()).trim();
        return text.includes('TTA') ? text : undefined;
      },
      30_000,
    );
    const want = `${DEFAULT_MODEL} + 30% ${SLOW_MODEL} · TTA ×2`;
    assert(model === want, `the panel's model reads "${model}", expected "${want}"`);
    // The job's log line says where it ran and why, as the daemon reported it.
    const lines = await upscaleLog(env, /upscaled s13-combo\.png → /);
    const done = lines.find((l) => /upscaled s13-combo\.png → /.test(l)) ?? '';
    assert(/in fp32\); provider cpu: .+; precision fp32: /.test(done), `the job's log line: ${done}`);
    await shot(env, '13-combine.png');
    return `"${weightTitle}" at 0.3, TTA ×2: ${path.basename(r.output)} 64×48; panel "${model}"`;
  },
};
scenarios.push(combine);

/** Scenario 8 runs in its own window: trust enabled, the folder untrusted (Restricted Mode). */
const restricted: Scenario = {
  id: '08',
  name: 'restricted mode',
  run: async (env) => {
    const wb = env.wb;
    // VS Code's own Restricted Mode indicator.
    const indicator = await until(
      'the Restricted Mode indicator',
      async () => {
        const t = await env.wb.page
          .locator('#workbench\\.parts\\.statusbar')
          .innerText()
          .catch(() => '');
        return /Restricted Mode/i.test(t) ? 'status bar says Restricted Mode' : undefined;
      },
      30_000,
    );
    const input = ws(env, 'r-photo.png');
    await wb.explorerContext('r-photo.png', 'Upscale Image');
    const r = await expectUpscaled(env, input, 128, 96, 180_000);
    await expectPicture(input, r.output);
    const early = (await wb.toasts()).map((t) => t.message);
    await wb.clearNotifications();
    // The workspace's models folder is ignored; the user's own is used.
    await wb.explorerContext('r-photo.png', 'Upscale Image With…');
    const rows = await wb.quickPickRows();
    const texts = rows.join(' | ');
    await shot(env, '08-restricted-mode.png');
    assert(!/ws-evil/i.test(texts), `a model from the workspace's upscale.modelsFolder is offered: ${texts}`);
    assert(texts.includes(SLOW_MODEL), `the user's own modelsFolder model ${SLOW_MODEL} is missing: ${texts}`);
    const title = await wb.quickPickTitle();
    await wb.escape(2);
    // The UI must say why the workspace's models folder is not used.
    const why = [
      title,
      ...rows,
      ...early,
      ...(await wb.toasts()).map((t) => t.message),
      await wb.statusBarUpscale(),
    ].join(' | ');
    assert(
      /restricted|untrusted|trust/i.test(why) && /model/i.test(why),
      "nothing in the Upscale UI (notifications, model pick, status bar) says that the workspace's upscale.modelsFolder is ignored in Restricted Mode; seen: " +
        why.replace(/\s+/g, ' '),
    );
    return `${indicator}; ${path.basename(r.output)} 128×96 with the built-in model; no workspace model offered`;
  },
};

// ---- setup and the run ---------------------------------------------------------------

function setupCache(): string {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts', 'e2e-setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const m = /^E2E_CACHE=(.+)$/m.exec(out);
  if (!m) throw new Error(`scripts/e2e-setup.sh did not print E2E_CACHE: ${out}`);
  return (m[1] as string).trim();
}

function linkModel(fromDir: string, toDir: string, id: string, as?: { id: string; name: string }): void {
  const onnx = path.join(fromDir, `${id}.onnx`);
  if (!fs.existsSync(onnx)) throw new Error(`${onnx} is missing: run "npm run setup-models" (npm test does) first`);
  const meta = JSON.parse(fs.readFileSync(path.join(fromDir, `${id}.json`), 'utf8')) as Record<string, unknown>;
  const newId = as?.id ?? id;
  fs.symlinkSync(onnx, path.join(toDir, `${newId}.onnx`));
  fs.writeFileSync(
    path.join(toDir, `${newId}.json`),
    JSON.stringify({ ...meta, ...(as && { id: as.id, name: as.name }) }, null, 2),
  );
}

async function makeWorkspace(dir: string): Promise<void> {
  await makeImage(path.join(dir, 's1-photo.png'), 64, 48, 1);
  await makeImage(path.join(dir, 's2-with.png'), 40, 30, 2);
  await makeImage(path.join(dir, 's2-tiny.png'), 10, 8, 3);
  await makeImage(path.join(dir, 's3-m1.png'), 32, 32, 4);
  await makeImage(path.join(dir, 's3-m2.jpg'), 40, 24, 5);
  await makeImage(path.join(dir, 's3-m3.webp'), 24, 40, 6);
  await makeImage(path.join(dir, 's3-folder', 'f1.png'), 24, 16, 7);
  await makeImage(path.join(dir, 's3-folder', 'f2.jpg'), 16, 24, 8);
  await makeImage(path.join(dir, 's3-folder', 'sub', 'f3.png'), 16, 16, 9);
  fs.writeFileSync(path.join(dir, 's3-folder', 'notes.txt'), 'not an image\n');
  await makeImage(path.join(dir, 's4-big.png'), 128, 128, 10);
  await makeImage(path.join(dir, 's4-next.png'), 24, 24, 11);
  await makeImage(path.join(dir, 's5-preview.png'), 96, 96, 12);
  await makeImage(path.join(dir, 's6-big.png'), 128, 128, 13);
  await makeImage(path.join(dir, 's6-next.png'), 24, 24, 14);
  await makeImage(path.join(dir, 's7-import.png'), 16, 12, 15);
  await makeImage(path.join(dir, 's10-cramped.png'), 64, 48, 16);
  fs.writeFileSync(path.join(dir, 's10-notes.txt'), 'Notes beside the image.\n');
  await makeImage(path.join(dir, 's11-once.png'), 128, 128, 17);
  await makeImage(path.join(dir, 's13-combo.png'), 16, 12, 18);
  // A PNG signature followed by garbage.
  fs.writeFileSync(
    path.join(dir, 's9-corrupt.png'),
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('this is not really an image '.repeat(40)),
    ]),
  );
}

const BASE_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'git.enabled': false,
  'files.simpleDialog.enable': true,
  'window.dialogStyle': 'custom',
  'explorer.confirmDragAndDrop': false,
  'notifications.showExtensionsNotifications': true,
  'workbench.editor.enablePreview': false,
  'security.workspace.trust.enabled': false,
};

async function openWindow(env: Env, folder: string): Promise<void> {
  env.context = await env.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await env.context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => log(`page error: ${e.message ?? ''}`));
  await page.goto(env.server.folderUrl(folder), { timeout: 60_000, waitUntil: 'domcontentloaded' });
  env.wb = new Workbench(page);
  await env.wb.ready();
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const t0 = Date.now();
  fs.mkdirSync(RESULTS, { recursive: true });
  const cacheDir = setupCache();
  const vsix = path.join(ROOT, 'upscale-0.1.0-linux-x64.vsix');
  assert(fs.existsSync(vsix), `${vsix} is missing: run "npm run package" first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-e2e-'));
  const userModels = path.join(tmp, 'user-models');
  fs.mkdirSync(userModels);
  linkModel(MODEL_CACHE, userModels, SLOW_MODEL);
  const dirs: CodeServerDirs = {
    cacheDir,
    extensionsDir: path.join(tmp, 'extensions'),
    userDataDir: path.join(tmp, 'user-data'),
    env: {
      XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
      XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
      // A new user's cache: no rates measured (the daemon's time estimates start from none).
      XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
      UPSCALE_MODELS_DIR: path.join(tmp, 'unused-models-dir'),
    },
  };
  fs.mkdirSync(path.join(dirs.userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(settingsFile(dirs.userDataDir), JSON.stringify(BASE_SETTINGS, null, 2));
  writeMachineSettings(dirs.userDataDir, { 'upscale.modelsFolder': userModels });
  const workspace = path.join(tmp, 'workspace');
  await makeWorkspace(workspace);
  log(`installing ${path.basename(vsix)} into ${dirs.extensionsDir}`);
  await installExtension(dirs, vsix);
  const pw = loadPlaywright(cacheDir);
  const browser = await pw.chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: process.env.E2E_HEADED !== '1',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const results: { id: string; name: string; ok: boolean; seconds: number; detail: string }[] = [];
  const runOne = async (env: Env, s: Scenario) => {
    const start = Date.now();
    log(`${s.id} ${s.name}…`);
    let ok = false;
    let detail = '';
    try {
      const hard = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('scenario took over 5 minutes')), 300_000).unref(),
      );
      detail = (await Promise.race([s.run(env), hard])) ?? '';
      ok = true;
    } catch (e) {
      detail = ((e as Error).message ?? String(e)).split('\n')[0] ?? '';
      log(`${s.id} failed: ${(e as Error).stack ?? String(e)}`);
      await env.wb.shot(path.join(RESULTS, `${s.id}-FAILED.png`)).catch(() => undefined);
    }
    const seconds = (Date.now() - start) / 1000;
    results.push({ id: s.id, name: s.name, ok, seconds, detail });
    const line = `${ok ? 'PASS' : 'FAIL'} ${s.id} ${s.name} (${seconds.toFixed(1)} s)${ok ? '' : `: ${detail}`}`;
    process.stdout.write(`${line}\n`);
    if (ok && detail) log(`   ${detail}`);
    // Leave the window clean for the next one: no notifications, no editors, one column.
    await env.wb.escape(2).catch(() => undefined);
    await env.wb.clearNotifications().catch(() => undefined);
    await env.wb.command('View: Close All Editors').catch(() => undefined);
  };
  const want = (s: Scenario) => only.length === 0 || only.includes(s.id);
  let server: CodeServer | undefined;
  try {
    server = await CodeServer.start(dirs, path.join(tmp, 'code-server.log'));
    const env: Env = {
      cacheDir,
      tmp,
      ws: workspace,
      userModels,
      dirs,
      server,
      browser,
      context: undefined as unknown as BrowserContext,
      wb: undefined as unknown as Workbench,
    };
    if (scenarios.some(want)) {
      await openWindow(env, workspace);
      for (const s of scenarios.filter(want)) await runOne(env, s);
      await env.context.close();
    }
    await server.stop();
    server = undefined;
    if (want(restricted)) {
      // A second window: its own user data, trust on, the folder never trusted.
      const rDirs: CodeServerDirs = { ...dirs, userDataDir: path.join(tmp, 'user-data-restricted') };
      fs.mkdirSync(path.join(rDirs.userDataDir, 'User'), { recursive: true });
      fs.writeFileSync(
        settingsFile(rDirs.userDataDir),
        JSON.stringify(
          {
            ...BASE_SETTINGS,
            'security.workspace.trust.enabled': true,
            'security.workspace.trust.startupPrompt': 'never',
            'security.workspace.trust.banner': 'always',
            'security.workspace.trust.untrustedFiles': 'open',
          },
          null,
          2,
        ),
      );
      writeMachineSettings(rDirs.userDataDir, { 'upscale.modelsFolder': userModels });
      const rws = path.join(tmp, 'restricted-workspace');
      const evil = path.join(tmp, 'workspace-models');
      fs.mkdirSync(evil, { recursive: true });
      linkModel(MODEL_CACHE, evil, DEFAULT_MODEL, { id: 'ws-evil-x4', name: 'ws-evil-x4 (from the workspace)' });
      await makeImage(path.join(rws, 'r-photo.png'), 32, 24, 20);
      fs.mkdirSync(path.join(rws, '.vscode'), { recursive: true });
      fs.writeFileSync(
        path.join(rws, '.vscode', 'settings.json'),
        JSON.stringify({ 'upscale.modelsFolder': evil, 'upscale.executionProvider': 'cuda' }, null, 2),
      );
      server = await CodeServer.start(rDirs, path.join(tmp, 'code-server-restricted.log'));
      const rEnv: Env = { ...env, ws: rws, dirs: rDirs, server };
      try {
        await openWindow(rEnv, rws);
        await runOne(rEnv, restricted);
      } catch (e) {
        results.push({ id: '08', name: restricted.name, ok: false, seconds: 0, detail: (e as Error).message });
        process.stdout.write(`FAIL 08 ${restricted.name}: ${(e as Error).message}\n`);
      }
    }
  } finally {
    await server?.stop();
    await browser.close().catch(() => undefined);
    if (process.env.E2E_KEEP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${RESULTS}`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 || results.length === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stdout.write(`FAIL setup: ${(e as Error).stack ?? String(e)}\n0 passed, 1 failed\n`);
    process.exit(1);
  },
);
