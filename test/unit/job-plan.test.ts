// planJob without I/O: a header, a request, a model, limits and the output's place in; the
// plan (geometry, passes, tiles, output name and format, channels) or a typed error out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  MAX_RASTER_BYTES,
  planJob,
  settleAlpha,
  withOutputFile,
  type JobLimits,
  type OutputPlace,
  type PipelineModel,
  type PipelineRequest,
} from '../../daemon/engine/job-plan';
import { DaemonError, type ErrorName } from '../../contract/errors';
import { DEFAULT_OVERLAP } from '../../contract/limits';
import type { ImageHeader } from '../../daemon/image/types';
import { PLAIN_TRAITS } from '../../models/architectures/types';

const folder = path.join(path.sep, 'photos');
const x4: PipelineModel = { id: 'fake-x4', scale: 4, inputMultiple: 1 };
const limits: JobLimits = { maxInputPixels: 1e8, maxOutputPixels: 1e9, memoryBytes: 16 * 2 ** 30 };
const place: OutputPlace = { folder, name: undefined, folderExists: true };

function header(width: number, height: number, extra: Partial<ImageHeader> = {}): ImageHeader {
  return { width, height, format: 'png', hasAlpha: false, depth: 8, ...extra };
}

function request(extra: Partial<PipelineRequest> = {}): PipelineRequest {
  return {
    input: path.join(folder, 'scene.png'),
    target: { kind: 'scale', scale: 4 },
    alpha: 'model',
    overwrite: false,
    ...extra,
  };
}

function refusal(name: ErrorName, message: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof DaemonError && e.errorName === name && message.test(e.message);
}

test('a scale the model has: one pass, no resize, the template names the output beside the input', () => {
  const plan = planJob(header(40, 20), request(), x4, limits, place);
  assert.deepEqual(plan.geometry.passSizes, [{ width: 160, height: 80 }]);
  assert.equal(plan.geometry.resize, false);
  assert.deepEqual(plan.output, { file: path.join(folder, 'scene@4x.png'), format: 'png', named: false });
  assert.equal(plan.summary.outputPath, plan.output.file);
  assert.equal(plan.summary.finalResize, null);
  assert.deepEqual([plan.summary.width, plan.summary.height, plan.channels, plan.depth], [160, 80, 3, 8]);
  assert.equal(plan.summary.passes[0]?.overlap, 2 * DEFAULT_OVERLAP);
});

test('a size beyond one pass: passes repeat, then Lanczos fits the content inside the padded output', () => {
  const plan = planJob(
    header(40, 20),
    request({ target: { kind: 'size', width: 700, height: 300, fit: 'contain' }, tile: 64 }),
    x4,
    limits,
    place,
  );
  assert.deepEqual(
    plan.summary.passes.map((p) => [p.inputWidth, p.inputHeight, p.outputWidth, p.outputHeight]),
    [
      [40, 20, 160, 80],
      [160, 80, 640, 320],
    ],
  );
  assert.deepEqual(plan.summary.finalResize, { fromWidth: 640, fromHeight: 320, toWidth: 600, toHeight: 300 });
  assert.deepEqual(plan.summary.content, { x: 50, y: 0, width: 600, height: 300 });
  // PNG keeps transparency, so the padding is transparent and the output gains an alpha channel.
  assert.equal(plan.summary.background, 'transparent');
  assert.equal(plan.channels, 4);
  assert.equal(plan.output.file, path.join(folder, 'scene@17.5x.png'));
});

test('tiles: a given tile decides that many pixels and sees the overlap on each side; the grid covers each pass', () => {
  const plan = planJob(header(40, 20), request({ target: { kind: 'scale', scale: 16 }, tile: 64 }), x4, limits, place);
  const [first, second] = plan.layouts;
  assert.deepEqual([first?.columns, first?.rows, first?.tensorWidth, first?.tensorHeight], [1, 1, 40, 20]);
  assert.equal(second?.tileWidth, 64 + 2 * DEFAULT_OVERLAP);
  assert.deepEqual([second?.columns, second?.rows, second?.tensorHeight], [3, 1, 80]);
  assert.equal(plan.tile, 64);
  assert.equal(plan.summary.passes[1]?.tiles, 3);
  const whole = planJob(header(40, 20), request({ tile: 0 }), x4, limits, place);
  assert.deepEqual([whole.layouts[0]?.columns, whole.layouts[0]?.rows, whole.tile], [1, 1, 0]);
});

test('heavy models on small machines get smaller automatic tiles', () => {
  const heavy: PipelineModel = { ...x4, activationBytesPerPixel: 8192 };
  const small = planJob(header(1024, 1024), request(), heavy, { ...limits, memoryBytes: 4 * 2 ** 30 }, place);
  const large = planJob(header(1024, 1024), request(), heavy, limits, place);
  assert.ok(small.tile < large.tile, `${small.tile} px on 4 GiB, ${large.tile} px on 16 GiB`);
});

test('a fixed-size ONNX model: tiles of exactly its size, an overlap that fits, and tiles that fit or a refusal', () => {
  const fixed: PipelineModel = { ...x4, io: { fixedSize: { width: 96, height: 64 } } };
  const plan = planJob(header(300, 200), request(), fixed, limits, place);
  const [layout] = plan.layouts;
  assert.deepEqual([layout?.tileWidth, layout?.tileHeight, plan.overlap], [96, 64, DEFAULT_OVERLAP]);
  assert.ok((layout?.columns ?? 0) > 1 && (layout?.rows ?? 0) > 1);
  // A default overlap shrinks to a quarter of a small size; an explicit one must leave room.
  const small: PipelineModel = { ...x4, io: { fixedSize: { width: 32, height: 32 } } };
  assert.equal(planJob(header(300, 200), request(), small, limits, place).overlap, 8);
  assert.throws(
    () => planJob(header(300, 200), request({ overlap: 16 }), small, limits, place),
    refusal('InvalidParams', /'overlap' is 16/),
  );
  assert.deepEqual(
    planJob(header(300, 200), request({ tile: 16, overlap: 8 }), fixed, limits, place).layouts[0]?.tileWidth,
    32,
  );
  assert.throws(
    () => planJob(header(300, 200), request({ tile: 128 }), fixed, limits, place),
    refusal('InvalidParams', /'tile' is 128, but the model takes a fixed 96x64 input/),
  );
  // Quarter turns cannot feed a non-square fixed input; flips can.
  assert.throws(
    () => planJob(header(300, 200), request({ tta: 8 }), fixed, limits, place),
    refusal('InvalidParams', /'tta' is 8, .*fixed 96x64 input; expected 2 or 4/),
  );
  assert.equal(planJob(header(300, 200), request({ tta: 4 }), fixed, limits, place).tta, 4);
  assert.equal(planJob(header(300, 200), request({ tta: 8 }), small, limits, place).tta, 8);
});

test('a model with global context runs whole where it fits the budget, as a local one does; tiled where not or when asked', () => {
  const global: PipelineModel = {
    ...x4,
    activationBytesPerPixel: 1024,
    traits: { ...PLAIN_TRAITS, context: 'global' },
  };
  const local: PipelineModel = { ...global, traits: PLAIN_TRAITS };
  const whole = planJob(header(1200, 900), request(), global, limits, place);
  assert.deepEqual([whole.layouts[0]?.columns, whole.layouts[0]?.rows, whole.tile], [1, 1, 0]);
  const alsoWhole = planJob(header(1200, 900), request(), local, limits, place);
  assert.deepEqual([alsoWhole.layouts[0]?.columns, alsoWhole.layouts[0]?.rows], [1, 1], 'the cheapest tiling is none');
  const budgeted = planJob(header(1200, 900), request({ memoryBudget: 1024 }), global, limits, place);
  assert.ok((budgeted.layouts[0]?.columns ?? 0) * (budgeted.layouts[0]?.rows ?? 0) > 1, 'over a 1 GiB budget: tiles');
  // 1200 x 900 pixels x 1024 bytes x 3 (the runtime's overhead) is 3.1 GiB: within a third of
  // 16 GiB, above a third of 8 GiB.
  const small = planJob(header(1200, 900), request(), global, { ...limits, memoryBytes: 8 * 2 ** 30 }, place);
  assert.ok((small.layouts[0]?.columns ?? 0) > 1, 'too large to run whole: tiles');
  // Tiled, both take the fastest tiling that fits, the same for either.
  const localSmall = planJob(header(1200, 900), request(), local, { ...limits, memoryBytes: 8 * 2 ** 30 }, place);
  assert.deepEqual(
    [localSmall.layouts[0]?.tileWidth, localSmall.layouts[0]?.tileHeight],
    [small.layouts[0]?.tileWidth, small.layouts[0]?.tileHeight],
  );
  const asked = planJob(header(1200, 900), request({ tile: 256 }), global, limits, place);
  assert.ok((asked.layouts[0]?.columns ?? 0) > 1, "the user's tile is kept");
});

test('a model whose channels the engine cannot adapt is refused before any work, naming its file', () => {
  const odd: PipelineModel = {
    ...x4,
    onnxPath: '/models/odd.onnx',
    traits: { ...PLAIN_TRAITS, channels: { input: 2, output: 2 } },
  };
  assert.throws(
    () => planJob(header(40, 20), request(), odd, limits, place),
    refusal('ModelInvalid', /^\/models\/odd\.onnx: the model takes 2 channels and gives 2/),
  );
});

test('an alpha channel the model upscales doubles the tiles; settled as opaque by the pixels, it is gone', () => {
  const plan = planJob(header(40, 20, { hasAlpha: true }), request({ tile: 16 }), x4, limits, place);
  assert.deepEqual([plan.planes, plan.channels, plan.summary.alpha, plan.summary.channels], [2, 4, 'model', 4]);
  const tiles = plan.summary.passes[0]?.tiles ?? 0;
  const opaque = settleAlpha(plan, false);
  assert.deepEqual([opaque.planes, opaque.channels, opaque.summary.alpha], [1, 3, null]);
  assert.equal(opaque.summary.passes[0]?.tiles, tiles / 2);
  assert.equal(settleAlpha(plan, true), plan);
  const lanczos = planJob(header(40, 20, { hasAlpha: true }), request({ alpha: 'lanczos' }), x4, limits, place);
  assert.deepEqual([lanczos.planes, lanczos.channels], [1, 4]);
});

test('16 bits are kept only where the format holds them', () => {
  const deep = header(40, 20, { depth: 16 });
  assert.equal(planJob(deep, request(), x4, limits, place).depth, 16);
  assert.equal(planJob(deep, request({ format: 'jpg' }), x4, limits, place).depth, 8);
});

test('a name the user gave is kept, and its extension decides the format', () => {
  const named = { ...place, name: 'out.webp' };
  const plan = planJob(header(40, 20), request(), x4, limits, named);
  assert.deepEqual(plan.output, { file: path.join(folder, 'out.webp'), format: 'webp', named: true });
  assert.throws(
    () => planJob(header(40, 20), request({ format: 'png' }), x4, limits, named),
    refusal('InvalidParams', /out\.webp: is named as WebP \(\.webp\) but the output format asked for/),
  );
  const claimed = withOutputFile(plan, path.join(folder, 'out (2).webp'));
  assert.equal(claimed.summary.outputPath, path.join(folder, 'out (2).webp'));
});

test('a template fills in the fields and its literal extension decides the format', () => {
  const plan = planJob(header(40, 20), request({ template: '{name}-{model}-{width}.jpg' }), x4, limits, place);
  assert.deepEqual(plan.output, { file: path.join(folder, 'scene-fake-x4-160.jpg'), format: 'jpg', named: false });
  assert.throws(
    () => planJob(header(40, 20), request({ template: '{nope}.png' }), x4, limits, place),
    refusal('InvalidParams', /unknown field \{nope\}/),
  );
});

test('the limits are checked before any work, each refusal naming the file and the limit', () => {
  assert.throws(
    () => planJob(header(40, 20), request(), x4, { ...limits, maxInputPixels: 500 }, place),
    refusal('ImageTooLarge', /scene\.png: 40x20 is 800 pixels, above the input limit of 500/),
  );
  assert.throws(
    () => planJob(header(40, 20), request(), x4, { ...limits, maxOutputPixels: 1000 }, place),
    refusal('ImageTooLarge', /160x80 image \(12800 pixels\), above the output limit of 1000/),
  );
  assert.throws(
    () => planJob(header(4100, 10), request({ format: 'webp' }), x4, limits, place),
    refusal('ImageTooLarge', /WebP allows at most 16383 pixels per side/),
  );
  const side = Math.ceil(Math.sqrt(MAX_RASTER_BYTES / 3)) + 1;
  assert.throws(
    () =>
      planJob(
        header(side, side),
        request({ target: { kind: 'scale', scale: 1 } }),
        x4,
        { ...limits, maxInputPixels: 1e12, maxOutputPixels: 1e12 },
        place,
      ),
    refusal('ImageTooLarge', /in one buffer, above the 4 GiB a raster can have/),
  );
  assert.throws(
    () => planJob(header(40, 20), request(), x4, limits, { ...place, folderExists: false }),
    refusal('OutputNotWritable', /photos: output folder does not exist/),
  );
});

test('padding a JPEG: white by default; transparency asked for is refused with a warning, and the padding is white', () => {
  const contain = { kind: 'size', width: 200, height: 200, fit: 'contain' } as const;
  const plain = planJob(header(40, 20), request({ target: contain, format: 'jpg' }), x4, limits, place);
  assert.deepEqual([plain.summary.background, plain.channels, plain.warnings], ['#ffffff', 3, []]);
  const plan = planJob(
    header(40, 20),
    request({ target: contain, format: 'jpg', background: 'transparent' }),
    x4,
    limits,
    place,
  );
  assert.equal(plan.summary.background, '#ffffff');
  assert.deepEqual(plan.background?.rgba, { r: 1, g: 1, b: 1, a: 1 });
  assert.equal(plan.channels, 3);
  assert.match(plan.warnings[0] ?? '', /JPG cannot store transparency: the padding is white/);
  assert.throws(
    () => planJob(header(40, 20), request({ target: contain, background: 'mauve' }), x4, limits, place),
    refusal('InvalidParams', /'background' is "mauve"/),
  );
});
