// The preview webview: binds behaviour to the static markup from extension/preview/html.ts.
// All arithmetic lives in view.ts and tiles.ts (tested without a DOM); this file only
// reads events, calls those functions and writes the result to the page.

import './dom/lit-nonce'; // First: sets Lit's nonce before any component renders.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { LiveCanvas } from './dom/live-canvas';
import {
  parseToWebviewMessage,
  type JobView,
  type ProgressView,
  type ResultView,
  type WebviewMessage,
} from './messages';
import {
  DEFAULT_VIEW,
  STATE_VERSION,
  parsePreviewState,
  summaryOnly,
  type PreviewState,
  type ViewMode,
  type ViewState,
} from './state';
import { advanceEstimate, formatDuration, progressWords, type ProgressEstimate } from './progress';
import { canvasCoverage, estimateOutputSize, type OutputEstimate } from './tiles';
import {
  clampPan,
  fitTransform,
  imageBox,
  imagePixelScale,
  panBy,
  presetTransform,
  rescaleTransform,
  shouldPixelate,
  sliderFromKey,
  sliderFromPointer,
  sliderGeometry,
  wheelZoomFactor,
  zoomAround,
  zoomButtonPressed,
  zoomLabel,
  type Point,
  type PresetZoom,
  type Size,
  type Transform,
} from './view';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PreviewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

function element<T extends Element>(id: string, type: { new (): T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`The page has no #${id}`);
  return found;
}

const views = element('views', HTMLElement);
const viewportOriginal = element('viewport-original', HTMLElement);
const viewportUpscaled = element('viewport-upscaled', HTMLElement);
const stages = [element('stage-original', HTMLElement), element('stage-upscaled', HTMLElement)];
const imageOriginal = element('image-original', HTMLImageElement);
const imageUpscaled = element('image-upscaled', HTMLImageElement);
const divider = element('divider', HTMLElement);
const emptyMessage = element('empty', HTMLElement);
const errorBanner = element('error', HTMLElement);
const statusText = element('status-text', HTMLElement);
const progressBar = element('progress-bar', HTMLElement);
const announcer = element('live-announcer', HTMLElement);
const scaleOriginal = element('scale-original', HTMLElement);
const scaleUpscaled = element('scale-upscaled', HTMLElement);
const zoomButtons: Record<'fit' | PresetZoom, HTMLElement> = {
  fit: element('zoom-fit', HTMLElement),
  1: element('zoom-100', HTMLElement),
  2: element('zoom-200', HTMLElement),
  4: element('zoom-400', HTMLElement),
};
const modeButtons: Record<ViewMode, HTMLElement> = {
  side: element('mode-side', HTMLElement),
  split: element('mode-split', HTMLElement),
};
const actions = {
  reveal: element('action-reveal', HTMLElement),
  save: element('action-save', HTMLElement),
  again: element('action-again', HTMLElement),
};
const info = {
  input: element('info-input', HTMLElement),
  output: element('info-output', HTMLElement),
  model: element('info-model', HTMLElement),
  provider: element('info-provider', HTMLElement),
  passes: element('info-passes', HTMLElement),
  time: element('info-time', HTMLElement),
  path: element('info-path', HTMLElement),
};

// ---------------------------------------------------------------------------------------
// State

const restored = parsePreviewState(vscode.getState());
let job: PreviewState['job'] | undefined = restored?.job;
let result: ResultView | undefined;
let view: ViewState = restored?.view ?? DEFAULT_VIEW;
let mode: ViewMode = restored?.mode ?? 'side';
let split = restored?.split ?? 0.5;
let originalSize: Size | undefined;
let estimate: OutputEstimate | undefined;
/** Unknown until the first image or tile: a view restored from state waits for it
 *  rather than being clamped against a placeholder. */
let display: Size | undefined;
let lastPass = 0;
/** The job failed (or a restored panel's job never finished): tiles still draw, counts stop. */
let stopped = false;
/** The last progress, its estimate and when it arrived (performance.now()): the bar and the
 *  time left move on from it between notifications. */
let running: { progress: ProgressView; estimate: ProgressEstimate | undefined; at: number } | undefined;
/** The bar never goes back within a job, though a slow tile may raise the estimate. */
let shownFraction = 0;

const live = new LiveCanvas(element('live-canvas', HTMLCanvasElement), () => render());

let savePending = false;
/** Saved at once (a hidden webview is torn down without warning), but once per task, however
 *  many changes one event made. */
function saveState(): void {
  if (savePending) return;
  savePending = true;
  queueMicrotask(() => {
    savePending = false;
    if (!job) return;
    vscode.setState({
      version: STATE_VERSION,
      job,
      ...(result && { result: summaryOnly(result) }),
      view,
      mode,
      split,
    });
  });
}

/** The display size for gestures; before it is known they change nothing (see setTransform). */
function content(): Size {
  return display ?? { width: 0, height: 0 };
}

function transform(): Transform {
  return { zoom: view.zoom, panX: view.panX, panY: view.panY };
}

function viewportSize(): Size {
  return { width: viewportUpscaled.clientWidth, height: viewportUpscaled.clientHeight };
}

function setTransform(t: Transform, fitted: boolean): void {
  if (!display) {
    view = { fitted, zoom: t.zoom, panX: t.panX, panY: t.panY };
    return;
  }
  const clamped = fitted ? fitTransform(viewportSize(), content()) : clampPan(t, viewportSize(), content());
  view = { fitted, zoom: clamped.zoom, panX: clamped.panX, panY: clamped.panY };
  render();
  saveState();
}

/** The display space is the output's pixel grid: exact once there is a result, estimated
 *  from the tiles while the job runs, the original's size before the first tile. */
function updateDisplay(): void {
  const next = result
    ? { width: result.width, height: result.height }
    : estimate
      ? { width: estimate.width, height: estimate.height }
      : originalSize;
  if (!next || (display && next.width === display.width && next.height === display.height)) return;
  const previous = display;
  display = next;
  if (view.fitted) setTransform(transform(), true);
  else if (previous) setTransform(rescaleTransform(transform(), previous, next), false);
  else setTransform(transform(), false);
}

// ---------------------------------------------------------------------------------------
// Rendering

function render(): void {
  const t = transform();
  const shown = display ?? { width: 0, height: 0 };
  const box = imageBox(t, shown);
  for (const stage of stages) {
    stage.style.width = `${box.width}px`;
    stage.style.height = `${box.height}px`;
    stage.style.transform = `translate(${box.left}px, ${box.top}px)`;
  }
  views.classList.toggle('pixelated', shouldPixelate(t.zoom));
  // 100% is one pixel of the upscaled image per screen pixel; the original is magnified by
  // the factor on top. Each caption says its own image's scale, once the sizes are known.
  const original = result ? { width: result.inputWidth, height: result.inputHeight } : originalSize;
  const upscaledKnown = display !== undefined && (result !== undefined || estimate !== undefined);
  scaleUpscaled.textContent = upscaledKnown ? zoomLabel(t.zoom) : '';
  scaleOriginal.textContent = display && original ? zoomLabel(imagePixelScale(t, original, shown)) : '';
  for (const b of ['fit', 1, 2, 4] as const)
    zoomButtons[b].setAttribute(
      'aria-pressed',
      String(display !== undefined && zoomButtonPressed(b, view.fitted, t.zoom)),
    );

  const scale = live.canvasScale;
  if (scale !== undefined) {
    const cover = canvasCoverage(live.canvasSize, scale, shown);
    live.canvas.style.width = `${cover.width * 100}%`;
    live.canvas.style.height = `${cover.height * 100}%`;
  }

  views.classList.toggle('side', mode === 'side');
  views.classList.toggle('split', mode === 'split');
  divider.hidden = mode !== 'split';
  for (const m of ['side', 'split'] as const) modeButtons[m].setAttribute('aria-pressed', String(mode === m));
  const width = viewportUpscaled.clientWidth;
  const { x, clipRight } = sliderGeometry(split, width);
  viewportOriginal.style.clipPath = mode === 'split' ? `inset(0 ${clipRight}px 0 0)` : '';
  divider.style.transform = `translateX(${x}px)`;
  divider.setAttribute('aria-valuenow', String(Math.round(split * 100)));
  divider.setAttribute('aria-valuetext', `${Math.round(split * 100)}% original`);
}

function formatSize(s: Size | undefined): string {
  return s ? `${s.width} × ${s.height}` : '–';
}

function setDisabled(button: HTMLElement, disabled: boolean): void {
  button.toggleAttribute('disabled', disabled);
}

function renderInfo(): void {
  info.input.textContent = result
    ? formatSize({ width: result.inputWidth, height: result.inputHeight })
    : formatSize(originalSize);
  info.output.textContent = result ? formatSize(result) : estimate ? `≈ ${formatSize(estimate)}` : '–';
  info.model.textContent = result?.model ?? job?.model ?? '–';
  info.provider.textContent = result?.provider ?? '–';
  info.passes.textContent = result ? String(result.passes) : '–';
  info.time.textContent = result ? formatDuration(result.totalMs) : '–';
  const outputPath = result?.outputPath ?? job?.outputPath ?? '';
  info.path.textContent = outputPath;
  info.path.title = outputPath;
  info.path.tabIndex = result ? 0 : -1;
  info.path.classList.toggle('openable', result !== undefined);
  setDisabled(actions.reveal, !result);
  setDisabled(actions.save, !result);
  setDisabled(actions.again, !job);
  // A fact too wide for the panel ends in an ellipsis; its tooltip keeps the whole text.
  for (const dd of [info.input, info.output, info.model, info.provider, info.passes, info.time])
    dd.title = dd.textContent ?? '';
}

function showError(message: string | undefined): void {
  errorBanner.hidden = message === undefined;
  errorBanner.textContent = message ?? '';
}

function showBusy(busy: boolean): void {
  progressBar.hidden = !busy;
  if (!busy) running = undefined;
}

function sentence(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The status and the bar for the running job, moved on by the time since its last
 * notification: the same words and estimate as the notification (webview/progress.ts).
 */
function renderRunning(): void {
  if (!running || result || stopped) return;
  const { progress, at } = running;
  const estimate = running.estimate && advanceEstimate(running.estimate, performance.now() - at);
  statusText.textContent = sentence(progressWords(progress, estimate));
  // Nothing to measure yet (reading, loading, or the first tile of a first job): the bar
  // runs without a value rather than sit at 0.
  const measurable = progress.stage === 'infer' && (estimate?.leftMs !== undefined || progress.total > 1);
  if (estimate && (measurable || progress.stage === 'resize' || progress.stage === 'encode')) {
    shownFraction = Math.max(shownFraction, estimate.fraction);
    progressBar.setAttribute('max', '1000');
    progressBar.setAttribute('value', String(Math.round(shownFraction * 1000)));
  } else {
    progressBar.removeAttribute('value');
  }
}
setInterval(renderRunning, 500);

// ---------------------------------------------------------------------------------------
// Messages from the extension

function onInit(next: JobView, nextResult: ResultView | undefined, error: string | undefined): void {
  document.body.classList.remove('empty-state');
  emptyMessage.hidden = true;
  if (job?.input !== next.input) {
    // Another image: the saved zoom and pan were for that one.
    view = DEFAULT_VIEW;
  }
  job = { input: next.input, model: next.model, ...(next.outputPath !== undefined && { outputPath: next.outputPath }) };
  result = undefined;
  estimate = undefined;
  originalSize = undefined;
  display = undefined;
  lastPass = 0;
  stopped = error !== undefined;
  running = undefined;
  shownFraction = 0;
  live.reset();
  live.canvas.hidden = false;
  imageUpscaled.hidden = true;
  imageUpscaled.removeAttribute('src');
  imageOriginal.src = next.originalUri;
  showError(error);
  if (nextResult) showResult(nextResult);
  else {
    statusText.textContent = error === undefined ? 'Starting…' : '';
    showBusy(error === undefined);
    progressBar.removeAttribute('value');
  }
  renderInfo();
  render();
  saveState();
}

function onProgress(p: ProgressView): void {
  if (result) return;
  if (stopped) {
    if (p.preview) drawTile(p);
    return;
  }
  running = { progress: p, estimate: p.estimate, at: performance.now() };
  progressBar.hidden = false;
  renderRunning();
  if (p.pass !== lastPass && p.pass > 0) {
    lastPass = p.pass;
    announcer.textContent = p.passes > 1 ? `Pass ${p.pass} of ${p.passes}` : 'Upscaling';
  }
  if (p.preview) drawTile(p);
}

function drawTile(p: ProgressView): void {
  if (!p.preview) return;
  estimate = estimateOutputSize(estimate, p);
  live.draw(p.preview, estimate);
  updateDisplay();
  renderInfo();
}

function showResult(next: ResultView): void {
  result = next;
  job = job ? { ...job, outputPath: next.outputPath } : job;
  showError(undefined);
  showBusy(false);
  const warnings = next.warnings.length;
  statusText.textContent = warnings ? `Done · ${warnings} warning${warnings > 1 ? 's' : ''}` : 'Done';
  statusText.title = next.warnings.join('\n');
  announcer.textContent = `Upscaled to ${next.width} by ${next.height}`;
  imageUpscaled.src = next.outputUri;
  updateDisplay();
  renderInfo();
  saveState();
}

function onFailed(message: string): void {
  stopped = true;
  showBusy(false);
  statusText.title = '';
  statusText.textContent = 'Failed';
  showError(message);
}

function onEmpty(reason: string): void {
  document.body.classList.add('empty-state');
  emptyMessage.hidden = false;
  emptyMessage.textContent = reason;
  job = undefined;
  result = undefined;
  showBusy(false);
  statusText.textContent = '';
  renderInfo();
}

imageOriginal.addEventListener('load', () => {
  originalSize = { width: imageOriginal.naturalWidth, height: imageOriginal.naturalHeight };
  updateDisplay();
  renderInfo();
});
/** Chromium, and so the webview, cannot display TIFF; say so rather than "could not be shown". */
function unshowable(path: string | undefined): string {
  return path && /\.tiff?$/i.test(path) ? ' The preview cannot display TIFF files; the file itself is fine.' : '';
}

imageOriginal.addEventListener('error', () => {
  if (imageOriginal.getAttribute('src')) showError(`The original image could not be shown.${unshowable(job?.input)}`);
});
imageUpscaled.addEventListener('load', () => {
  // Swap only once the file is decoded, so the tiles stay until the final image replaces them.
  imageUpscaled.hidden = false;
  live.canvas.hidden = true;
  live.reset();
});
imageUpscaled.addEventListener('error', () => {
  // The live tiles, if any, stay on screen.
  if (!imageUpscaled.getAttribute('src')) return;
  const reason = unshowable(result?.outputPath);
  showError(`The upscaled image could not be shown${reason ? '.' + reason : ' (it may have been moved or deleted).'}`);
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseToWebviewMessage(event.data);
  if (!message) return;
  switch (message.type) {
    case 'init':
      return onInit(message.job, message.result, message.error);
    case 'progress':
      return onProgress(message.progress);
    case 'complete':
      return showResult(message.result);
    case 'failed':
      return onFailed(message.message);
    case 'empty':
      return onEmpty(message.reason);
  }
});

// ---------------------------------------------------------------------------------------
// Zoom and pan: one transform for both views

function pointIn(viewport: Element, clientX: number, clientY: number): Point {
  const rect = viewport.getBoundingClientRect();
  return { x: clientX - rect.left, y: clientY - rect.top };
}

function viewportAt(target: EventTarget | null): HTMLElement {
  return target instanceof Element && target.closest('#viewport-original') ? viewportOriginal : viewportUpscaled;
}

function zoomBy(factor: number, anchor: Point): void {
  setTransform(zoomAround(transform(), view.zoom * factor, anchor), false);
}

function centre(): Point {
  const size = viewportSize();
  return { x: size.width / 2, y: size.height / 2 };
}

function preset(level: PresetZoom): void {
  setTransform(presetTransform(transform(), level, viewportSize(), content()), false);
}

views.addEventListener(
  'wheel',
  (event) => {
    event.preventDefault();
    const anchor = pointIn(viewportAt(event.target), event.clientX, event.clientY);
    if (!event.ctrlKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      // A sideways trackpad swipe pans rather than zooms.
      setTransform(panBy(transform(), -event.deltaX, 0, viewportSize(), content()), false);
      return;
    }
    zoomBy(wheelZoomFactor(event.deltaY, event.deltaMode, event.ctrlKey, viewportSize().height), anchor);
  },
  { passive: false },
);

let drag: { pointerId: number; x: number; y: number; target: 'pan' | 'divider' } | undefined;

views.addEventListener('pointerdown', (event) => {
  if (event.button !== 0 || drag) return;
  const onDivider = event.target instanceof Element && event.target.closest('#divider') !== null;
  if (!onDivider && !(event.target instanceof Element && event.target.closest('.viewport'))) return;
  drag = { pointerId: event.pointerId, x: event.clientX, y: event.clientY, target: onDivider ? 'divider' : 'pan' };
  views.setPointerCapture(event.pointerId);
  views.classList.add(onDivider ? 'dragging-divider' : 'panning');
  event.preventDefault();
});

views.addEventListener('pointermove', (event) => {
  if (!drag || event.pointerId !== drag.pointerId) return;
  if (drag.target === 'divider') {
    const rect = viewportUpscaled.getBoundingClientRect();
    split = sliderFromPointer(event.clientX, rect.left, rect.width);
    render();
    saveState();
  } else {
    setTransform(panBy(transform(), event.clientX - drag.x, event.clientY - drag.y, viewportSize(), content()), false);
  }
  drag = { ...drag, x: event.clientX, y: event.clientY };
});

function endDrag(event: PointerEvent): void {
  if (!drag || event.pointerId !== drag.pointerId) return;
  drag = undefined;
  views.classList.remove('panning', 'dragging-divider');
}
views.addEventListener('pointerup', endDrag);
views.addEventListener('pointercancel', endDrag);

/** Keyboard zoom and pan on a focused view: the same actions as the mouse. */
function onViewportKey(event: KeyboardEvent): void {
  const step = event.shiftKey ? 200 : 40;
  const pan = (dx: number, dy: number) => setTransform(panBy(transform(), dx, dy, viewportSize(), content()), false);
  switch (event.key) {
    case '+':
    case '=':
      zoomBy(1.25, centre());
      break;
    case '-':
    case '_':
      zoomBy(0.8, centre());
      break;
    case '0':
      setTransform(transform(), true);
      break;
    case '1':
    case '2':
    case '4':
      preset(Number(event.key) as PresetZoom);
      break;
    case 'ArrowLeft':
      pan(step, 0);
      break;
    case 'ArrowRight':
      pan(-step, 0);
      break;
    case 'ArrowUp':
      pan(0, step);
      break;
    case 'ArrowDown':
      pan(0, -step);
      break;
    default:
      return;
  }
  event.preventDefault();
}
viewportOriginal.addEventListener('keydown', onViewportKey);
viewportUpscaled.addEventListener('keydown', onViewportKey);

divider.addEventListener('keydown', (event) => {
  const next = sliderFromKey(split, event.key, event.shiftKey);
  if (next === undefined) return;
  event.preventDefault();
  split = next;
  render();
  saveState();
});

new ResizeObserver(() => setTransform(transform(), view.fitted)).observe(views);

// ---------------------------------------------------------------------------------------
// Toolbar and actions

function onActivate(button: HTMLElement, action: () => void): void {
  // vscode-button turns Enter and Space into a click, so click covers the keyboard too.
  button.addEventListener('click', () => {
    if (!button.hasAttribute('disabled')) action();
  });
}

onActivate(element('zoom-fit', HTMLElement), () => setTransform(transform(), true));
onActivate(element('zoom-100', HTMLElement), () => preset(1));
onActivate(element('zoom-200', HTMLElement), () => preset(2));
onActivate(element('zoom-400', HTMLElement), () => preset(4));
for (const m of ['side', 'split'] as const) {
  onActivate(modeButtons[m], () => {
    mode = m;
    // The viewport changes size between the modes; keep the view's fit (or clamp it) after layout.
    render();
    requestAnimationFrame(() => setTransform(transform(), view.fitted));
  });
}
onActivate(actions.reveal, () => vscode.postMessage({ type: 'reveal' }));
onActivate(actions.save, () => vscode.postMessage({ type: 'saveAs' }));
onActivate(actions.again, () => vscode.postMessage({ type: 'upscaleAgain' }));
// The output path opens the file: by click, or Enter when focused (it is in the Tab order
// once there is a result).
info.path.addEventListener('click', () => {
  if (result) vscode.postMessage({ type: 'openOutput' });
});
info.path.addEventListener('keydown', (event) => {
  if (result && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    vscode.postMessage({ type: 'openOutput' });
  }
});

render();
renderInfo();
// The page's width once it has one: a panel opened in a column of unknown width moves if
// the column came out too narrow (extension/preview/panel.ts).
let widthSent = false;
new ResizeObserver(() => {
  const width = document.documentElement.clientWidth;
  if (widthSent || width <= 0) return;
  widthSent = true;
  vscode.postMessage({ type: 'width', width });
}).observe(document.documentElement);
vscode.postMessage({ type: 'ready' });
