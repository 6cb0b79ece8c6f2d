// The protocol over a real child process: every method, every error code, cancellation,
// queued jobs, and bad requests followed by good ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { FrameParser, frame } from '../../contract/rpc/framing';
import { DaemonError } from '../../contract/errors';
import { startDaemon, tempDir, writeTestImage, type TestDaemon } from './daemon-harness';
import { Requests, Notifications } from '../../contract/methods';

let daemon: TestDaemon;
let dir: string;
const raw: Array<{ id?: unknown; error?: { code: number; message: string }; result?: unknown; method?: string }> = [];

before(async () => {
  daemon = startDaemon();
  dir = tempDir('protocol');
  const parser = new FrameParser({
    message: (m) => {
      type Message = (typeof raw)[number];
      const parsed = JSON.parse(m) as Message | Message[];
      raw.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    },
    malformed: () => undefined,
  });
  daemon.process.stdout?.on('data', (c: Buffer) => parser.push(c));
  await writeTestImage(path.join(dir, 'small.png'), 24, 16);
  await writeTestImage(path.join(dir, 'medium.png'), 160, 120);
});

after(async () => {
  await daemon.stop();
});

function sendRaw(text: string | Buffer): void {
  daemon.process.stdin?.write(typeof text === 'string' ? frame(text) : text);
}

async function rawResponse(id: unknown): Promise<{ error?: { code: number; message: string }; result?: unknown }> {
  for (let i = 0; i < 500; i++) {
    const found = raw.find((m) => m.id === id && m.method === undefined && (m.error || 'result' in m));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no response with id ${String(id)}`);
}

async function expectError(p: Promise<unknown>, name: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DaemonError, `not a DaemonError: ${String(e)}`);
    assert.equal(e.errorName, name, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('initialize reports the version, providers with reasons, and the active provider', async () => {
  const r = await daemon.connection.request(Requests.initialize, { clientName: 'test' });
  assert.equal(r.protocolVersion, 1);
  assert.equal(r.activeProvider, 'cpu');
  const cpu = r.providers.find((p) => p.provider === 'cpu');
  assert.equal(cpu?.available, true);
  for (const p of r.providers.filter((s) => !s.available))
    assert.ok(p.reason && p.reason.length > 0, `${p.provider} has a reason`);
  assert.equal(r.defaultModel, 'realesr-general-x4v3');
});

test('models/list, models/load (cold then warm), models/unload', async () => {
  const { models } = await daemon.connection.request(Requests.modelsList, {});
  const ids = models.map((m) => m.id);
  assert.ok(ids.includes('realesr-general-x4v3') && ids.includes('realesrgan-x4plus'));
  const general = models.find((m) => m.id === 'realesr-general-x4v3');
  assert.equal(general?.scale, 4);
  assert.equal(general?.license, 'BSD-3-Clause');
  const cold = await daemon.connection.request(Requests.modelsLoad, { id: 'realesr-general-x4v3' });
  assert.equal(cold.cached, false);
  const warm = await daemon.connection.request(Requests.modelsLoad, { id: 'realesr-general-x4v3' });
  assert.equal(warm.cached, true);
  const listed = await daemon.connection.request(Requests.modelsList, {});
  assert.equal(listed.models.find((m) => m.id === 'realesr-general-x4v3')?.loaded, true);
  assert.deepEqual(await daemon.connection.request(Requests.modelsUnload, { id: 'realesr-general-x4v3' }), {
    id: 'realesr-general-x4v3',
    unloaded: true,
  });
  assert.deepEqual(await daemon.connection.request(Requests.modelsUnload, { id: 'realesr-general-x4v3' }), {
    id: 'realesr-general-x4v3',
    unloaded: false,
  });
  await expectError(
    daemon.connection.request(Requests.modelsLoad, { id: 'nope' }),
    'ModelNotFound',
    /no model 'nope'; installed: .*realesr-general-x4v3/,
  );
});

test('upscale writes name@4x.png beside the input, with progress for every tile', async () => {
  daemon.progress.length = 0;
  const input = path.join(dir, 'medium.png');
  const job = daemon.connection.start(Requests.upscale, { input, tile: 32, overlap: 8 });
  const r = await job.result;
  assert.equal(r.outputPath, path.join(dir, 'medium@4x.png'));
  const meta = await sharp(r.outputPath).metadata();
  assert.equal(meta.width, 640);
  assert.equal(meta.height, 480);
  assert.equal(r.passes, 1);
  const tiles = daemon.progress.filter((p) => p.requestId === job.id && p.stage === 'infer' && p.tile);
  assert.ok(tiles.length >= 2, `${tiles.length} tile notifications`);
  const last = tiles[tiles.length - 1];
  assert.equal(last?.done, last?.total);
  for (const p of tiles) assert.ok((p.tile?.x ?? -1) >= 0 && (p.tile?.x ?? 0) + (p.tile?.width ?? 0) <= 640);
  assert.ok(daemon.progress.some((p) => p.requestId === job.id && p.stage === 'done'));
  // A second run does not overwrite: it gets a new name.
  const again = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  assert.equal(again.outputPath, path.join(dir, 'medium@2x.png'));
  const third = await daemon.connection.request(Requests.upscale, { input, scale: 2 });
  assert.equal(third.outputPath, path.join(dir, 'medium@2x (2).png'));
});

test('tile previews are small encoded PNGs placed in the final output geometry', async () => {
  daemon.progress.length = 0;
  const r = await daemon.connection.request(Requests.upscale, {
    input: path.join(dir, 'small.png'),
    scale: 2,
    tile: 32,
    overlap: 8,
    previewWidth: 24,
    overwrite: true,
  });
  const previews = daemon.progress.filter((p) => p.preview);
  assert.ok(previews.length >= 1);
  for (const p of previews) {
    const png = Buffer.from(p.preview?.png ?? '', 'base64');
    const meta = await sharp(png).metadata();
    assert.equal(meta.width, p.preview?.rect.width);
    assert.ok((p.preview?.rect.x ?? 0) + (meta.width ?? 0) <= 24);
  }
  assert.equal(r.width, 48);
});

test('previewEvery: a preview every N finished tiles of the pass, and the last; refused without previewWidth', async () => {
  daemon.progress.length = 0;
  const input = path.join(dir, 'medium.png');
  await daemon.connection.request(Requests.upscale, {
    input,
    output: path.join(dir, 'every-other.png'),
    scale: 2,
    tile: 32,
    overlap: 8,
    previewWidth: 64,
    previewEvery: 2,
    overwrite: true,
  });
  const tiles = daemon.progress.filter((p) => p.stage === 'infer' && p.tile);
  const total = tiles[0]?.total ?? 0;
  assert.ok(total >= 3, `tiles: ${total}`);
  assert.deepEqual(
    tiles.filter((p) => p.preview).map((p) => p.done),
    tiles.map((p) => p.done).filter((done) => done % 2 === 0 || done === total),
  );
  await assert.rejects(
    daemon.connection.request(Requests.upscale, { input, scale: 2, previewEvery: 2 }),
    /'previewEvery' applies only when 'previewWidth' is given/,
  );
});

test('threads: one thread gives the pixels every core gives; a count out of range is refused, naming it', async () => {
  const input = path.join(dir, 'medium.png');
  const every = path.join(dir, 'threads-every.png');
  const one = path.join(dir, 'threads-one.png');
  await daemon.connection.request(Requests.upscale, { input, output: every, scale: 2, overwrite: true });
  await daemon.connection.request(Requests.upscale, { input, output: one, scale: 2, threads: 1, overwrite: true });
  const [a, b] = await Promise.all([every, one].map((f) => sharp(f).raw().toBuffer({ resolveWithObject: true })));
  assert.ok(a && b);
  assert.deepEqual(b.info, a.info);
  assert.ok(b.data.equals(a.data), 'one thread and every core gave different pixels');
  for (const threads of [-1, 1.5, 1000])
    await expectError(
      daemon.connection.request(Requests.upscale, { input, scale: 2, threads }),
      'InvalidParams',
      new RegExp(`'threads' is ${threads}`),
    );
});

test('memoryBudget: the automatic tile is the whole image when it fits, tiles that fit when not; below 64 MiB refused', async () => {
  const input = path.join(dir, 'budget.png');
  await writeTestImage(input, 512, 512);
  const plan = async (memoryBudget?: number) => {
    const r = await daemon.connection.request(Requests.upscale, {
      input,
      model: 'realesr-general-x4v3',
      dryRun: true,
      ...(memoryBudget === undefined ? {} : { memoryBudget }),
    });
    const pass = r.plan?.passes[0];
    assert.ok(pass);
    return pass;
  };
  // 512² at 780 bytes per pixel, three times over, is 585 MiB: within a third of any test machine.
  const whole = await plan();
  assert.deepEqual([whole.columns, whole.rows], [1, 1]);
  const tiled = await plan(64);
  assert.ok(tiled.columns * tiled.rows > 1, `${tiled.columns}x${tiled.rows}`);
  assert.ok(tiled.tileWidth * tiled.tileHeight * 780 * 3 <= 64 * 2 ** 20, `${tiled.tileWidth}x${tiled.tileHeight}`);
  await expectError(
    daemon.connection.request(Requests.upscale, { input, dryRun: true, memoryBudget: 10 }),
    'InvalidParams',
    /'memoryBudget' is 10/,
  );
});

test('every JSON-RPC error code, and the daemon keeps answering', async () => {
  sendRaw('{"jsonrpc": "2.0", "id": 9001, "method": "initialize", "params": ');
  const parse = raw.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(
    raw.slice(parse - 1).some((m) => m.error?.code === -32700) ||
      raw.some((m) => m.id === null && m.error?.code === -32700),
  );
  sendRaw(Buffer.from('Content-Length: -4\r\n\r\n'));
  sendRaw('{"jsonrpc": "2.0", "id": 9002}');
  assert.equal((await rawResponse(9002)).error?.code, -32600);
  sendRaw('{"jsonrpc": "2.0", "id": 9003, "method": "does/not/exist"}');
  assert.equal((await rawResponse(9003)).error?.code, -32601);
  sendRaw('{"jsonrpc": "2.0", "id": 9004, "method": "upscale", "params": {"input": "/x.png", "scale": -2}}');
  const invalid = await rawResponse(9004);
  assert.equal(invalid.error?.code, -32602);
  assert.match(invalid.error?.message ?? '', /'scale' is -2/);
  sendRaw(
    '[{"jsonrpc": "2.0", "id": 9005, "method": "models/list"}, {"jsonrpc": "2.0", "id": 9006, "method": "nope"}]',
  );
  assert.ok((await rawResponse(9005)).result);
  assert.equal((await rawResponse(9006)).error?.code, -32601);
  // After all that, a good request works.
  const { models } = await daemon.connection.request(Requests.modelsList, {});
  assert.ok(models.length >= 2);
});

test('application errors name the file and the problem', async () => {
  await expectError(
    daemon.connection.request(Requests.upscale, { input: path.join(dir, 'missing.png') }),
    'InputNotFound',
    /missing\.png: no such file/,
  );
  const corrupt = path.join(dir, 'corrupt.png');
  fs.writeFileSync(corrupt, Buffer.concat([fs.readFileSync(path.join(dir, 'small.png')).subarray(0, 60)]));
  await expectError(daemon.connection.request(Requests.upscale, { input: corrupt }), 'DecodeFailed', /corrupt\.png/);
  await expectError(
    daemon.connection.request(Requests.upscale, { input: dir }),
    'DecodeFailed',
    /is a folder, not an image file/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, { input: path.join(dir, 'small.png'), model: 'nope' }),
    'ModelNotFound',
    /no model 'nope'/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, {
      input: path.join(dir, 'small.png'),
      output: path.join(dir, 'no', 'such', 'dir') + path.sep,
    }),
    'OutputNotWritable',
    /output folder does not exist/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, { input: path.join(dir, 'medium.png'), width: 20000, format: 'webp' }),
    'ImageTooLarge',
    /16383.*PNG or TIFF/,
  );
  const before = fs.readdirSync(dir).sort();
  await expectError(
    daemon.connection.request(Requests.upscale, { input: corrupt, output: path.join(dir, 'never.png') }),
    'DecodeFailed',
    /corrupt\.png/,
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'a failed job writes nothing');
});

test('a named output is a promise: never the input, never a renamed clash, and its extension decides the format', async () => {
  const input = path.join(dir, 'small.png');
  const before = fs.readdirSync(dir).sort();
  const original = fs.readFileSync(input);
  await expectError(
    daemon.connection.request(Requests.upscale, { input, output: input, overwrite: true }),
    'OutputNotWritable',
    /small\.png: is the input image/,
  );
  const existing = path.join(dir, 'existing.png');
  fs.writeFileSync(existing, 'old');
  await expectError(
    daemon.connection.request(Requests.upscale, { input, output: existing }),
    'OutputNotWritable',
    /existing\.png: already exists; nothing was written/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, { input, output: path.join(dir, 'x.png'), format: 'jpg' }),
    'InvalidParams',
    /x\.png.*named as PNG.*JPEG/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, { input, output: path.join(dir, 'x.gif') }),
    'InvalidParams',
    /'\.gif' is not a format Upscale writes; the output extensions are \.png \.jpg \.jpeg \.webp \.tif \.tiff \.avif/,
  );
  await expectError(
    daemon.connection.request(Requests.upscale, { input, template: '{name}-big' }),
    'InvalidParams',
    /small-big: has no extension/,
  );
  assert.deepEqual(fs.readFileSync(input), original);
  assert.equal(fs.readFileSync(existing, 'utf8'), 'old');
  // A template without an extension takes the format asked for, even when a field fills in a dot.
  const dotted = await daemon.connection.request(Requests.upscale, {
    input,
    template: '{name}@{scale}x',
    scale: 2.5,
    format: 'webp',
  });
  assert.equal(dotted.outputPath, path.join(dir, 'small@2.5x'));
  assert.equal((await sharp(dotted.outputPath).metadata()).format, 'webp');
  fs.rmSync(dotted.outputPath);
  assert.deepEqual(fs.readdirSync(dir).sort(), [...before, 'existing.png'].sort(), 'nothing written');
  const asJpeg = await daemon.connection.request(Requests.upscale, {
    input,
    output: path.join(dir, 'named.jpeg'),
    scale: 2,
  });
  assert.equal(asJpeg.outputPath, path.join(dir, 'named.jpeg'));
  assert.equal((await sharp(asJpeg.outputPath).metadata()).format, 'jpeg');
  const replaced = await daemon.connection.request(Requests.upscale, {
    input,
    output: existing,
    overwrite: true,
    scale: 2,
  });
  assert.equal(replaced.outputPath, existing);
  assert.equal((await sharp(existing).metadata()).format, 'png');
  fs.rmSync(existing);
  fs.rmSync(asJpeg.outputPath);
});

test('cancelling a running job stops it within a tile and leaves no output', async () => {
  daemon.progress.length = 0;
  const input = path.join(dir, 'medium.png');
  const job = daemon.connection.start(Requests.upscale, {
    input,
    model: 'realesrgan-x4plus',
    tile: 32,
    overlap: 8,
    output: path.join(dir, 'cancelled.png'),
  });
  for (
    let i = 0;
    i < 3000 && !daemon.progress.some((p) => p.requestId === job.id && p.stage === 'infer' && p.done >= 1);
    i++
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  daemon.connection.cancel(job.id);
  await expectError(job.result, 'Cancelled', /cancelled/);
  const tilesDone = Math.max(...daemon.progress.filter((p) => p.requestId === job.id).map((p) => p.done));
  const total = daemon.progress.find((p) => p.requestId === job.id && p.total > 0)?.total ?? 0;
  assert.ok(tilesDone <= 3 && tilesDone < total, `stopped after ${tilesDone} of ${total} tiles`);
  assert.ok(!fs.existsSync(path.join(dir, 'cancelled.png')));
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.partial')),
    [],
  );
});

test('two jobs queue and finish in order; a queued job can be cancelled', async () => {
  daemon.progress.length = 0;
  const input = path.join(dir, 'small.png');
  const first = daemon.connection.start(Requests.upscale, { input, output: path.join(dir, 'q1.png') });
  const second = daemon.connection.start(Requests.upscale, { input, output: path.join(dir, 'q2.png') });
  const third = daemon.connection.start(Requests.upscale, { input, output: path.join(dir, 'q3.png') });
  daemon.connection.cancel(third.id);
  const thirdCancelled = expectError(third.result, 'Cancelled', /before it started/);
  const finished: number[] = [];
  await Promise.all([first.result.then(() => finished.push(1)), second.result.then(() => finished.push(2))]);
  await thirdCancelled;
  assert.deepEqual(finished, [1, 2]);
  assert.ok(daemon.progress.some((p) => p.requestId === second.id && p.stage === 'queued'));
  assert.ok(fs.existsSync(path.join(dir, 'q1.png')) && fs.existsSync(path.join(dir, 'q2.png')));
  assert.ok(!fs.existsSync(path.join(dir, 'q3.png')));
});

test('shutdown then exit ends the process with code 0; pixel ceilings are checked before any work', async () => {
  const d = startDaemon();
  await d.connection.request(Requests.initialize, { maxOutputPixels: 1000, maxInputPixels: 300 });
  await expectError(
    d.connection.request(Requests.upscale, { input: path.join(dir, 'small.png') }),
    'ImageTooLarge',
    /small\.png: 24x16 is 384 pixels, above the input limit of 300/,
  );
  await d.connection.request(Requests.initialize, { maxOutputPixels: 1000, maxInputPixels: 1_000_000 });
  await expectError(
    d.connection.request(Requests.upscale, { input: path.join(dir, 'small.png') }),
    'ImageTooLarge',
    /96x64 image \(6144 pixels\), above the output limit of 1000/,
  );
  assert.deepEqual(await d.connection.request(Requests.shutdown, {}), { ok: true });
  await expectError(
    d.connection.request(Requests.upscale, { input: path.join(dir, 'small.png') }),
    'ShuttingDown',
    /shutting down/,
  );
  d.connection.notify(Notifications.exit, {});
  assert.deepEqual(await d.exited, { code: 0, signal: null });
});
