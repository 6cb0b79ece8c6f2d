// The time-left estimator with an injected clock: tile rates per model, provider, precision
// and tile size, a provider's speed per multiply-accumulate for models never run, and the stages
// around inference, kept as plain data between daemons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JobEta,
  MIN_RATE_PIXELS,
  ThroughputMemory,
  type JobWork,
  type StageWork,
  type ThroughputKey,
} from '../../daemon/engine/eta';

const KEY: ThroughputKey = { model: 'm', provider: 'cpu', precision: 'fp32', tileWidth: 100, tileHeight: 100 };

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Tiles only: no stages around them. */
const tilesOnly = (...groups: { key: ThroughputKey; tiles: number }[]): JobWork => ({
  stages: [],
  tiles: groups.map((g) => ({ ...g, macsPerPixel: null })),
});

test('no estimate before anything is measured; then tiles left × measured time per tile', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const eta = new JobEta(memory, tilesOnly({ key: KEY, tiles: 10 }), c.now);
  assert.equal(eta.etaMs(), undefined);
  c.advance(200);
  eta.tileDone(0);
  assert.equal(eta.etaMs(), 9 * 200);
  c.advance(200);
  eta.tileDone(0);
  assert.equal(eta.etaMs(), 8 * 200);
});

test('a second job with the same key has its estimate from the start', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const first = new JobEta(memory, tilesOnly({ key: KEY, tiles: 4 }), c.now);
  for (let i = 0; i < 4; i++) {
    c.advance(50);
    first.tileDone(0);
  }
  assert.equal(first.etaMs(), 0);
  const second = new JobEta(memory, tilesOnly({ key: KEY, tiles: 6 }, { key: KEY, tiles: 2 }), c.now);
  assert.equal(second.etaMs(), 8 * 50);
});

test('other tile sizes of the same model, provider and precision are estimated by area; other models are not', () => {
  const memory = new ThroughputMemory();
  memory.record(KEY, 100);
  assert.equal(memory.msPerTile({ ...KEY, tileWidth: 200, tileHeight: 100 }), 200);
  assert.equal(memory.msPerTile({ ...KEY, model: 'other' }), undefined);
  assert.equal(memory.msPerTile({ ...KEY, provider: 'cuda' }), undefined);
  assert.equal(memory.msPerTile({ ...KEY, precision: 'fp16' }), undefined, 'fp16 runs at its own rate');
  memory.record({ ...KEY, precision: 'fp16' }, 40);
  assert.equal(memory.msPerTile({ ...KEY, precision: 'fp16' }), 40);
  assert.equal(memory.msPerTile(KEY), 100, 'and leaves the fp32 rate as it was');
  const eta = new JobEta(memory, tilesOnly({ key: { ...KEY, model: 'other' }, tiles: 3 }), () => 0);
  assert.equal(eta.etaMs(), undefined, 'an unknown group leaves the estimate unknown rather than too low');
});

test('a model never run is estimated from the provider speed and its MACs per pixel', () => {
  const memory = new ThroughputMemory();
  const other = { ...KEY, model: 'other' };
  assert.equal(memory.knowsProvider('cpu'), false);
  // A calibration: 1e9 MACs in 100 ms.
  memory.calibrated('cpu', 1e9, 100);
  assert.equal(memory.knowsProvider('cpu'), true);
  assert.equal(memory.knowsProvider('cuda'), false);
  // 2000 MACs per pixel on a 100×100 tile: 2e7 MACs, 2 ms.
  const near = (actual: number | undefined, expected: number) =>
    assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);
  near(memory.msPerTile(other, 2000), 2);
  assert.equal(memory.msPerTile(other), undefined, 'without its MACs a model has no estimate');
  assert.equal(memory.msPerTile({ ...other, provider: 'cuda' }, 2000), undefined);
  // A measured tile of the model wins over the MAC estimate, and itself times the provider.
  memory.record(other, 50, 2000);
  assert.equal(memory.msPerTile(other, 2000), 50);
  assert.ok((memory.msPerTile({ ...KEY, model: 'third' }, 2000) ?? 0) > 2, 'the provider is slower than calibrated');
});

test('tiles smaller than MIN_RATE_PIXELS keep their own rate but set no per-pixel or per-MAC rate', () => {
  const memory = new ThroughputMemory();
  const tiny = { ...KEY, tileWidth: 32, tileHeight: 32 };
  assert.ok(32 * 32 < MIN_RATE_PIXELS);
  memory.record(tiny, 40, 1000);
  assert.equal(memory.msPerTile(tiny), 40);
  assert.equal(memory.msPerTile(KEY), undefined);
  assert.equal(memory.knowsProvider('cpu'), false);
});

test('the running average follows a change in speed, and resetClock leaves non-tile time out', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const eta = new JobEta(memory, tilesOnly({ key: KEY, tiles: 100 }), c.now);
  c.advance(100);
  eta.tileDone(0);
  c.advance(5000); // a pass's setup: not tile time
  eta.resetClock();
  for (let i = 0; i < 30; i++) {
    c.advance(300);
    eta.tileDone(0);
  }
  const perTile = memory.msPerTile(KEY) ?? Number.NaN;
  assert.ok(perTile > 290 && perTile <= 300, String(perTile));
  assert.ok(Math.abs((eta.etaMs() ?? Number.NaN) - 69 * perTile) < 1);
});

test('replanned before its first tile (an alpha plane dropped), the estimate counts the new work and the clock runs on', () => {
  const memory = new ThroughputMemory();
  memory.record(KEY, 100);
  const c = clock();
  const eta = new JobEta(memory, tilesOnly({ key: KEY, tiles: 8 }), c.now);
  assert.equal(eta.etaMs(), 800);
  c.advance(300);
  eta.replan(tilesOnly({ key: KEY, tiles: 4 }));
  assert.equal(eta.etaMs(), 400);
  eta.tileDone(0);
  // The tile took the 300 ms since the tracker was built, not since the replan.
  assert.equal(eta.etaMs(), Math.round(3 * (100 + 0.3 * (300 - 100))));
});

test('the stages around inference count in the estimate: priors first, then what each stage took', () => {
  const memory = new ThroughputMemory();
  memory.record(KEY, 1000);
  const stages: StageWork[] = [
    { stage: 'decode', detail: 'png', units: 1_000_000 },
    { stage: 'load', detail: 'cpu', units: 10_000_000 },
    { stage: 'encode', detail: 'avif', units: 1_000_000 },
  ];
  const priors = stages.map((s) => memory.msForStage(s));
  for (const p of priors) assert.ok(p > 0);
  assert.ok(
    memory.msForStage({ stage: 'encode', detail: 'avif', units: 1 }) >
      10 * memory.msForStage({ stage: 'encode', detail: 'jpg', units: 1 }),
    'AVIF takes far longer to write than JPEG',
  );
  const c = clock();
  const eta = new JobEta(memory, { stages, tiles: [{ key: KEY, tiles: 2, macsPerPixel: null }] }, c.now);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(eta.etaMs(), Math.round(2000 + sum(priors)));
  eta.enter('decode');
  c.advance(70);
  eta.enter('load');
  // Decoding is done and timed: 70 ms for its million pixels.
  assert.equal(memory.msForStage({ stage: 'decode', detail: 'png', units: 2_000_000 }), 140);
  assert.equal(eta.etaMs(), Math.round(2000 + (priors[1] ?? 0) + (priors[2] ?? 0)));
  c.advance(500);
  eta.enter('infer');
  c.advance(1000);
  eta.tileDone(0);
  c.advance(1000);
  eta.tileDone(0);
  assert.equal(eta.etaMs(), Math.round(priors[2] ?? 0), 'only the file is left to write');
  eta.enter('encode');
  c.advance(250);
  eta.enter('done');
  assert.equal(eta.etaMs(), 0);
  assert.equal(memory.msForStage({ stage: 'encode', detail: 'avif', units: 1_000_000 }), 250);
  assert.equal(memory.msForStage({ stage: 'load', detail: 'cpu', units: 10_000_000 }), 500);
});

test('the rates survive as plain data: a memory rebuilt from toData() estimates the same', () => {
  const memory = new ThroughputMemory();
  memory.record(KEY, 120, 500);
  memory.calibrated('webgpu', 1e9, 10);
  memory.recordStage({ stage: 'encode', detail: 'png', units: 1000 }, 5);
  const data = JSON.parse(JSON.stringify(memory.toData())) as ReturnType<ThroughputMemory['toData']>;
  const again = new ThroughputMemory(data);
  assert.equal(again.msPerTile(KEY), 120);
  assert.equal(again.msPerTile({ ...KEY, model: 'new' }, 500), memory.msPerTile({ ...KEY, model: 'new' }, 500));
  assert.equal(again.knowsProvider('webgpu'), true);
  assert.equal(again.msForStage({ stage: 'encode', detail: 'png', units: 2000 }), 10);
  // Values that are not rates are dropped, not trusted.
  const bad = new ThroughputMemory({ tiles: { x: -1, y: Number.NaN }, pixels: {}, macs: { cpu: -5 }, stages: {} });
  assert.deepEqual(bad.toData(), { tiles: {}, pixels: {}, macs: {}, stages: {} });
});

test('a tile under TTA is several model runs: each is timed as its share of the tile', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const eta = new JobEta(memory, tilesOnly({ key: KEY, tiles: 4 * 8 }), c.now);
  c.advance(800);
  eta.tileDone(0, 8);
  assert.equal(memory.msPerTile(KEY), 100);
  assert.equal(eta.etaMs(), 3 * 8 * 100);
});
