// Where live tile previews go, as plain arithmetic.
//
// The daemon sends each finished tile already scaled into the FINAL output's geometry times
// `scale` (preview space: the whole output is `previewWidth` wide), whichever pass it came
// from; so a pass-2 tile lands exactly over the pass-1 tile of the same region. The canvas
// the webview draws into is in preview-space pixels, and is shown stretched over the
// display space (output pixels) — see view.ts.

import type { Rect } from '../contract/vocabulary';
import type { Size } from './view';

/**
 * The canvas rectangle for a preview rect, for a canvas of `canvasScale` canvas pixels per
 * output pixel (the preview rect is at `previewScale`). Snapped outwards to whole pixels so
 * neighbouring tiles meet without a hairline gap.
 */
export function placeTile(rect: Rect, previewScale: number, canvasScale: number): Rect {
  const k = canvasScale / previewScale;
  const x0 = Math.floor(rect.x * k + 1e-9);
  const y0 = Math.floor(rect.y * k + 1e-9);
  const x1 = Math.ceil((rect.x + rect.width) * k - 1e-9);
  const y1 = Math.ceil((rect.y + rect.height) * k - 1e-9);
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/** A canvas (in preview pixels) that covers an output of `output` pixels. */
export function previewCanvasSize(previewScale: number, output: Size): Size {
  return {
    width: Math.max(1, Math.ceil(output.width * previewScale - 1e-9)),
    height: Math.max(1, Math.ceil(output.height * previewScale - 1e-9)),
  };
}

/** The canvas size after a tile arrives: never smaller than before, always holding the tile. */
export function growCanvasSize(current: Size, placed: Rect): Size {
  return {
    width: Math.max(current.width, placed.x + placed.width),
    height: Math.max(current.height, placed.y + placed.height),
  };
}

/**
 * How much of the display space (output pixels) the canvas covers, as fractions of the
 * display size: the canvas is drawn with a CSS size of these fractions of the image box.
 */
export function canvasCoverage(canvas: Size, canvasScale: number, display: Size): Size {
  if (display.width <= 0 || display.height <= 0 || canvasScale <= 0) return { width: 1, height: 1 };
  return { width: canvas.width / canvasScale / display.width, height: canvas.height / canvasScale / display.height };
}

/**
 * The final output's size, estimated while the job runs (the real size only comes with the
 * result). Each tile tells the ratio of its preview rect to its rect in the pass's pixels;
 * the estimate is taken from the tile that reaches furthest across the pass, since rounding
 * matters least there, and is exact once a tile touches the far edge.
 */
export interface OutputEstimate {
  readonly width: number;
  readonly height: number;
  /** Fraction of the pass's width / height reached by the tile each axis was estimated from. */
  readonly reachX: number;
  readonly reachY: number;
}

export interface TileProgress {
  readonly tile?: Rect;
  readonly passWidth?: number;
  readonly passHeight?: number;
  readonly preview?: { readonly rect: Rect; readonly scale: number };
}

export function estimateOutputSize(previous: OutputEstimate | undefined, p: TileProgress): OutputEstimate | undefined {
  const { tile, passWidth, passHeight, preview } = p;
  if (!tile || !preview || !passWidth || !passHeight || preview.scale <= 0) return previous;
  const tileRight = tile.x + tile.width;
  const tileBottom = tile.y + tile.height;
  if (tileRight <= 0 || tileBottom <= 0) return previous;
  const reachX = tileRight / passWidth;
  const reachY = tileBottom / passHeight;
  // Output extent = preview extent / scale; preview extent = pass extent × (preview edge / pass edge).
  const width = Math.round(((preview.rect.x + preview.rect.width) * passWidth) / tileRight / preview.scale);
  const height = Math.round(((preview.rect.y + preview.rect.height) * passHeight) / tileBottom / preview.scale);
  if (!previous) return { width, height, reachX, reachY };
  const takeX = reachX > previous.reachX;
  const takeY = reachY > previous.reachY;
  return {
    width: takeX ? width : previous.width,
    height: takeY ? height : previous.height,
    reachX: takeX ? reachX : previous.reachX,
    reachY: takeY ? reachY : previous.reachY,
  };
}
