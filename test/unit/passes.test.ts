// runPasses with fake models and no I/O: passes, tiles, the final resize, the alpha plane
// beside the colour or inside it (an RGBA model), a grey model on colour, padding, cancellation and the out-of-memory split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planJob, type JobPlan, type PipelineModel, type PipelineRequest } from '../../daemon/engine/job-plan';
import {
  runPasses,
  type ModelInference,
  type PassHooks,
  type Planes,
  type PlaneKind,
} from '../../daemon/engine/passes';
import type { TileInference } from '../../daemon/engine/tiled-pass';
import type { PlanarImage, Raster } from '../../daemon/image/types';
import { isCancelled } from '../../contract/errors';
import { PLAIN_TRAITS } from '../../models/architectures/types';

const LIMITS = { maxInputPixels: 1e8, maxOutputPixels: 1e9, memoryBytes: 16 * 2 ** 30 };
const PLACE = { folder: '/out', name: undefined, folderExists: true };

/** A model with no context: each output pixel is its input pixel, plus `offsets[c]` in channel c. */
function nearest(scale: number, offsets: readonly number[] = [0, 0, 0]): TileInference {
  return async (t) => {
    const w = t.width * scale;
    const h = t.height * scale;
    const data = new Float32Array(t.channels * w * h);
    for (let c = 0; c < t.channels; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          data[(c * h + y) * w + x] =
            (t.data[(c * t.height + Math.floor(y / scale)) * t.width + Math.floor(x / scale)] ?? NaN) +
            (offsets[c] ?? 0);
    return { width: w, height: h, channels: t.channels, data };
  };
}

/** The inference of a job whose passes all run one model. */
function only(infer: TileInference): ModelInference {
  return async () => infer;
}

function model(scale: number): PipelineModel {
  return { id: `fake-x${scale}`, scale, inputMultiple: 1 };
}

function plan(
  width: number,
  height: number,
  m: PipelineModel,
  req: Partial<PipelineRequest>,
  hasAlpha = false,
): JobPlan {
  const header = { width, height, format: 'png', hasAlpha, depth: 8 as const };
  const request = {
    input: '/in/a.png',
    target: { kind: 'scale', scale: m.scale },
    alpha: 'model',
    overwrite: false,
    ...req,
  } as const;
  return planJob(header, request, m, LIMITS, PLACE);
}

/** A plane of 8-bit values (exact after quantising), different at every pixel. */
function plane(width: number, height: number, channels: number, seed: number): PlanarImage {
  const data = new Float32Array(channels * width * height);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37 + seed) % 256) / 255;
  return { width, height, channels, data };
}

function recorder(): PassHooks & { tiles: Array<[number, number, PlaneKind]>; events: string[] } {
  const tiles: Array<[number, number, PlaneKind]> = [];
  const events: string[] = [];
  return {
    tiles,
    events,
    passStarted: (p) => events.push(`pass ${p}`),
    tileDone: (p, done, _tile, kind) => tiles.push([p, done, kind]),
    passesDone: async () => {
      events.push('passes done');
    },
    resizing: () => events.push('resize'),
  };
}

/** Channel `c` of the raster at (x, y). */
function at(r: Raster, x: number, y: number, c: number): number {
  return r.data[(y * r.width + x) * r.channels + c] ?? NaN;
}

/** The 8-bit sample nearest-neighbour upscaling by `scale` gives at output (x, y). */
function expected(img: PlanarImage, scale: number, x: number, y: number, c: number, offset = 0): number {
  const v = (img.data[(c * img.height + Math.floor(y / scale)) * img.width + Math.floor(x / scale)] ?? NaN) + offset;
  return Math.min(255, Math.max(0, Math.round(v * 255)));
}

function assertNearest(
  r: Raster,
  img: PlanarImage,
  scale: number,
  channels: readonly number[],
  offsets = [0, 0, 0],
): void {
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++)
      for (const c of channels)
        assert.equal(at(r, x, y, c), expected(img, scale, x, y, c, offsets[c]), `(${x}, ${y}) channel ${c}`);
}

test("one pass straight into the raster: the fake model's pixels, whole or in tiles", async () => {
  const rgb = plane(13, 9, 3, 1);
  for (const tile of [0, 4]) {
    const p = plan(13, 9, model(2), { tile, overlap: 2 });
    const hooks = recorder();
    const r = await runPasses(p, { rgb, alpha: null }, only(nearest(2)), new AbortController().signal, hooks);
    assert.deepEqual([r.width, r.height, r.channels, r.depth], [26, 18, 3, 8]);
    assertNearest(r, rgb, 2, [0, 1, 2]);
    const layout = p.layouts[0];
    assert.equal(hooks.tiles.length, (layout?.columns ?? 0) * (layout?.rows ?? 0), `tile ${tile}`);
    assert.deepEqual(hooks.events, ['pass 0', 'passes done']);
  }
});

test('a target beyond the model repeats it: x4 from an x2 model is two passes', async () => {
  const rgb = plane(7, 5, 3, 2);
  const sizes: string[] = [];
  const infer = nearest(2);
  const p = plan(7, 5, model(2), { target: { kind: 'scale', scale: 4 }, tile: 0 });
  const r = await runPasses(
    p,
    { rgb, alpha: null },
    only(async (t) => {
      sizes.push(`${t.width}x${t.height}`);
      return infer(t);
    }),
    new AbortController().signal,
    recorder(),
  );
  assert.deepEqual(sizes, ['7x5', '14x10']);
  assertNearest(r, rgb, 4, [0, 1, 2]);
});

test('a final resize takes the last pass to the exact size; a constant stays constant', async () => {
  const flat: PlanarImage = { width: 10, height: 6, channels: 3, data: new Float32Array(180).fill(0.4) };
  const p = plan(10, 6, model(2), { target: { kind: 'scale', scale: 3 } });
  const hooks = recorder();
  const r = await runPasses(p, { rgb: flat, alpha: null }, only(nearest(2)), new AbortController().signal, hooks);
  assert.deepEqual([r.width, r.height], [30, 18]);
  assert.deepEqual(hooks.events, ['pass 0', 'pass 1', 'passes done', 'resize']);
  assert.ok(
    r.data.every((v) => v === 102),
    'every sample 0.4 * 255',
  );
});

test('alpha the model upscales: its plane goes through the RGB path as grey, its tiles counted first', async () => {
  const rgb = plane(9, 7, 3, 4);
  const alpha = plane(9, 7, 1, 5);
  const p = plan(9, 7, model(2), { tile: 4, overlap: 2 }, true);
  assert.equal(p.planes, 2);
  const hooks = recorder();
  const offsets = [-0.05, 0, 0.05];
  const r = await runPasses(p, { rgb, alpha }, only(nearest(2, offsets)), new AbortController().signal, hooks);
  assert.equal(r.channels, 4);
  assertNearest(r, rgb, 2, [0, 1, 2], offsets);
  // The offsets cancel in the mean of the three channels.
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++) assert.equal(at(r, x, y, 3), expected(alpha, 2, x, y, 0), `alpha (${x}, ${y})`);
  const perPlane = (p.layouts[0]?.columns ?? 0) * (p.layouts[0]?.rows ?? 0);
  assert.deepEqual(
    hooks.tiles.map(([, done, kind]) => [done, kind]),
    [
      ...Array.from({ length: perPlane }, (_, i) => [i + 1, 'alpha']),
      ...Array.from({ length: perPlane }, (_, i) => [perPlane + i + 1, 'rgb']),
    ],
  );
});

test('an RGBA model takes the alpha inside the colour tiles, one plane of tiles', async () => {
  const rgb = plane(9, 7, 3, 4);
  const alpha = plane(9, 7, 1, 5);
  const rgba: PipelineModel = { ...model(2), traits: { ...PLAIN_TRAITS, channels: { input: 4, output: 4 } } };
  const p = plan(9, 7, rgba, { tile: 4, overlap: 2 }, true);
  assert.deepEqual([p.planes, p.alphaWithColour, p.channels], [1, true, 4]);
  const hooks = recorder();
  const seen = new Set<number>();
  const infer = nearest(2, [-0.05, 0, 0.05, 20 / 255]);
  const r = await runPasses(
    p,
    { rgb, alpha },
    only(async (t) => {
      seen.add(t.channels);
      return infer(t);
    }),
    new AbortController().signal,
    hooks,
  );
  assert.deepEqual([...seen], [4]);
  assertNearest(r, rgb, 2, [0, 1, 2], [-0.05, 0, 0.05]);
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++)
      assert.equal(at(r, x, y, 3), expected(alpha, 2, x, y, 0, 20 / 255), `alpha (${x}, ${y})`);
  const perPlane = (p.layouts[0]?.columns ?? 0) * (p.layouts[0]?.rows ?? 0);
  assert.deepEqual(
    hooks.tiles.map(([, done, kind]) => [done, kind]),
    Array.from({ length: perPlane }, (_, i) => [i + 1, 'rgb']),
  );
});

test('a grey model on a colour image with alpha: each colour channel alone, the alpha alone', async () => {
  const rgb = plane(6, 5, 3, 7);
  const alpha = plane(6, 5, 1, 8);
  const grey: PipelineModel = { ...model(2), traits: { ...PLAIN_TRAITS, channels: { input: 1, output: 1 } } };
  const p = plan(6, 5, grey, {}, true);
  assert.deepEqual([p.planes, p.alphaWithColour], [2, false]);
  const infer = nearest(2, [20 / 255]);
  const r = await runPasses(
    p,
    { rgb, alpha },
    only(async (t) => {
      assert.equal(t.channels, 1);
      return infer(t);
    }),
    new AbortController().signal,
    recorder(),
  );
  // Every channel is run as channel 0 of its own tile, so each gets channel 0's offset.
  assertNearest(r, rgb, 2, [0, 1, 2], [20 / 255, 20 / 255, 20 / 255]);
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++)
      assert.equal(at(r, x, y, 3), expected(alpha, 2, x, y, 0, 20 / 255), `alpha (${x}, ${y})`);
});

test('alpha by Lanczos: the model sees colour only, and the alpha is resized', async () => {
  const rgb = plane(8, 8, 3, 6);
  const alpha: PlanarImage = { width: 8, height: 8, channels: 1, data: new Float32Array(64).fill(0.5) };
  const p = plan(8, 8, model(2), { alpha: 'lanczos' }, true);
  assert.deepEqual([p.planes, p.channels], [1, 4]);
  const channels: number[] = [];
  const infer = nearest(2);
  const r = await runPasses(
    p,
    { rgb, alpha },
    only(async (t) => {
      channels.push(t.channels);
      return infer(t);
    }),
    new AbortController().signal,
    recorder(),
  );
  assert.deepEqual(channels, [3]);
  assertNearest(r, rgb, 2, [0, 1, 2]);
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) assert.equal(at(r, x, y, 3), 128);
});

test('padding to a size: the content sits in its rectangle, transparent around it, opaque inside', async () => {
  const rgb = plane(4, 2, 3, 7);
  const p = plan(4, 2, model(2), { target: { kind: 'size', width: 8, height: 8, fit: 'contain' } });
  assert.deepEqual(p.geometry.content, { x: 0, y: 2, width: 8, height: 4 });
  const r = await runPasses(p, { rgb, alpha: null }, only(nearest(2)), new AbortController().signal, recorder());
  assert.equal(r.channels, 4);
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) {
      const inside = y >= 2 && y < 6;
      assert.equal(at(r, x, y, 3), inside ? 255 : 0, `alpha (${x}, ${y})`);
      if (inside) assert.equal(at(r, x, y, 0), expected(rgb, 2, x, y - 2, 0), `red (${x}, ${y})`);
    }
});

test('a cancelled signal stops the passes before the next tile, with the Cancelled error', async () => {
  const controller = new AbortController();
  let tiles = 0;
  const infer = nearest(2);
  const p = plan(32, 32, model(2), { tile: 8, overlap: 2 });
  await assert.rejects(
    runPasses(
      p,
      { rgb: plane(32, 32, 3, 8), alpha: null },
      only(async (t) => {
        tiles++;
        if (tiles === 2) controller.abort();
        return infer(t);
      }),
      controller.signal,
      recorder(),
    ),
    (e) => isCancelled(e),
  );
  assert.equal(tiles, 2);
});

test('out of memory: tiles are halved and retried, and the output is unchanged', async () => {
  const rgb = plane(80, 80, 3, 9);
  const p = plan(80, 80, model(2), { tile: 0 });
  const infer = nearest(2);
  const sizes: number[] = [];
  const limited: TileInference = async (t) => {
    sizes.push(Math.max(t.width, t.height));
    if (t.width * t.height > 48 * 48) throw new Error('Failed to allocate memory for requested buffer');
    return infer(t);
  };
  const whole = await runPasses(p, { rgb, alpha: null }, only(infer), new AbortController().signal, recorder());
  const planes: Planes = { rgb, alpha: null };
  const split = await runPasses(p, planes, only(limited), new AbortController().signal, recorder());
  assert.equal(sizes[0], 80);
  assert.ok(sizes.length > 2 && sizes.slice(1).every((s) => s <= 40), `tiles tried: ${sizes.join(' ')}`);
  assert.deepEqual(split.data, whole.data);
  assert.deepEqual(planes, { rgb: null, alpha: null }, 'each plane is released once it is in the raster');
});

test('TTA runs each tile under every symmetry of its level: an equivariant model keeps its pixels, the runs are counted', async () => {
  const rgb = plane(13, 9, 3, 5);
  for (const tta of [2, 4, 8]) {
    const p = plan(13, 9, model(2), { tile: 4, overlap: 2, tta });
    let calls = 0;
    const inner = nearest(2);
    const counting: TileInference = (t) => {
      calls++;
      return inner(t);
    };
    const hooks = recorder();
    const r = await runPasses(p, { rgb, alpha: null }, only(counting), new AbortController().signal, hooks);
    assertNearest(r, rgb, 2, [0, 1, 2]);
    const tiles = (p.layouts[0]?.columns ?? 0) * (p.layouts[0]?.rows ?? 0);
    assert.ok(tiles > 1);
    assert.equal(hooks.tiles.length, tiles, `tta ${tta}`);
    assert.equal(calls, tiles * tta, `tta ${tta}`);
    assert.equal(p.summary.tta, tta);
    assert.equal(p.summary.passes[0]?.runs, tiles * tta);
  }
});

test('a blend: the second model runs first, and the result is (1 - w) x the first + w x the second, each inside [0, 1], unrounded', async () => {
  const rgb = plane(13, 9, 3, 7);
  const first = model(2);
  const second: PipelineModel = { id: 'fake-x2-bright', scale: 2, inputMultiple: 1 };
  const request = {
    input: '/in/a.png',
    target: { kind: 'scale', scale: 2 },
    alpha: 'model',
    overwrite: false,
    tile: 4,
    overlap: 2,
  } as const;
  const p = planJob({ width: 13, height: 9, format: 'png', hasAlpha: false, depth: 8 }, request, first, LIMITS, PLACE, {
    before: [],
    after: [],
    blend: { model: second, weight: 0.2 },
  });
  assert.deepEqual(
    p.summary.passes.map((s) => `${s.branch} ${s.model}`),
    ['blend fake-x2-bright', 'main fake-x2'],
  );
  assert.deepEqual(p.summary.blend, { model: 'fake-x2-bright', weight: 0.2 });
  const infers: Record<string, TileInference> = { 'fake-x2': nearest(2), 'fake-x2-bright': nearest(2, [0.1, -0.1, 0]) };
  const hooks = recorder();
  const r = await runPasses(
    p,
    { rgb, alpha: null },
    async (m) => infers[m.id] ?? assert.fail(m.id),
    new AbortController().signal,
    hooks,
  );
  // Each result as it would be written, inside [0, 1], then mixed.
  const offsets = [0.1, -0.1, 0];
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++)
      for (let c = 0; c < 3; c++) {
        const v = rgb.data[(c * rgb.height + (y >> 1)) * rgb.width + (x >> 1)] ?? NaN;
        const b = Math.min(1, Math.max(0, v + (offsets[c] ?? 0)));
        assert.equal(at(r, x, y, c), Math.round((0.8 * v + 0.2 * b) * 255), `(${x}, ${y}) channel ${c}`);
      }
  assert.deepEqual(hooks.events, ['pass 0', 'pass 1', 'passes done']);
});

test('a chain: a 1x model runs once at the input size, then the upscaler runs its passes on what it gave', async () => {
  const rgb = plane(13, 9, 3, 9);
  const restore: PipelineModel = { id: 'fake-x1', scale: 1, inputMultiple: 1 };
  const request = {
    input: '/in/a.png',
    target: { kind: 'scale', scale: 4 },
    alpha: 'model',
    overwrite: false,
    tile: 4,
    overlap: 2,
  } as const;
  const p = planJob(
    { width: 13, height: 9, format: 'png', hasAlpha: false, depth: 8 },
    request,
    model(2),
    LIMITS,
    PLACE,
    {
      before: [restore],
      after: [],
      blend: null,
    },
  );
  assert.deepEqual(p.summary.chain, ['fake-x1', 'fake-x2']);
  assert.deepEqual(
    p.summary.passes.map((s) => `${s.model} ${s.outputWidth}x${s.outputHeight}`),
    ['fake-x1 13x9', 'fake-x2 26x18', 'fake-x2 52x36'],
  );
  const infers: Record<string, TileInference> = {
    'fake-x2': nearest(2),
    'fake-x1': nearest(1, [10 / 255, 20 / 255, 0]),
  };
  const asked: string[] = [];
  const r = await runPasses(
    p,
    { rgb, alpha: null },
    async (m) => {
      asked.push(m.id);
      return infers[m.id] ?? assert.fail(m.id);
    },
    new AbortController().signal,
    recorder(),
  );
  assert.deepEqual(asked, ['fake-x1', 'fake-x2', 'fake-x2']);
  assertNearest(r, rgb, 4, [0, 1, 2], [10 / 255, 20 / 255, 0]);
});

test('a watched raster: every row said to be final already has its last value, alpha and padding included', async () => {
  const rgb = plane(13, 9, 3, 5);
  const alpha = plane(13, 9, 1, 6);
  // Name, request, alpha, and whether rows become final while the pass runs (not when
  // something is written after it: Lanczos' alpha, a final resize).
  const cases: [string, Partial<PipelineRequest>, boolean, boolean][] = [
    ['colour, in tiles', { tile: 4, overlap: 2 }, false, true],
    ['alpha through the model', { tile: 4, overlap: 2 }, true, true],
    ['alpha by Lanczos, written after the colour', { tile: 4, overlap: 2, alpha: 'lanczos' }, true, false],
    [
      'padded to a size',
      { tile: 4, overlap: 2, target: { kind: 'size', width: 26, height: 24, fit: 'contain' } },
      true,
      true,
    ],
    ['a final resize', { tile: 0, target: { kind: 'scale', scale: 3 } }, false, false],
  ];
  for (const [name, req, withAlpha, progressive] of cases) {
    const p = plan(13, 9, model(2), req, withAlpha);
    const snapshots: { rows: number; data: Uint8Array }[] = [];
    let raster: Raster | null = null;
    const r = await runPasses(
      p,
      { rgb, alpha: withAlpha ? alpha : null },
      only(nearest(2)),
      new AbortController().signal,
      recorder(),
      {
        allocated: (empty) => {
          assert.ok(empty.data.buffer instanceof SharedArrayBuffer, `${name}: the raster is shared`);
          raster = empty;
          return (rows) => snapshots.push({ rows, data: new Uint8Array(empty.data.buffer.slice(0)) });
        },
      },
    );
    assert.equal(raster && (raster as Raster).data, r.data, `${name}: the raster watched is the one returned`);
    assert.equal(snapshots[snapshots.length - 1]?.rows, r.height, `${name}: every row ends final`);
    const line = r.width * r.channels;
    for (const { rows, data } of snapshots) {
      const done = Buffer.from(data.subarray(0, rows * line));
      assert.ok(done.equals(Buffer.from(r.data.subarray(0, rows * line))), `${name}: rows above ${rows} changed later`);
    }
    // The padding above the content, then each chunk of rows (or all at the end).
    assert.equal(snapshots.length > 3, progressive, `${name}: ${snapshots.length} notices`);
  }
});
