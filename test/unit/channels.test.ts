// How a model's channels meet an image's planes (daemon/engine/channels.ts), with fake
// models and no I/O: each combination's input to the model and output to the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptChannels, checkModelChannels, modelChannels } from '../../daemon/engine/channels';
import type { TileInference } from '../../daemon/engine/tiled-pass';
import type { PlanarImage } from '../../daemon/image/types';
import { DaemonError } from '../../contract/errors';

const W = 3;
const H = 2;
const N = W * H;

/** A tile of `channels` planes, each sample different. */
function tile(channels: number): PlanarImage {
  return { width: W, height: H, channels, data: Float32Array.from({ length: channels * N }, (_, i) => (i + 1) / 64) };
}

/** Plane `c` of an image. */
function planeOf(img: PlanarImage, c: number): number[] {
  return [...img.data.subarray(c * N, (c + 1) * N)];
}

/**
 * A model of `input` → `output` channels that records what it sees; output channel c is
 * input channel min(c, input − 1) times 2, plus c / 10.
 */
function fakeModel(input: number, output: number): { infer: TileInference; seen: PlanarImage[] } {
  const seen: PlanarImage[] = [];
  const infer: TileInference = async (t) => {
    assert.equal(t.channels, input, 'the model gets its own channel count');
    seen.push({ ...t, data: t.data.slice() });
    const data = new Float32Array(output * N);
    for (let c = 0; c < output; c++)
      for (let i = 0; i < N; i++) data[c * N + i] = 2 * (t.data[Math.min(c, input - 1) * N + i] ?? NaN) + c / 10;
    return { width: t.width, height: t.height, channels: output, data };
  };
  return { infer, seen };
}

function close(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] ?? NaN)) < 1e-6, `${what}[${i}]: ${v}`));
}

const mean = (img: PlanarImage): number[] =>
  Array.from(
    { length: N },
    (_, i) => ((img.data[i] ?? NaN) + (img.data[N + i] ?? NaN) + (img.data[2 * N + i] ?? NaN)) / 3,
  );

test('a model whose channels match the plane runs as it is', async () => {
  for (const c of [1, 3, 4]) {
    const { infer } = fakeModel(c, c);
    assert.equal(adaptChannels(infer, { input: c, output: c }, c), infer);
  }
});

test('a grey model on colour: each channel alone, the results stacked', async () => {
  const { infer, seen } = fakeModel(1, 1);
  const rgb = tile(3);
  const out = await adaptChannels(infer, { input: 1, output: 1 }, 3)(rgb);
  assert.equal(out.channels, 3);
  assert.equal(seen.length, 3);
  for (let c = 0; c < 3; c++) {
    assert.deepEqual(planeOf(seen[c] ?? rgb, 0), planeOf(rgb, c), `run ${c} sees channel ${c}`);
    close(
      planeOf(out, c),
      planeOf(rgb, c).map((v) => 2 * v),
      `channel ${c}`,
    );
  }
});

test('a colour model on one plane: three equal channels in, their mean out', async () => {
  const { infer, seen } = fakeModel(3, 3);
  const grey = tile(1);
  const out = await adaptChannels(infer, { input: 3, output: 3 }, 1)(grey);
  for (let c = 0; c < 3; c++) assert.deepEqual(planeOf(seen[0] ?? grey, c), planeOf(grey, 0));
  assert.equal(out.channels, 1);
  // 2v + (0 + 0.1 + 0.2) / 3
  close(
    planeOf(out, 0),
    planeOf(grey, 0).map((v) => 2 * v + 0.1),
    'mean',
  );
});

test('a grey-in colour-out model on colour runs on the mean of the channels; on one plane its output is averaged', async () => {
  const { infer, seen } = fakeModel(1, 3);
  const rgb = tile(3);
  const out = await adaptChannels(infer, { input: 1, output: 3 }, 3)(rgb);
  close(planeOf(seen[0] ?? rgb, 0), mean(rgb), 'the model sees the mean');
  assert.equal(out.channels, 3);
  for (let c = 0; c < 3; c++)
    close(
      planeOf(out, c),
      mean(rgb).map((v) => 2 * v + c / 10),
      `channel ${c}`,
    );
  const alpha = tile(1);
  const single = await adaptChannels(infer, { input: 1, output: 3 }, 1)(alpha);
  close(
    planeOf(single, 0),
    planeOf(alpha, 0).map((v) => 2 * v + 0.1),
    'one plane',
  );
});

test('an RGBA model on colour alone: an opaque alpha added, its alpha dropped', async () => {
  const { infer, seen } = fakeModel(4, 4);
  const rgb = tile(3);
  const out = await adaptChannels(infer, { input: 4, output: 4 }, 3)(rgb);
  const first = seen[0] ?? rgb;
  for (let c = 0; c < 3; c++) assert.deepEqual(planeOf(first, c), planeOf(rgb, c));
  assert.deepEqual(planeOf(first, 3), new Array<number>(N).fill(1));
  assert.equal(out.channels, 3);
  for (let c = 0; c < 3; c++)
    close(
      planeOf(out, c),
      planeOf(rgb, c).map((v) => 2 * v + c / 10),
      `channel ${c}`,
    );
});

test('a model that gives other channels than it says is an error, not a wrong image', async () => {
  const { infer } = fakeModel(3, 1);
  await assert.rejects(
    adaptChannels(infer, { input: 3, output: 3 }, 1)(tile(1)),
    /gave 1 channels where its description says 3/,
  );
});

test('models of other channel counts are refused naming the file and the counts', () => {
  for (const [input, output] of [
    [1, 1],
    [1, 3],
    [3, 1],
    [3, 3],
    [4, 4],
    [1, 4],
  ] as const)
    checkModelChannels({ input, output }, '/m/a.onnx');
  for (const [input, output] of [
    [2, 2],
    [3, 6],
    [4, 3],
    [0, 3],
  ] as const)
    assert.throws(
      () => checkModelChannels({ input, output }, '/m/a.onnx'),
      (e: Error) =>
        e instanceof DaemonError &&
        e.data.name === 'ModelInvalid' &&
        e.data.file === '/m/a.onnx' &&
        e.message.startsWith(`/m/a.onnx: the model takes ${input} channels and gives ${output}`),
    );
});

test('a model without traits is taken as RGB', () => {
  assert.deepEqual(modelChannels({}), { input: 3, output: 3 });
});
