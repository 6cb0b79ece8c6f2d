// Activations against PyTorch, and PReLU's arithmetic form against onnxruntime's own PRelu:
// the same values to the bit, on the values where a compare-and-branch could differ.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { casesOf, checkCase, param } from '../nn-vectors';
import { runOnnx } from '../fixtures';
import { GraphBuilder } from '../../models/onnx/graph';
import { GraphContext } from '../../models/nn/context';
import { gelu, leakyRelu, prelu, relu, sigmoid, silu, softmax, tanh } from '../../models/nn/activation';
import type { GraphContext as Ctx } from '../../models/nn/context';

const PLAIN: Record<string, (ctx: Ctx, x: string) => string> = { gelu, silu, sigmoid, tanh, relu };

for (const [layer, fn] of Object.entries(PLAIN)) {
  for (const c of casesOf(layer)) test(`${c.name}`, async () => void (await checkCase(c, fn)));
}

for (const c of casesOf('softmax')) {
  test(`${c.name}`, async () => void (await checkCase(c, (ctx, x) => softmax(ctx, x, param<number>(c, 'axis')))));
}

for (const c of casesOf('leaky_relu')) {
  test(`${c.name}`, async () => void (await checkCase(c, (ctx, x) => leakyRelu(ctx, x, param<number>(c, 'slope')))));
}

for (const c of casesOf('prelu')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) => {
      const slopes = ctx.sd.get('act.weight')?.shape[0] ?? 0;
      return prelu(ctx, x, ctx.weightAs('act.weight', slopes === 1 ? [1] : [slopes, 1, 1]));
    });
  });
}

test("prelu is Relu + slope·Min, with no PRelu node, and gives onnxruntime's PRelu values to the bit but zero's sign", async () => {
  const channels = 3;
  const slopes = Float32Array.from([0.25, -0.5, 1e-3]);
  const build = (arithmetic: boolean): Uint8Array => {
    const g = new GraphBuilder('prelu');
    const ctx = new GraphContext(g, new Map());
    const x = g.input('input', [1, channels, 'h', 'w']);
    const slope = g.initializer('slope', slopes, [channels, 1, 1]);
    g.output(arithmetic ? prelu(ctx, x, slope) : g.op('PRelu', [x, slope]), 'output', [1, channels, 'h', 'w']);
    return g.toBytes();
  };
  const arithmetic = build(true);
  const ops = onnx.ModelProto.decode(arithmetic).graph?.node?.map((n) => n.opType) ?? [];
  assert.ok(!ops.includes('PRelu') && ops.includes('Relu') && ops.includes('Min'), ops.join(', '));
  // Edge values: signed zeros, subnormals, the largest floats, infinities.
  const edges = [
    0,
    -0,
    1e-45,
    -1e-45,
    1.17549435e-38,
    -1.17549435e-38,
    3.4028235e38,
    -3.4028235e38,
    Infinity,
    -Infinity,
  ];
  const values = Float32Array.from({ length: channels * 8 * 9 }, (_, i) => edges[i % edges.length] ?? 0);
  for (let i = edges.length; i < values.length; i++) values[i] = (Math.sin(i * 12.9898) * 43758.5453) % 7;
  const ours = (await runOnnx(arithmetic, values, [1, channels, 8, 9])).data as Float32Array;
  const ort = (await runOnnx(build(false), values, [1, channels, 8, 9])).data as Float32Array;
  // −0 comes out as +0 (Relu(−0) is +0): the same value, and the same pixel once quantised.
  const bits = (a: Float32Array): number[] => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];
  const NEGATIVE_ZERO = 0x80000000;
  const signless = (b: number): number => (b === NEGATIVE_ZERO ? 0 : b);
  assert.deepEqual(bits(ours).map(signless), bits(ort).map(signless));
  assert.ok(
    bits(ort).some((b) => b === NEGATIVE_ZERO),
    'the edge values include a −0 output, so the sign rule is exercised',
  );
});
