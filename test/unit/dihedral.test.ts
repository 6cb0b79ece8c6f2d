// The eight symmetries and test-time augmentation, with fake models and no I/O: every
// symmetry is undone exactly, the eight are distinct, the turns go the way their names say,
// an equivariant model is unchanged by TTA, a model that is not gets the mean of its runs,
// and a cancel stops between runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDihedral, DIHEDRAL, ttaTransforms, undoDihedral } from '../../daemon/engine/dihedral';
import { ttaInference } from '../../daemon/engine/tta';
import type { TileInference } from '../../daemon/engine/tiled-pass';
import type { PlanarImage } from '../../daemon/image/types';
import { isCancelled } from '../../contract/errors';

/** A 5x3 image, 2 channels, every sample different. */
function ramp(width = 5, height = 3, channels = 2): PlanarImage {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = i + 1;
  return { width, height, channels, data };
}

function byName(name: string) {
  const t = DIHEDRAL.find((d) => d.name === name);
  assert.ok(t, name);
  return t;
}

test('each of the eight symmetries is undone exactly, and transposing ones swap the sides', () => {
  const img = ramp();
  for (const t of DIHEDRAL) {
    const seen = applyDihedral(img, t);
    assert.deepEqual([seen.width, seen.height], t.transpose ? [3, 5] : [5, 3], t.name);
    const back = undoDihedral(seen, t);
    assert.deepEqual([back.width, back.height, back.channels], [5, 3, 2], t.name);
    assert.deepEqual(Array.from(back.data), Array.from(img.data), t.name);
  }
});

test('the eight symmetries give eight different images, and each keeps every sample', () => {
  const img = ramp(4, 4, 1);
  const seen = DIHEDRAL.map((t) => Array.from(applyDihedral(img, t).data).join(','));
  assert.equal(new Set(seen).size, 8);
  for (const s of seen)
    assert.deepEqual(
      s
        .split(',')
        .map(Number)
        .sort((a, b) => a - b),
      Array.from(img.data),
    );
});

test('the turns and flips go the way their names say', () => {
  // a b
  // c d
  const img: PlanarImage = { width: 2, height: 2, channels: 1, data: Float32Array.from([1, 2, 3, 4]) };
  const cases: [string, number[]][] = [
    ['identity', [1, 2, 3, 4]],
    ['flip horizontal', [2, 1, 4, 3]],
    ['flip vertical', [3, 4, 1, 2]],
    ['rotate 180', [4, 3, 2, 1]],
    ['transpose', [1, 3, 2, 4]],
    ['rotate 90 anticlockwise', [2, 4, 1, 3]],
    ['rotate 90 clockwise', [3, 1, 4, 2]],
    ['anti-transpose', [4, 2, 3, 1]],
  ];
  for (const [name, expected] of cases)
    assert.deepEqual(Array.from(applyDihedral(img, byName(name)).data), expected, name);
  let turned = img;
  for (let i = 0; i < 4; i++) turned = applyDihedral(turned, byName('rotate 90 clockwise'));
  assert.deepEqual(Array.from(turned.data), [1, 2, 3, 4]);
});

test('TTA levels: 2 is identity and the horizontal flip, 4 keeps the tile shape, 8 is all', () => {
  assert.deepEqual(
    ttaTransforms(2).map((t) => t.name),
    ['identity', 'flip horizontal'],
  );
  assert.ok(ttaTransforms(4).every((t) => !t.transpose));
  assert.equal(ttaTransforms(8).length, 8);
  assert.equal(ttaTransforms(1).length, 1);
});

/** Nearest-neighbour x2: commutes with every symmetry. */
const nearest2: TileInference = async (t) => {
  const w = t.width * 2;
  const h = t.height * 2;
  const data = new Float32Array(t.channels * w * h);
  for (let c = 0; c < t.channels; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        data[(c * h + y) * w + x] = t.data[(c * t.height + (y >> 1)) * t.width + (x >> 1)] ?? NaN;
  return { width: w, height: h, channels: t.channels, data };
};

/** x1, adding the column index: what it adds depends on which way the tile faces. */
function addColumn(runs: { count: number }): TileInference {
  return async (t) => {
    runs.count++;
    const data = Float32Array.from(t.data, (v, i) => v + (i % t.width));
    return { ...t, data };
  };
}

const never = new AbortController().signal;

test('an equivariant model is unchanged by TTA at every level', async () => {
  const img = ramp(6, 4, 3);
  const plain = await nearest2(img);
  for (const level of [2, 4, 8] as const) {
    const out = await ttaInference(nearest2, level, never)(img);
    assert.deepEqual([out.width, out.height], [12, 8]);
    assert.deepEqual(Array.from(out.data), Array.from(plain.data), `level ${level}`);
  }
});

test('a model that is not equivariant gets the mean of its runs, each turned back', async () => {
  const img = ramp(6, 4, 1);
  for (const [level, added] of [
    [2, (6 - 1) / 2],
    [4, (6 - 1) / 2],
    // Four runs see the columns, four the rows.
    [8, (6 - 1) / 4 + (4 - 1) / 4],
  ] as const) {
    const runs = { count: 0 };
    const out = await ttaInference(addColumn(runs), level, never)(img);
    assert.equal(runs.count, level);
    assert.deepEqual([out.width, out.height], [6, 4]);
    out.data.forEach((v, i) =>
      assert.ok(Math.abs(v - ((img.data[i] ?? NaN) + added)) < 1e-5, `level ${level} at ${i}`),
    );
  }
});

test('a cancel during a TTA run stops before the next run', async () => {
  const controller = new AbortController();
  const runs = { count: 0 };
  const inner = addColumn(runs);
  const infer: TileInference = async (t) => {
    controller.abort();
    return inner(t);
  };
  await assert.rejects(ttaInference(infer, 8, controller.signal)(ramp()), (e) => isCancelled(e));
  assert.equal(runs.count, 1);
});
