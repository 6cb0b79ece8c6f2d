// Padding to a multiple inside the graph, to spandrel's size requirements (its call API's
// pad_tensor), and Real-CUGAN's border padding and cropping,
// against PyTorch's F.pad (reflect, replicate, zero; negative pads crop) and numpy's pad where F.pad has no such mode (symmetric, which torch.flip + cat
// gives) or refuses (reflection longer than the axis, which the graph keeps folding).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { casesOf, checkCase, param } from '../nn-vectors';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../models/onnx/graph';
import { GraphContext } from '../../models/nn/context';
import {
  cropBorder,
  cropTo,
  padBorder,
  padToMultiple,
  padToRequirement,
  runtimeDim,
  type PadMode,
} from '../../models/nn/shape';

for (const c of casesOf('pad_to_multiple')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) =>
      padToMultiple(ctx, x, 'nchw', param<number>(c, 'multiple'), param<PadMode>(c, 'mode')),
    );
  });
}

for (const c of casesOf('pad_border')) {
  test(`${c.name}`, async () => {
    const pad = {
      before: param<number>(c, 'before'),
      after: param<number>(c, 'after'),
      multiple: param<number>(c, 'multiple'),
    };
    await checkCase(c, (ctx, x) => padBorder(ctx, x, pad, param<PadMode>(c, 'mode')));
  });
}

for (const c of casesOf('crop_border')) {
  test(`${c.name}`, async () => {
    await checkCase(c, (ctx, x) => cropBorder(ctx, x, param<number>(c, 'k')));
  });
}

test('padding an NHWC map pads axes 1 and 2; cropping back returns the input exactly', async () => {
  const g = new GraphBuilder('pad_crop');
  const ctx = new GraphContext(g, new Map());
  const x = g.input('input', [1, 'h', 'w', 2]);
  const padded = padToMultiple(ctx, x, 'nhwc', 4, 'zero');
  const back = cropTo(ctx, padded, 1, runtimeDim(ctx, x, 1), runtimeDim(ctx, x, 2));
  g.output(back, 'output', [1, 'h', 'w', 2]);
  g.output(padded, 'padded', [1, 'ph', 'pw', 2]);
  const input = Float32Array.from({ length: 5 * 7 * 2 }, (_, i) => i + 1);
  const session = await ort.InferenceSession.create(g.toBytes());
  try {
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, 5, 7, 2]) });
    assert.deepEqual(out['padded']?.dims, [1, 8, 8, 2]);
    const paddedValues = out['padded']?.data as Float32Array;
    // Row 6 (past the 5 input rows) is zero; row 0, column 7 (past the 7 columns) too.
    assert.equal(paddedValues[(6 * 8 + 3) * 2], 0);
    assert.equal(paddedValues[7 * 2], 0);
    assert.deepEqual(out['output']?.dims, [1, 5, 7, 2]);
    assert.deepEqual(Array.from(out['output']?.data as Float32Array), Array.from(input));
  } finally {
    await session.release();
  }
});

for (const c of casesOf('pad_to_requirement')) {
  test(`pad_to_requirement: ${c.name}`, async () => {
    const [minimum, multiple] = [param<number>(c, 'minimum'), param<number>(c, 'multiple')];
    await checkCase(c, (ctx, x) => padToRequirement(ctx, x, minimum, multiple));
  });
}
