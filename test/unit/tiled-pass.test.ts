import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  runTiledPass,
  reflectIndex,
  extractRegion,
  OutOfMemoryError,
  isOutOfMemory,
  SINK_ROWS,
  type TileInference,
  type PassOptions,
} from '../../daemon/engine/tiled-pass';
import type { PlanarImage } from '../../daemon/image/types';
import { isCancelled } from '../../contract/errors';

function image(width: number, height: number, channels = 3): PlanarImage {
  const data = new Float32Array(channels * width * height);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000;
  return { width, height, channels, data };
}

/** A model with no context: nearest-neighbour x2, exactly reproducible tile by tile. */
const nearest2: TileInference = async (t) => {
  const w = t.width * 2;
  const h = t.height * 2;
  const out = new Float32Array(t.channels * w * h);
  for (let c = 0; c < t.channels; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        out[(c * h + y) * w + x] = t.data[(c * t.height + (y >> 1)) * t.width + (x >> 1)] as number;
      }
  return { width: w, height: h, channels: t.channels, data: out };
};

function options(partial: Partial<PassOptions>): PassOptions {
  return {
    scale: 2,
    tileWidth: 0,
    tileHeight: 0,
    overlap: 0,
    edgePad: 0,
    inputMultiple: 1,
    minTile: 8,
    signal: new AbortController().signal,
    ...partial,
  };
}

async function collect(
  img: PlanarImage,
  infer: TileInference,
  opts: PassOptions,
): Promise<{ data: Float32Array; rows: number[] }> {
  const w = img.width * opts.scale;
  const h = img.height * opts.scale;
  const out = new Float32Array(img.channels * w * h);
  const rows: number[] = [];
  await runTiledPass(img, infer, opts, (y, count, chunk) => {
    for (let r = 0; r < count; r++) rows.push(y + r);
    for (let c = 0; c < img.channels; c++)
      out.set(chunk.subarray(c * count * w, (c + 1) * count * w), c * w * h + y * w);
  });
  return { data: out, rows };
}

test('reflection mirrors without repeating the edge', () => {
  assert.deepEqual(
    [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((i) => reflectIndex(i, 4)),
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0],
  );
  assert.equal(reflectIndex(5, 1), 0);
  const r = extractRegion(image(3, 1, 1), -2, 0, 7, 1);
  const src = image(3, 1, 1).data;
  assert.deepEqual([...r.data], [src[2], src[1], src[0], src[1], src[2], src[1], src[0]]);
});

test('with a context-free model, tiled output equals whole-image output exactly, every row once and in order', async () => {
  const img = image(45, 37);
  const whole = await collect(img, nearest2, options({ edgePad: 4 }));
  for (const [tile, overlap] of [
    [16, 4],
    [20, 8],
    [33, 0],
    [12, 10],
  ] as const) {
    const tiled = await collect(img, nearest2, options({ tileWidth: tile, tileHeight: tile, overlap, edgePad: 4 }));
    assert.deepEqual(
      tiled.rows,
      Array.from({ length: 74 }, (_, i) => i),
      `rows for ${tile}/${overlap}`,
    );
    let maxDiff = 0;
    for (let i = 0; i < whole.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs((whole.data[i] as number) - (tiled.data[i] as number)));
    assert.ok(maxDiff < 1e-6, `${tile}/${overlap}: max diff ${maxDiff}`);
  }
});

test('tiles are padded to the model input multiple and cropped back', async () => {
  const seen: Array<[number, number]> = [];
  const strict: TileInference = async (t) => {
    seen.push([t.width, t.height]);
    if (t.width % 8 || t.height % 8) throw new Error(`bad size ${t.width}x${t.height}`);
    return nearest2(t);
  };
  const img = image(21, 13);
  const a = await collect(img, strict, options({ tileWidth: 12, tileHeight: 12, overlap: 2, inputMultiple: 8 }));
  const b = await collect(img, nearest2, options({ tileWidth: 12, tileHeight: 12, overlap: 2 }));
  assert.ok(seen.length > 1 && seen.every(([w, h]) => w % 8 === 0 && h % 8 === 0));
  assert.deepEqual(a.data, b.data);
});

test('out of memory in a tile: the tile is split and the result is unchanged', async () => {
  const img = image(40, 40);
  let failures = 0;
  const limited: TileInference = async (t) => {
    if (t.width * t.height > 20 * 20) {
      failures++;
      throw new Error('Failed to allocate memory for requested buffer of size 123');
    }
    return nearest2(t);
  };
  const expected = await collect(img, nearest2, options({ edgePad: 2 }));
  const got = await collect(img, limited, options({ edgePad: 2 }));
  assert.ok(failures >= 1);
  let maxDiff = 0;
  for (let i = 0; i < got.data.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs((got.data[i] as number) - (expected.data[i] as number)));
  assert.ok(maxDiff < 1e-6, `max diff ${maxDiff}`);
});

test('out of memory below the floor fails clearly', async () => {
  const never: TileInference = async () => {
    throw new Error('out of memory');
  };
  await assert.rejects(
    collect(image(40, 40), never, options({ minTile: 16 })),
    (e: unknown) =>
      e instanceof OutOfMemoryError && /out of memory even for a \d+x\d+ tile \(the floor is 16 px\)/.test(e.message),
  );
});

test('a cancelled signal stops the pass before the next tile', async () => {
  let tiles = 0;
  const controller = new AbortController();
  const counting: TileInference = async (t) => {
    tiles++;
    if (tiles >= 3) controller.abort();
    return nearest2(t);
  };
  await assert.rejects(
    collect(image(64, 64), counting, options({ tileWidth: 16, tileHeight: 16, signal: controller.signal })),
    (e) => isCancelled(e),
  );
  assert.equal(tiles, 3);
});

test('progress reports each tile with a rectangle inside the output', async () => {
  const rects: Array<{ x: number; y: number; width: number; height: number }> = [];
  let last = 0;
  await collect(
    image(30, 20),
    nearest2,
    options({
      tileWidth: 16,
      tileHeight: 16,
      overlap: 4,
      edgePad: 2,
      onTile: (info) => {
        rects.push(info.rect);
        last = info.done;
        assert.equal(info.pixels.width, info.rect.width);
        assert.equal(info.pixels.height, info.rect.height);
      },
    }),
  );
  assert.equal(last, rects.length);
  let area = 0;
  for (const r of rects) {
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= 60 && r.y + r.height <= 40);
    area += r.width * r.height;
  }
  assert.equal(area, 60 * 40, "the tiles' cells partition the output");
});

test('finished rows go to the sink in chunks of at most SINK_ROWS rows, top to bottom, whatever the band height', async () => {
  const img = image(40, 90, 3);
  const chunks: number[] = [];
  const whole = await collect(img, nearest2, options({}));
  const out = new Float32Array(whole.data.length);
  await runTiledPass(img, nearest2, options({ tileWidth: 0, tileHeight: 0 }), (y, count, rows) => {
    chunks.push(count);
    // Copy now: the chunk's memory is reused for the next call.
    for (let c = 0; c < 3; c++) out.set(rows.subarray(c * count * 80, (c + 1) * count * 80), c * 80 * 180 + y * 80);
  });
  assert.ok(
    chunks.every((n) => n <= SINK_ROWS),
    chunks.join(','),
  );
  assert.equal(
    chunks.reduce((a, b) => a + b, 0),
    180,
  );
  assert.ok(chunks.length >= 3);
  assert.deepEqual(out, whole.data);
});

test('tile pixels for previews are cropped only when asked for, and are the tile cell', async () => {
  const img = image(32, 32, 3);
  let asked = 0;
  await runTiledPass(
    img,
    nearest2,
    options({
      tileWidth: 16,
      tileHeight: 16,
      overlap: 4,
      onTile: (info) => {
        if (asked++ === 0) {
          assert.deepEqual(
            [info.pixels.width, info.pixels.height, info.pixels.channels],
            [info.rect.width, info.rect.height, 3],
          );
          assert.equal(info.pixels, info.pixels, 'cropped once');
        }
      },
    }),
    () => undefined,
  );
  assert.ok(asked >= 4);
});

test('out of memory on a device: the pass is told each time its tiles are halved, with the error', async () => {
  const told: [number, number, string][] = [];
  const limited: TileInference = async (t) => {
    if (Math.max(t.width, t.height) > 12) throw new Error('Failed to create GPU buffer of size 4194304');
    return nearest2(t);
  };
  const got = await collect(
    image(40, 40),
    limited,
    options({ onSmallerTiles: (from, to, why) => told.push([from, to, why]) }),
  );
  const expected = await collect(image(40, 40), nearest2, options({}));
  let maxDiff = 0;
  for (let i = 0; i < got.data.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs((got.data[i] ?? NaN) - (expected.data[i] ?? NaN)));
  assert.ok(maxDiff < 1e-6, `max diff ${maxDiff}`);
  assert.deepEqual(told, [
    [40, 20, 'Failed to create GPU buffer of size 4194304'],
    [20, 10, 'Failed to create GPU buffer of size 4194304'],
  ]);
});

test('allocation failures of every provider count as out of memory; other errors do not', () => {
  for (const text of [
    'Failed to allocate memory for requested buffer of size 123',
    'CUDA failure 2: out of memory',
    'Failed to create GPU buffer of size 4194304',
    'VK_ERROR_OUT_OF_DEVICE_MEMORY',
    'E_OUTOFMEMORY',
    'std::bad_alloc',
  ])
    assert.equal(isOutOfMemory(new Error(text)), true, text);
  for (const text of ['Invalid input shape', 'shader compilation failed'])
    assert.equal(isOutOfMemory(new Error(text)), false, text);
});
