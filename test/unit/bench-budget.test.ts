// The budget section's description of what the daemon cut, read from the job's plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTiling } from '../../bench/memory';
import type { PlannedPass } from '../../contract/protocol';

function pass(tiles: number, tileWidth: number, tileHeight: number): PlannedPass {
  return {
    model: 'm',
    scale: 4,
    branch: 'main',
    inputWidth: 2000,
    inputHeight: 2000,
    outputWidth: 8000,
    outputHeight: 8000,
    tileWidth,
    tileHeight,
    overlap: 16,
    columns: tiles,
    rows: 1,
    tiles,
    runs: tiles,
  };
}

test('the tiling of each pass: whole, or how many tiles of which size', () => {
  const plan = (passes: PlannedPass[]) => ({ passes });
  assert.equal(describeTiling(plan([pass(1, 2000, 2000)])), 'whole');
  assert.equal(describeTiling(plan([pass(4, 2000, 532)])), '4 of 2000×532');
  assert.equal(describeTiling(plan([pass(1, 256, 256), pass(9, 400, 400)])), 'whole, then 9 of 400×400');
  assert.equal(describeTiling(undefined), 'unknown');
});
