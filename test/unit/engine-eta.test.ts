// The ETA estimator with an injected clock: rates per model, provider, precision and tile size, kept
// across jobs, so a second job's estimate is right before its first tile finishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtaTracker, ThroughputMemory, type ThroughputKey } from '../../daemon/engine/eta';

const KEY: ThroughputKey = { model: 'm', provider: 'webgpu', precision: 'fp32', tileWidth: 100, tileHeight: 100 };

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

test('no estimate before anything is measured; then tiles left x measured time per tile', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const eta = new EtaTracker(memory, [{ key: KEY, tiles: 10 }], c.now);
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
  const first = new EtaTracker(memory, [{ key: KEY, tiles: 4 }], c.now);
  for (let i = 0; i < 4; i++) {
    c.advance(50);
    first.tileDone(0);
  }
  assert.equal(first.etaMs(), 0);
  const second = new EtaTracker(
    memory,
    [
      { key: KEY, tiles: 6 },
      { key: KEY, tiles: 2 },
    ],
    c.now,
  );
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
  const eta = new EtaTracker(memory, [{ key: { ...KEY, model: 'other' }, tiles: 3 }], () => 0);
  assert.equal(eta.etaMs(), undefined, 'an unknown group leaves the estimate unknown rather than too low');
});

test('the running average follows a change in speed, and resetClock leaves non-tile time out', () => {
  const memory = new ThroughputMemory();
  const c = clock();
  const eta = new EtaTracker(memory, [{ key: KEY, tiles: 100 }], c.now);
  c.advance(100);
  eta.tileDone(0);
  c.advance(5000); // loading, decoding: not tile time
  eta.resetClock();
  for (let i = 0; i < 30; i++) {
    c.advance(300);
    eta.tileDone(0);
  }
  const perTile = memory.msPerTile(KEY) as number;
  assert.ok(perTile > 290 && perTile <= 300, String(perTile));
  assert.ok(Math.abs((eta.etaMs() as number) - 69 * perTile) < 1);
});

test('replanned before its first tile (an alpha plane dropped), the estimate counts the new work and the clock runs on', () => {
  const memory = new ThroughputMemory();
  memory.record(KEY, 100);
  const c = clock();
  const eta = new EtaTracker(memory, [{ key: KEY, tiles: 8 }], c.now);
  assert.equal(eta.etaMs(), 800);
  c.advance(300);
  eta.replan([{ key: KEY, tiles: 4 }]);
  assert.equal(eta.etaMs(), 400);
  eta.tileDone(0);
  // The tile took the 300 ms since the tracker was built, not since the replan.
  assert.equal(eta.etaMs(), Math.round(3 * (100 + 0.3 * (300 - 100))));
});
