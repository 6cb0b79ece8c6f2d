// SRVGGNetCompact's activation: which one the weights decide, which one is assumed and when
// the user's choice is refused (pure), the warning's words, and the choice carried through
// detection into the built graph (LeakyRelu with alpha 0.1).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { activationWarnings, resolveActivation } from '../../models/architectures/compact/activation';
import { compact, type CompactConfig } from '../../models/architectures/compact';
import { describeConfig } from '../../models/architectures/detect';
import { readSafetensors } from '../../models/readers/safetensors';
import { FIXTURES_DIR } from '../fixtures';
import { tinyWeights } from '../srvgg-leaky';

test('without PReLU slopes: ReLU is assumed unless the user says relu or leakyrelu; prelu is refused', () => {
  assert.deepEqual(resolveActivation(false, undefined), { activation: 'relu', source: 'assumed' });
  assert.deepEqual(resolveActivation(false, 'relu'), { activation: 'relu', source: 'user' });
  assert.deepEqual(resolveActivation(false, 'leakyrelu'), { activation: 'leakyrelu', source: 'user' });
  assert.throws(
    () => resolveActivation(false, 'prelu'),
    /^Error: SRVGGNetCompact: activation 'prelu' was asked for, but the weights hold no PReLU slopes .*: choose relu or leakyrelu$/,
  );
});

test('with PReLU slopes: the weights decide; relu or leakyrelu contradicts them and is refused', () => {
  assert.deepEqual(resolveActivation(true, undefined), { activation: 'prelu', source: 'weights' });
  assert.deepEqual(resolveActivation(true, 'prelu'), { activation: 'prelu', source: 'weights' });
  for (const requested of ['relu', 'leakyrelu'] as const) {
    assert.throws(
      () => resolveActivation(true, requested),
      new RegExp(
        `^Error: SRVGGNetCompact: activation '${requested}' was asked for, but the weights hold PReLU slopes .*trained with PReLU`,
      ),
    );
  }
});

test('the warning names the file, the assumption and how to override it; only an assumption warns', () => {
  assert.deepEqual(activationWarnings('/models/4x-foo.pth', 'assumed', 'import'), [
    '4x-foo.pth: SRVGGNetCompact weights do not say which activation was trained; assuming ReLU. ' +
      'If the model was trained with LeakyReLU or the output looks wrong, import it again choosing LeakyReLU (upscale models import FILE --activation leakyrelu; in VS Code, Import Model… asks).',
  ]);
  assert.match(
    activationWarnings('x.safetensors', 'assumed', 'convert')[0] ?? '',
    /, convert it again with --activation leakyrelu\.$/,
  );
  for (const source of ['weights', 'user', undefined] as const)
    assert.deepEqual(activationWarnings('x.pth', source, 'import'), []);
});

function graphOps(model: Uint8Array): onnx.INodeProto[] {
  return onnx.ModelProto.decode(model).graph?.node ?? [];
}

/** The configuration with the user's activation and the registry's view of it, as the importer makes them. */
function choose(config: CompactConfig, activation: 'relu' | 'leakyrelu' | 'prelu') {
  assert.ok(compact.chooseActivation, 'Compact takes a choice of activation');
  const chosen = compact.chooseActivation(config, activation);
  return { config: chosen, info: describeConfig(compact, chosen) };
}

test('reading reports an assumed ReLU; choosing LeakyReLU builds LeakyRelu nodes with alpha 0.1', () => {
  const sd = tinyWeights();
  const config = compact.readConfig(sd);
  const info = describeConfig(compact, config);
  assert.deepEqual(info.activation, { activation: 'relu', source: 'assumed' });
  assert.equal(config.activation, 'relu');
  assert.match(info.variant, /relu, assumed\)$/);

  const chosen = choose(config, 'leakyrelu');
  assert.deepEqual(chosen.info.activation, { activation: 'leakyrelu', source: 'user' });
  assert.equal(chosen.info.params['act_type'], 'leakyrelu');
  assert.equal(chosen.config.activation, 'leakyrelu');
  const ops = graphOps(compact.build(sd, chosen.config));
  const leaky = ops.filter((n) => n.opType === 'LeakyRelu');
  // One after every conv but the last: the first conv and num_conv more.
  assert.equal(leaky.length, 3);
  assert.equal(ops.filter((n) => n.opType === 'Relu').length, 0);
  for (const n of leaky)
    assert.ok(Math.abs((n.attribute?.find((a) => a.name === 'alpha')?.f ?? 0) - 0.1) < 1e-7, 'alpha 0.1');
  assert.throws(() => choose(config, 'prelu'), /activation 'prelu' was asked for/);
});

test('the PReLU fixture: the weights decide, and a contradicting choice is refused', () => {
  const file = path.join(FIXTURES_DIR, 'arch', 'srvgg_x4', 'srvgg_x4.safetensors');
  const config = compact.readConfig(readSafetensors(new Uint8Array(fs.readFileSync(file)), file));
  const info = describeConfig(compact, config);
  assert.deepEqual(info.activation, { activation: 'prelu', source: 'weights' });
  assert.equal(info.variant, 'SRVGGNetCompact (4 convs, prelu)');
  assert.deepEqual(choose(config, 'prelu').info.activation, {
    activation: 'prelu',
    source: 'weights',
  });
  assert.throws(
    () => choose(config, 'leakyrelu'),
    /activation 'leakyrelu' was asked for, but the weights hold PReLU slopes/,
  );
});
