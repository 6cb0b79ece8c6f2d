// Geometry through the real daemon: fit contain padded with transparency or a colour,
// wrap padding keeping tileable textures tileable, dry-run plans, and the size ceilings
// of 30000-pixel outputs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_ENTRY, startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';
import type { UpscalePlan } from '../../contract/protocol';
import type { Padding } from '../../contract/vocabulary';
import { Requests } from '../../contract/methods';

let daemon: TestDaemon;
let dir: string;
let wide: string;

before(async () => {
  daemon = startDaemon();
  dir = tempDir('pixels-geometry');
  wide = path.join(dir, 'wide.png');
  await writeTestImage(wide, 40, 20);
});

after(async () => {
  await daemon.stop();
});

async function raw(file: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

test('fit contain: exactly W x H, the picture centred, the padding transparent in PNG', async () => {
  const r = await daemon.connection.request(Requests.upscale, {
    input: wide,
    width: 100,
    height: 100,
    fit: 'contain',
    output: path.join(dir, 'contain.png'),
  });
  assert.deepEqual([r.width, r.height], [100, 100]);
  assert.deepEqual(r.plan?.content, { x: 0, y: 25, width: 100, height: 50 });
  assert.equal(r.plan?.background, 'transparent');
  const img = await raw(r.outputPath);
  assert.deepEqual([img.width, img.height, img.channels], [100, 100, 4]);
  const alphaAt = (x: number, y: number) => img.data[(y * 100 + x) * 4 + 3];
  for (const y of [0, 10, 24, 75, 90, 99])
    for (const x of [0, 50, 99]) assert.equal(alphaAt(x, y), 0, `padding at ${x},${y}`);
  for (const y of [25, 50, 74]) for (const x of [0, 50, 99]) assert.equal(alphaAt(x, y), 255, `picture at ${x},${y}`);
  // The picture is the fill-resize of the input: its left edge is dark red-free (x gradient starts at 0).
  assert.ok((img.data[(50 * 100 + 0) * 4] as number) < 40 && (img.data[(50 * 100 + 99) * 4] as number) > 200);
});

test('fit contain to JPEG pads with white; a --background colour is used as given', async () => {
  const jpg = await daemon.connection.request(Requests.upscale, {
    input: wide,
    width: 60,
    height: 90,
    fit: 'contain',
    format: 'jpg',
    output: path.join(dir, 'contain.jpg'),
  });
  const j = await raw(jpg.outputPath);
  assert.deepEqual([j.width, j.height, j.channels], [60, 90, 3]);
  assert.deepEqual(jpg.plan?.content, { x: 0, y: 30, width: 60, height: 30 });
  for (const y of [2, 25, 65, 88])
    for (let c = 0; c < 3; c++) assert.ok((j.data[(y * 60 + 30) * 3 + c] as number) > 245, `white padding at y ${y}`);

  const blue = await daemon.connection.request(Requests.upscale, {
    input: wide,
    width: 90,
    height: 60,
    fit: 'contain',
    background: '#0000ff',
    output: path.join(dir, 'contain-blue.png'),
  });
  const b = await raw(blue.outputPath);
  assert.deepEqual([b.width, b.height, b.channels], [90, 60, 3]);
  assert.deepEqual(blue.plan?.content, { x: 0, y: 7, width: 90, height: 45 });
  assert.deepEqual([...b.data.subarray(0, 3)], [0, 0, 255]);
  assert.deepEqual([...b.data.subarray((59 * 90 + 89) * 3, (59 * 90 + 89) * 3 + 3)], [0, 0, 255]);
});

/** A smooth texture whose right edge continues into its left and bottom into top. */
async function tileableTexture(file: string, size: number): Promise<void> {
  const data = Buffer.alloc(size * size * 3);
  const tau = 2 * Math.PI;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const u = x / size;
      const v = y / size;
      const o = (y * size + x) * 3;
      data[o] = Math.round(128 + 70 * Math.sin(tau * (2 * u + v)) + 40 * Math.cos(tau * 5 * v));
      data[o + 1] = Math.round(128 + 60 * Math.cos(tau * (3 * u - 2 * v)) + 30 * Math.sin(tau * 7 * u));
      data[o + 2] = Math.round(128 + 90 * Math.sin(tau * 4 * u) * Math.cos(tau * 3 * v));
    }
  await sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(file);
}

/**
 * Per axis: the mean absolute difference across the wrap-around seam (last column to first)
 * and across the interior neighbours on either side of it (first to second, last but one
 * to last). A tileable output continues smoothly, so the seam looks like its neighbours.
 */
function seams(img: { data: Buffer; width: number; height: number; channels: number }): {
  column: number;
  besideColumn: number;
  row: number;
  besideRow: number;
} {
  const { data, width: W, height: H, channels } = img;
  const at = (x: number, y: number, c: number) => data[(y * W + x) * channels + c] as number;
  let column = 0;
  let besideColumn = 0;
  let row = 0;
  let besideRow = 0;
  for (let y = 0; y < H; y++)
    for (let c = 0; c < 3; c++) {
      column += Math.abs(at(W - 1, y, c) - at(0, y, c));
      besideColumn += (Math.abs(at(1, y, c) - at(0, y, c)) + Math.abs(at(W - 1, y, c) - at(W - 2, y, c))) / 2;
    }
  for (let x = 0; x < W; x++)
    for (let c = 0; c < 3; c++) {
      row += Math.abs(at(x, H - 1, c) - at(x, 0, c));
      besideRow += (Math.abs(at(x, 1, c) - at(x, 0, c)) + Math.abs(at(x, H - 1, c) - at(x, H - 2, c))) / 2;
    }
  return {
    column: column / (3 * H),
    besideColumn: besideColumn / (3 * H),
    row: row / (3 * W),
    besideRow: besideRow / (3 * W),
  };
}

test('--padding wrap: a tileable texture stays tileable (tiled 2x2, the seams look like the columns and rows beside them)', async () => {
  const input = path.join(dir, 'texture.png');
  await tileableTexture(input, 64);
  const run = (padding: Padding | undefined, extra: { tile?: number; overlap?: number }, name: string) =>
    daemon.connection.request(Requests.upscale, {
      input,
      scale: 4,
      ...(padding && { padding }),
      model: 'realesr-general-x4v3',
      output: path.join(dir, name),
      ...extra,
    });
  const wrap = await run('wrap', { tile: 32, overlap: 8 }, 'texture-wrap.png');
  assert.equal(wrap.plan?.padding, 'wrap');
  const out = await raw(wrap.outputPath);
  assert.deepEqual([out.width, out.height], [256, 256]);
  // Tile it 2x2: the mosaic's middle column and row are the wrap-around seams.
  const tiled = await sharp({ create: { width: 512, height: 512, channels: 3, background: '#000' } })
    .composite([0, 256].flatMap((top) => [0, 256].map((left) => ({ input: wrap.outputPath, top, left }))))
    .raw()
    .toBuffer({ resolveWithObject: true });
  const mosaic = await raw(
    await sharp(tiled.data, { raw: { width: 512, height: 512, channels: 3 } })
      .extract({ left: 128, top: 128, width: 256, height: 256 })
      .png()
      .toBuffer()
      .then(async (b) => {
        const f = path.join(dir, 'mosaic-centre.png');
        await sharp(b).toFile(f);
        return f;
      }),
  );
  const w = seams(out);
  assert.ok(
    w.column <= 1.25 * w.besideColumn + 1,
    `wrap: seam column difference ${w.column.toFixed(2)} vs ${w.besideColumn.toFixed(2)} beside it`,
  );
  assert.ok(
    w.row <= 1.25 * w.besideRow + 1,
    `wrap: seam row difference ${w.row.toFixed(2)} vs ${w.besideRow.toFixed(2)} beside it`,
  );
  // In the mosaic's centre crop, the seams sit at column and row 128.
  const m = mosaic.data;
  const at = (x: number, y: number, c: number) => m[(y * 256 + x) * 3 + c] as number;
  let seam = 0;
  let beside = 0;
  for (let y = 0; y < 256; y++)
    for (let c = 0; c < 3; c++) {
      seam += Math.abs(at(128, y, c) - at(127, y, c));
      beside += (Math.abs(at(127, y, c) - at(126, y, c)) + Math.abs(at(129, y, c) - at(128, y, c))) / 2;
    }
  assert.ok(
    seam <= 1.25 * beside + 768,
    `mosaic seam ${(seam / 768).toFixed(2)} vs ${(beside / 768).toFixed(2)} beside it`,
  );

  // No border (the default) and a mirrored one do leave a seam on this texture: the check can tell.
  for (const padding of [undefined, 'reflect'] as const) {
    const other = seams(
      await raw((await run(padding, { tile: 32, overlap: 8 }, `texture-${padding ?? 'default'}.png`)).outputPath),
    );
    assert.ok(
      other.column > 2 * other.besideColumn,
      `${padding ?? 'default'}: ${other.column.toFixed(2)} vs ${other.besideColumn.toFixed(2)}`,
    );
  }

  // Whole-image wrap equals the centre of the texture tiled 3x3 and upscaled: the output is what the endless texture gives.
  const whole = await raw((await run('wrap', { tile: 0 }, 'texture-wrap-whole.png')).outputPath);
  const nine = path.join(dir, 'texture-3x3.png');
  await sharp({ create: { width: 192, height: 192, channels: 3, background: '#000' } })
    .composite([0, 64, 128].flatMap((top) => [0, 64, 128].map((left) => ({ input, top, left }))))
    .png()
    .toFile(nine);
  const nineOut = await daemon.connection.request(Requests.upscale, {
    input: nine,
    scale: 4,
    tile: 0,
    model: 'realesr-general-x4v3',
    output: path.join(dir, 'texture-3x3-out.png'),
  });
  const centre = await sharp(nineOut.outputPath)
    .extract({ left: 256, top: 256, width: 256, height: 256 })
    .raw()
    .toBuffer();
  let worst = 0;
  for (let i = 0; i < centre.length; i++)
    worst = Math.max(worst, Math.abs((centre[i] as number) - (whole.data[i] as number)));
  assert.ok(worst <= 2, `whole-image wrap vs the tiled texture's centre: largest difference ${worst}`);
});

test('dry run: the plan (passes, models, sizes, final resize, fit, tiles) comes back and nothing is written', async () => {
  const output = path.join(dir, 'dry.png');
  const r = await daemon.connection.request(Requests.upscale, {
    input: wide,
    width: 700,
    height: 300,
    fit: 'contain',
    tile: 64,
    dryRun: true,
    output,
  });
  assert.equal(r.dryRun, true);
  assert.equal(fs.existsSync(output), false);
  const plan = r.plan as UpscalePlan;
  assert.equal(plan.model, 'realesr-general-x4v3');
  assert.deepEqual(
    plan.passes.map((p) => [p.inputWidth, p.inputHeight, p.outputWidth, p.outputHeight]),
    [
      [40, 20, 160, 80],
      [160, 80, 640, 320],
    ],
  );
  assert.deepEqual(plan.finalResize, { fromWidth: 640, fromHeight: 320, toWidth: 600, toHeight: 300 });
  assert.deepEqual(plan.content, { x: 50, y: 0, width: 600, height: 300 });
  assert.equal(plan.fit, 'contain');
  assert.equal(plan.passes[1]?.tileWidth, 64 + 32);
  const second = plan.passes[1];
  assert.ok((second?.columns ?? 0) >= 2, `${second?.columns} columns`);
  assert.equal(second?.tiles, (second?.columns ?? 0) * (second?.rows ?? 0));
  assert.equal(daemon.progress.filter((p) => p.jobId === r.jobId && p.stage === 'infer').length, 0);
  // The extension plans each job with a dry run: its line is at debug level, so a job is not logged twice.
  const jobLines = async () => {
    for (let i = 0; i < 100 && !daemon.stderr.join('').includes(`job ${r.jobId}`); i++) await sleep(20);
    return daemon.stderr
      .join('')
      .split('\n')
      .filter((line) => line.includes(`job ${r.jobId}`));
  };
  assert.deepEqual(
    (await jobLines()).map((line) => line.slice(0, line.indexOf(']') + 1)),
    ['[upscale debug]'],
  );

  const cli = spawnSync(
    process.execPath,
    [DAEMON_ENTRY, wide, '-s', '8', '--dry-run', '--json', '-o', path.join(dir, 'cli-dry.png')],
    { encoding: 'utf8', env: { ...process.env, UPSCALE_MODELS_DIR: tempDir('models') } },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const printed = JSON.parse(cli.stdout.trim()) as { dryRun: boolean; plan: UpscalePlan };
  assert.equal(printed.dryRun, true);
  assert.equal(printed.plan.width, 320);
  assert.ok(printed.plan.passes.length >= 1);
  assert.equal(fs.existsSync(path.join(dir, 'cli-dry.png')), false);
});

test('30000 x 30000 PNG and TIFF outputs are planned within the ceilings; WebP is refused before any work, naming its limit', async () => {
  const big = path.join(dir, 'flat-7500.png');
  await sharp({ create: { width: 7500, height: 7500, channels: 3, background: '#808080' } })
    .png({ compressionLevel: 1 })
    .toFile(big);
  for (const format of ['png', 'tif'] as const) {
    const r = await daemon.connection.request(Requests.upscale, {
      input: big,
      scale: 4,
      format,
      dryRun: true,
      model: 'realesr-general-x4v3',
    });
    assert.deepEqual([r.width, r.height], [30000, 30000]);
    assert.equal(r.plan?.finalResize, null);
    assert.equal(r.plan?.passes.length, 1);
  }
  await assert.rejects(
    daemon.connection.request(Requests.upscale, {
      input: big,
      scale: 4,
      format: 'webp',
      model: 'realesr-general-x4v3',
    }),
    (e: Error) => /WebP allows at most 16383 pixels per side\. Choose PNG or TIFF/.test(e.message),
  );
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('flat-7500@') || f.includes('.partial')),
    [],
  );
});
