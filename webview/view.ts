// Zoom and pan as plain arithmetic, so it is tested without a DOM.
//
// Both views (original and upscaled) share one "display space": the upscaled output's pixel
// grid. The original is stretched to the same display size, so one transform drives both
// views and a point under the pointer is the same place in both images, whatever their
// pixel sizes. A transform maps display space to the viewport's CSS pixels:
//   screen = pan + display * zoom
// so zoom 1 ("100%") is one output pixel per CSS pixel, as in VS Code's own image preview.

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Transform {
  /** CSS pixels per display (output) pixel. */
  readonly zoom: number;
  /** Where the display space's origin lands in the viewport, in CSS pixels. */
  readonly panX: number;
  readonly panY: number;
}

/** The preset buttons, besides "fit". */
export const PRESET_ZOOMS = [1, 2, 4] as const;
export type PresetZoom = (typeof PRESET_ZOOMS)[number];

export const MIN_ZOOM = 1 / 64;
export const MAX_ZOOM = 64;

/** How much of the content stays on screen when panned to an edge, in CSS pixels. */
const PAN_MARGIN = 0;

export function clampZoom(zoom: number): number {
  if (!Number.isFinite(zoom)) return 1;
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
}

/** The zoom at which the whole content fits the viewport (never 0, never infinite). */
export function fitZoom(viewport: Size, content: Size): number {
  if (content.width <= 0 || content.height <= 0 || viewport.width <= 0 || viewport.height <= 0) return 1;
  return clampZoom(Math.min(viewport.width / content.width, viewport.height / content.height));
}

/** Keeps the content on screen: centred along an axis where it is smaller than the viewport,
 *  else with no gap between its edge and the viewport's. */
export function clampPan(t: Transform, viewport: Size, content: Size): Transform {
  const axis = (pan: number, view: number, extent: number): number => {
    const shown = extent * t.zoom;
    if (shown <= view) return (view - shown) / 2;
    return Math.min(PAN_MARGIN, Math.max(view - shown - PAN_MARGIN, pan));
  };
  return {
    zoom: t.zoom,
    panX: axis(t.panX, viewport.width, content.width),
    panY: axis(t.panY, viewport.height, content.height),
  };
}

/** The whole content, centred. */
export function fitTransform(viewport: Size, content: Size): Transform {
  return clampPan({ zoom: fitZoom(viewport, content), panX: 0, panY: 0 }, viewport, content);
}

/**
 * Zooms to `zoom` keeping the display point under `anchor` (viewport CSS pixels) where it
 * is: the pixel under the pointer stays under the pointer.
 */
export function zoomAround(t: Transform, zoom: number, anchor: Point): Transform {
  const next = clampZoom(zoom);
  const dx = (anchor.x - t.panX) / t.zoom;
  const dy = (anchor.y - t.panY) / t.zoom;
  return { zoom: next, panX: anchor.x - dx * next, panY: anchor.y - dy * next };
}

/** A preset zoom around the viewport's centre, clamped. */
export function presetTransform(t: Transform, preset: PresetZoom, viewport: Size, content: Size): Transform {
  const centre = { x: viewport.width / 2, y: viewport.height / 2 };
  return clampPan(zoomAround(t, preset, centre), viewport, content);
}

export function panBy(t: Transform, dx: number, dy: number, viewport: Size, content: Size): Transform {
  return clampPan({ zoom: t.zoom, panX: t.panX + dx, panY: t.panY + dy }, viewport, content);
}

/** Lines and pages in WheelEvent.deltaMode, as pixels. */
const DELTA_LINE = 16;

/**
 * The zoom factor for one wheel event. A trackpad pinch arrives as a wheel event with
 * ctrlKey set and small deltas, so it gets a steeper curve than a mouse wheel's notches.
 * Scrolling down (positive delta) zooms out.
 */
export function wheelZoomFactor(deltaY: number, deltaMode: number, ctrlKey: boolean, pageHeight: number): number {
  const pixels = deltaMode === 1 ? deltaY * DELTA_LINE : deltaMode === 2 ? deltaY * pageHeight : deltaY;
  const perPixel = ctrlKey ? 0.01 : 0.002;
  // Bounded so one jumpy event (a fast flick) cannot zoom by more than 2x.
  const exponent = Math.max(-Math.LN2, Math.min(Math.LN2, -pixels * perPixel));
  return Math.exp(exponent);
}

/** Whether real pixels should be shown as squares: only above 100%, where they are
 *  bigger than a CSS pixel and smoothing would blur what the user is inspecting. */
export function shouldPixelate(zoom: number): boolean {
  return zoom > 1 + 1e-9;
}

/**
 * Whether a zoom button describes the view, and so shows as pressed: Fit while the view
 * follows the viewport, a preset while the zoom is exactly it (both when the fit is 100%).
 */
export function zoomButtonPressed(button: 'fit' | PresetZoom, fitted: boolean, zoom: number): boolean {
  return button === 'fit' ? fitted : Math.abs(zoom - button) < 1e-9;
}

/** A zoom level as the captions show it. */
export function zoomLabel(zoom: number): string {
  const percent = zoom * 100;
  return `${percent >= 10 ? Math.round(percent) : percent.toFixed(1)}%`;
}

/**
 * The CSS box an image of any pixel size takes in the viewport under `t`, given the shared
 * display size. The original (e.g. 256 px) and the upscaled (1024 px) get the same box.
 */
export function imageBox(t: Transform, display: Size): { left: number; top: number; width: number; height: number } {
  return { left: t.panX, top: t.panY, width: display.width * t.zoom, height: display.height * t.zoom };
}

/** Screen (CSS) pixels per pixel of an image of `image` size shown at the display size:
 *  the original is magnified by the upscale factor more than the output is. */
export function imagePixelScale(t: Transform, image: Size, display: Size): number {
  return image.width > 0 ? (t.zoom * display.width) / image.width : t.zoom;
}

/** The image pixel (fractional) under a viewport point, for an image of `image` size. */
export function imagePointAt(t: Transform, point: Point, image: Size, display: Size): Point {
  const dx = (point.x - t.panX) / t.zoom;
  const dy = (point.y - t.panY) / t.zoom;
  return { x: (dx * image.width) / display.width, y: (dy * image.height) / display.height };
}

/**
 * The same view after the display space changes size (the live estimate of the output size
 * is replaced by the real one): what was on screen stays on screen.
 */
export function rescaleTransform(t: Transform, from: Size, to: Size): Transform {
  if (from.width <= 0 || to.width <= 0) return t;
  return { zoom: clampZoom((t.zoom * from.width) / to.width), panX: t.panX, panY: t.panY };
}

// ---------------------------------------------------------------------------------------
// The split slider: a divider across the overlaid views, as a fraction of the width.

export const SLIDER_STEP = 0.01;
export const SLIDER_PAGE = 0.1;

export function clampFraction(f: number): number {
  if (!Number.isFinite(f)) return 0.5;
  return Math.min(1, Math.max(0, f));
}

/** The divider under a pointer at `clientX` over a viewport starting at `left`. */
export function sliderFromPointer(clientX: number, left: number, width: number): number {
  return width > 0 ? clampFraction((clientX - left) / width) : 0.5;
}

/** The divider after a key press (the ARIA slider pattern), or undefined for other keys. */
export function sliderFromKey(fraction: number, key: string, shiftKey: boolean): number | undefined {
  const step = shiftKey ? SLIDER_PAGE : SLIDER_STEP;
  switch (key) {
    case 'ArrowLeft':
    case 'ArrowDown':
      return clampFraction(fraction - step);
    case 'ArrowRight':
    case 'ArrowUp':
      return clampFraction(fraction + step);
    case 'PageDown':
      return clampFraction(fraction - SLIDER_PAGE);
    case 'PageUp':
      return clampFraction(fraction + SLIDER_PAGE);
    case 'Home':
      return 0;
    case 'End':
      return 1;
    default:
      return undefined;
  }
}

/** CSS pixels of the viewport the divider sits at, and the clip that shows the original
 *  only left of it (clip-path inset: top right bottom left). */
export function sliderGeometry(fraction: number, viewportWidth: number): { x: number; clipRight: number } {
  const x = Math.round(clampFraction(fraction) * viewportWidth);
  return { x, clipRight: Math.max(0, viewportWidth - x) };
}
