import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import { graphCost } from '../../models/onnx/graph-cost';
import { AUTO_MAX_CORE, MIN_AUTO_CORE, chooseTile, memoryBudgetBytes } from '../../daemon/engine/tile-size';

function conv(g: GraphBuilder, x: string, out: number, inC: number): string {
  return g.op(
    'Conv',
    [x, g.f32('w', new Float32Array(out * inC * 9), [out, inC, 3, 3]), g.f32('b', new Float32Array(out), [out])],
    { pads: attr.ints([1, 1, 1, 1]) },
  );
}

test('a conv chain peaks where a tensor and the next are both alive', () => {
  const g = new GraphBuilder('chain');
  const x = g.input('input', [1, 3, 'h', 'w']);
  const a = conv(g, x, 16, 3); // 3 + 16 live
  const b = g.op('Relu', [a]); // 16 + 16
  const c = conv(g, b, 8, 16); // 16 + 8
  g.output(c, 'output', [1, 8, 'h', 'w']);
  assert.equal(graphCost(g.toBytes(), 'chain').activationBytesPerPixel, 4 * 32);
  // Each convolution's weights once per output pixel: 16·3·9 + 8·16·9.
  assert.equal(graphCost(g.toBytes(), 'chain').macsPerPixel, 432 + 1152);
});

test('concatenation adds channels; upsampling and depth-to-space change the area', () => {
  const g = new GraphBuilder('shapes');
  const x = g.input('input', [1, 3, 'h', 'w']);
  const a = conv(g, x, 8, 3);
  const cat = g.op('Concat', [x, a], { axis: attr.int(1) }); // 3 + 8 + 11 = 22 channels live
  const up = g.op('Resize', [cat, '', g.f32('scales', [1, 1, 2, 2])], { mode: attr.string('nearest') }); // 11 x 4 = 44 (+ 11)
  const d = conv(g, up, 12, 11); // 44 + 48
  const s = g.op('DepthToSpace', [d], { blocksize: attr.int(2) }); // 3 channels x 16 area = 48 (+ 48)
  g.output(s, 'output', [1, 3, 'h4', 'w4']);
  assert.equal(graphCost(g.toBytes(), 'shapes').activationBytesPerPixel, 4 * 96);
  // The second convolution runs on four times the input's area.
  assert.equal(graphCost(g.toBytes(), 'shapes').macsPerPixel, 8 * 3 * 9 + 12 * 11 * 9 * 4);
});

test('a graph with operators it does not follow has no estimate', () => {
  const g = new GraphBuilder('attention');
  const x = g.input('input', [1, 3, 'h', 'w']);
  const t = g.op('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) });
  g.output(t, 'output', [1, 'h', 'w', 3]);
  assert.equal(graphCost(g.toBytes(), 'attention').activationBytesPerPixel, null);
  assert.equal(graphCost(g.toBytes(), 'attention').macsPerPixel, null, 'no weights, no compute to count');
});

test("a graph it does not follow counts each weight once, a transformer's linear layers per token", () => {
  const g = new GraphBuilder('tokens');
  const x = g.input('input', [1, 3, 'h', 'w']);
  const t = g.op('Transpose', [x], { perm: attr.ints([0, 2, 3, 1]) });
  const m = g.op('MatMul', [t, g.f32('w', new Float32Array(3 * 5), [3, 5])]);
  const b = g.op('Add', [m, g.f32('bias', new Float32Array(5), [5])]);
  g.output(b, 'output', [1, 'h', 'w', 5]);
  assert.deepEqual(graphCost(g.toBytes(), 'tokens'), { activationBytesPerPixel: null, macsPerPixel: 15 });
});

test('automatic tiles shrink for heavy models on small machines, within their bounds', () => {
  const GiB = 2 ** 30;
  const tileCore = (bytesPerPixel: number | null, memory: number) => {
    const t = chooseTile(undefined, 1024, 1024, 16, {
      bytesPerPixel,
      budgetBytes: memoryBudgetBytes(undefined, memory),
    });
    // The side of a square with the tile's area: an axis the tile spans is the image's.
    return Math.round(Math.sqrt((t.width || 1024 + 32) * (t.height || 1024 + 32))) - 32;
  };
  assert.equal(tileCore(null, 8 * GiB), AUTO_MAX_CORE, 'unknown models keep the plain limit');
  assert.equal(tileCore(576, 8 * GiB), 1024, 'the compact model runs 1024² whole in a third of 8 GiB');
  const heavy = tileCore(8192, 8 * GiB);
  assert.ok(heavy < AUTO_MAX_CORE && heavy > 256, `x4plus on 8 GiB: ${heavy}`);
  assert.ok(tileCore(8192, 24 * GiB) > heavy);
  assert.ok(tileCore(1e9, 1 * GiB) <= MIN_AUTO_CORE + 1);
});
