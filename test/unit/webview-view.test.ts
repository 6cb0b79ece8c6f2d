import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_ZOOM,
  MIN_ZOOM,
  PRESET_ZOOMS,
  clampPan,
  fitTransform,
  fitZoom,
  imageBox,
  imagePixelScale,
  imagePointAt,
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
  type Transform,
} from '../../webview/view';

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} ${actual} != ${expected}`);

/** Where a display point lands on screen. */
const toScreen = (t: Transform, x: number, y: number) => ({ x: t.panX + x * t.zoom, y: t.panY + y * t.zoom });

test('zooming around a point keeps the display point under it fixed', () => {
  const t: Transform = { zoom: 0.5, panX: 30, panY: -20 };
  for (const anchor of [
    { x: 0, y: 0 },
    { x: 123.5, y: 77 },
    { x: 800, y: 600 },
  ]) {
    const under = { x: (anchor.x - t.panX) / t.zoom, y: (anchor.y - t.panY) / t.zoom };
    for (const zoom of [0.1, 1, 3.7, 16]) {
      const next = zoomAround(t, zoom, anchor);
      close(next.zoom, zoom);
      const back = toScreen(next, under.x, under.y);
      close(back.x, anchor.x, 'x');
      close(back.y, anchor.y, 'y');
    }
  }
});

test('zoom is clamped to its limits, and the anchor still holds at the limit', () => {
  const t: Transform = { zoom: 1, panX: 0, panY: 0 };
  assert.equal(zoomAround(t, 1e6, { x: 10, y: 10 }).zoom, MAX_ZOOM);
  assert.equal(zoomAround(t, 0, { x: 10, y: 10 }).zoom, MIN_ZOOM);
  assert.equal(zoomAround(t, Number.NaN, { x: 10, y: 10 }).zoom, 1);
  const big = zoomAround(t, 1e6, { x: 10, y: 10 });
  close(toScreen(big, 10, 10).x, 10);
});

test('fit scale fits the whole content, limited by the tighter axis', () => {
  close(fitZoom({ width: 800, height: 600 }, { width: 4000, height: 1000 }), 0.2);
  close(fitZoom({ width: 800, height: 600 }, { width: 400, height: 1200 }), 0.5);
  close(fitZoom({ width: 800, height: 600 }, { width: 200, height: 150 }), 4); // small images grow to fit
  assert.equal(fitZoom({ width: 0, height: 600 }, { width: 200, height: 150 }), 1); // not laid out yet
  assert.equal(fitZoom({ width: 800, height: 600 }, { width: 0, height: 0 }), 1);
});

test('a fitted transform centres the content', () => {
  const t = fitTransform({ width: 800, height: 600 }, { width: 4000, height: 1000 });
  close(t.zoom, 0.2);
  close(t.panX, 0);
  close(t.panY, (600 - 200) / 2);
});

test('pan is clamped: no gap at an edge when larger than the viewport, centred when smaller', () => {
  const viewport = { width: 400, height: 300 };
  const content = { width: 1000, height: 100 };
  const t = clampPan({ zoom: 1, panX: 50, panY: 80 }, viewport, content);
  assert.equal(t.panX, 0); // cannot drag the left edge inwards
  assert.equal(t.panY, 100); // narrower than the viewport: centred
  assert.equal(clampPan({ zoom: 1, panX: -5000, panY: 0 }, viewport, content).panX, -600); // right edge meets the viewport's
  assert.equal(clampPan({ zoom: 1, panX: -250, panY: 0 }, viewport, content).panX, -250); // inside the range: unchanged
  assert.equal(panBy({ zoom: 1, panX: -250, panY: 100 }, -100, 40, viewport, content).panX, -350);
});

test('preset zoom levels are 100%, 200% and 400%, around the viewport centre', () => {
  assert.deepEqual([...PRESET_ZOOMS], [1, 2, 4]);
  const viewport = { width: 800, height: 600 };
  const content = { width: 4000, height: 3000 };
  const fitted = fitTransform(viewport, content);
  const centreBefore = { x: (400 - fitted.panX) / fitted.zoom, y: (300 - fitted.panY) / fitted.zoom };
  for (const level of PRESET_ZOOMS) {
    const t = presetTransform(fitted, level, viewport, content);
    assert.equal(t.zoom, level);
    const centre = toScreen(t, centreBefore.x, centreBefore.y);
    close(centre.x, 400);
    close(centre.y, 300);
  }
});

test('wheel: down zooms out, up zooms in, pinch (ctrlKey) is steeper, lines and pages are scaled, one event is bounded', () => {
  assert.ok(wheelZoomFactor(100, 0, false, 600) < 1);
  assert.ok(wheelZoomFactor(-100, 0, false, 600) > 1);
  close(wheelZoomFactor(100, 0, false, 600) * wheelZoomFactor(-100, 0, false, 600), 1); // symmetric
  assert.ok(wheelZoomFactor(-10, 0, true, 600) > wheelZoomFactor(-10, 0, false, 600));
  close(wheelZoomFactor(-3, 1, false, 600), wheelZoomFactor(-48, 0, false, 600)); // 3 lines = 48 px
  close(wheelZoomFactor(-1e6, 0, true, 600), 2);
  close(wheelZoomFactor(1e6, 0, true, 600), 0.5);
  assert.equal(wheelZoomFactor(0, 0, false, 600), 1);
});

test('pixelated rendering only above 100%', () => {
  assert.equal(shouldPixelate(0.5), false);
  assert.equal(shouldPixelate(1), false);
  assert.equal(shouldPixelate(1.01), true);
  assert.equal(shouldPixelate(4), true);
  assert.equal(zoomLabel(1), '100%');
  assert.equal(zoomLabel(0.25), '25%');
  assert.equal(zoomLabel(0.031), '3.1%');
});

test('original and upscaled views share the display box; their pixel scales differ by the upscale factor', () => {
  const display = { width: 1024, height: 768 }; // the output
  const original = { width: 256, height: 192 };
  const t: Transform = { zoom: 2, panX: -100, panY: -50 };
  const box = imageBox(t, display);
  assert.deepEqual(box, { left: -100, top: -50, width: 2048, height: 1536 });
  close(imagePixelScale(t, display, display), 2); // upscaled: 2 CSS px per output pixel
  close(imagePixelScale(t, original, display), 8); // original: 8 CSS px per source pixel
  // The same pointer position names corresponding pixels in both images.
  const pointer = { x: 300, y: 250 };
  const inOutput = imagePointAt(t, pointer, display, display);
  const inOriginal = imagePointAt(t, pointer, original, display);
  close(inOutput.x, 200);
  close(inOutput.y, 150);
  close(inOriginal.x * 4, inOutput.x);
  close(inOriginal.y * 4, inOutput.y);
});

test('changing the display size (estimate -> real output size) keeps what is on screen', () => {
  const t: Transform = { zoom: 0.5, panX: 10, panY: 20 };
  const from = { width: 1000, height: 500 };
  const to = { width: 2000, height: 1000 };
  const next = rescaleTransform(t, from, to);
  close(next.zoom, 0.25);
  // The far corner of the content stays at the same screen point.
  close(toScreen(next, to.width, to.height).x, toScreen(t, from.width, from.height).x);
  assert.deepEqual(rescaleTransform(t, { width: 0, height: 0 }, to), t);
});

test('slider position: pointer, keys (ARIA slider pattern) and geometry', () => {
  close(sliderFromPointer(150, 100, 200), 0.25);
  assert.equal(sliderFromPointer(50, 100, 200), 0);
  assert.equal(sliderFromPointer(500, 100, 200), 1);
  assert.equal(sliderFromPointer(150, 100, 0), 0.5);
  close(sliderFromKey(0.5, 'ArrowRight', false) as number, 0.51);
  close(sliderFromKey(0.5, 'ArrowLeft', false) as number, 0.49);
  close(sliderFromKey(0.5, 'ArrowLeft', true) as number, 0.4);
  close(sliderFromKey(0.5, 'PageUp', false) as number, 0.6);
  assert.equal(sliderFromKey(0.995, 'ArrowRight', false), 1);
  assert.equal(sliderFromKey(0.3, 'Home', false), 0);
  assert.equal(sliderFromKey(0.3, 'End', false), 1);
  assert.equal(sliderFromKey(0.3, 'a', false), undefined);
  assert.deepEqual(sliderGeometry(0.25, 800), { x: 200, clipRight: 600 });
  assert.deepEqual(sliderGeometry(2, 800), { x: 800, clipRight: 0 });
  assert.deepEqual(sliderGeometry(Number.NaN, 800), { x: 400, clipRight: 400 });
});

test('the zoom buttons that describe the view show pressed: Fit while fitted, a preset at exactly its zoom', () => {
  assert.equal(zoomButtonPressed('fit', true, 0.42), true);
  assert.equal(zoomButtonPressed('fit', false, 0.42), false);
  assert.equal(zoomButtonPressed(1, true, 0.42), false, 'Fit at 42% is not 100%');
  assert.equal(zoomButtonPressed(2, false, 2), true);
  assert.equal(zoomButtonPressed(2, false, 2.0001), false, 'a wheel step away from 200% is not 200%');
  assert.equal(zoomButtonPressed(1, true, 1), true, 'a fit that is exactly 100% is both');
  // The original's own scale beside the output's: at 100% of a 4x result it is shown at 400%.
  const t = presetTransform(
    { zoom: 0.3, panX: 0, panY: 0 },
    1,
    { width: 800, height: 600 },
    { width: 400, height: 400 },
  );
  assert.equal(zoomLabel(imagePixelScale(t, { width: 100, height: 100 }, { width: 400, height: 400 })), '400%');
});
