import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canvasCoverage, estimateOutputSize, growCanvasSize, placeTile, previewCanvasSize } from '../../webview/tiles';

/** What the daemon sends (daemon/engine/pipeline.ts): a pass tile in the final geometry × scale. */
function daemonPreviewRect(
  tile: { x: number; y: number; width: number; height: number },
  pass: { width: number; height: number },
  final: { width: number; height: number },
  scale: number,
) {
  const fx = (final.width / pass.width) * scale;
  const fy = (final.height / pass.height) * scale;
  return {
    x: Math.floor(tile.x * fx),
    y: Math.floor(tile.y * fy),
    width: Math.max(1, Math.round(tile.width * fx)),
    height: Math.max(1, Math.round(tile.height * fy)),
  };
}

test('a canvas at the preview scale draws each preview rect where it is', () => {
  const rect = { x: 128, y: 64, width: 128, height: 128 };
  assert.deepEqual(placeTile(rect, 0.25, 0.25), rect);
});

test('a canvas at another display scale places the tile in proportion, snapped outwards to whole pixels', () => {
  // Preview at 1/4 of the output; canvas at 1/2: everything doubles.
  assert.deepEqual(placeTile({ x: 10, y: 20, width: 30, height: 40 }, 0.25, 0.5), {
    x: 20,
    y: 40,
    width: 60,
    height: 80,
  });
  // Canvas at 1/8: halves, and a half pixel edge rounds outwards so neighbours meet.
  assert.deepEqual(placeTile({ x: 5, y: 5, width: 5, height: 5 }, 0.25, 0.125), { x: 2, y: 2, width: 3, height: 3 });
  const left = placeTile({ x: 0, y: 0, width: 33, height: 10 }, 1, 0.5);
  const right = placeTile({ x: 33, y: 0, width: 33, height: 10 }, 1, 0.5);
  assert.ok(left.x + left.width >= right.x, 'no gap between neighbours');
  // Never a zero-size tile.
  assert.deepEqual(placeTile({ x: 0, y: 0, width: 1, height: 1 }, 1, 0.01), { x: 0, y: 0, width: 1, height: 1 });
});

test('multi-pass previews: a pass-2 tile lands over the pass-1 tile of the same region', () => {
  const pass1 = { width: 400, height: 320 };
  const pass2 = { width: 1600, height: 1280 };
  const final = { width: 1600, height: 1280 };
  const scale = 800 / final.width; // previewWidth 800
  // The top-left quarter of the image, in each pass's own pixels.
  const p1 = daemonPreviewRect({ x: 0, y: 0, width: 200, height: 160 }, pass1, final, scale);
  const p2 = daemonPreviewRect({ x: 0, y: 0, width: 800, height: 640 }, pass2, final, scale);
  assert.deepEqual(placeTile(p1, scale, scale), placeTile(p2, scale, scale));
  assert.deepEqual(placeTile(p2, scale, scale), { x: 0, y: 0, width: 400, height: 320 });
});

test('the canvas covers the output at the preview scale and only grows', () => {
  assert.deepEqual(previewCanvasSize(0.25, { width: 4000, height: 3001 }), { width: 1000, height: 751 });
  assert.deepEqual(previewCanvasSize(1, { width: 0, height: 0 }), { width: 1, height: 1 });
  assert.deepEqual(growCanvasSize({ width: 100, height: 100 }, { x: 90, y: 0, width: 20, height: 10 }), {
    width: 110,
    height: 100,
  });
  assert.deepEqual(growCanvasSize({ width: 100, height: 100 }, { x: 0, y: 0, width: 20, height: 10 }), {
    width: 100,
    height: 100,
  });
  // Shown stretched over the display space: a 1000-px canvas at 1/4 covers a 4000-px output.
  assert.deepEqual(canvasCoverage({ width: 1000, height: 750 }, 0.25, { width: 4000, height: 3000 }), {
    width: 1,
    height: 1,
  });
  assert.deepEqual(canvasCoverage({ width: 1000, height: 750 }, 0.25, { width: 8000, height: 3000 }), {
    width: 0.5,
    height: 1,
  });
});

test('the output size is estimated from the tiles, exactly once a tile reaches the far edge', () => {
  const pass = { width: 2400, height: 1800 }; // one 4x pass of 600 x 450
  const final = { width: 2400, height: 1800 };
  const scale = 1000 / final.width;
  const at = (x: number, y: number, w: number, h: number) => {
    const tile = { x, y, width: w, height: h };
    return {
      tile,
      passWidth: pass.width,
      passHeight: pass.height,
      preview: { rect: daemonPreviewRect(tile, pass, final, scale), scale },
    };
  };
  let e = estimateOutputSize(undefined, at(0, 0, 512, 512));
  assert.ok(e);
  assert.ok(
    Math.abs(e.width - final.width) <= 8 && Math.abs(e.height - final.height) <= 8,
    `first guess ${e.width}x${e.height}`,
  );
  e = estimateOutputSize(e, at(2400 - 512, 1800 - 512, 512, 512));
  assert.ok(e);
  assert.ok(
    Math.abs(e.width - final.width) <= 1 / scale && Math.abs(e.height - final.height) <= 1 / scale,
    `at the edge ${e.width}x${e.height}`,
  );
  // A tile reaching less far does not replace a better estimate.
  const kept = estimateOutputSize(e, at(0, 0, 100, 100));
  assert.deepEqual(kept, e);
  // Progress without a preview changes nothing.
  assert.equal(estimateOutputSize(undefined, { passWidth: 10, passHeight: 10 }), undefined);
});

test('multi-pass with a final resize: the estimate is of the final output, not the pass', () => {
  // Two 4x passes of 50 x 40 (800 x 640), then Lanczos down to 700 x 560.
  const pass2 = { width: 800, height: 640 };
  const final = { width: 700, height: 560 };
  const scale = 1; // previewWidth larger than the output
  const tile = { x: 600, y: 440, width: 200, height: 200 };
  const e = estimateOutputSize(undefined, {
    tile,
    passWidth: pass2.width,
    passHeight: pass2.height,
    preview: { rect: daemonPreviewRect(tile, pass2, final, scale), scale },
  });
  assert.deepEqual(e && { width: e.width, height: e.height }, final);
});
