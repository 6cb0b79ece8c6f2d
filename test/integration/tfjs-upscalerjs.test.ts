// The twelve UpscalerJS models, converted to ONNX and run with onnxruntime, against the
// same files run by TensorFlow.js itself (CPU backend) with the custom layers registered by
// the model packages' own setup(), and the pixel ranges their model definitions declare.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { convertTfjs } from '../../models/convert/tfjs';
import { BUILTIN_MODELS } from '../../models/builtin';
import { readTfjsModelFiles } from '../../models/readers/tfjs';
import { REPO_ROOT, maxAbsDiff, relativeL2 } from '../fixtures';

/** The parts of an UpscalerJS model definition (its package's CommonJS export) used here. */
interface UpscalerjsDefinition {
  readonly scale: number;
  readonly inputRange: readonly [number, number];
  readonly outputRange: readonly [number, number];
  readonly setup?: (library: typeof tf) => void;
}

function definitionOf(pkg: string, scale: number): UpscalerjsDefinition {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(`@upscalerjs/${pkg}`) as Record<string, unknown>;
  const definition = exported[`x${scale}`] as UpscalerjsDefinition | undefined;
  if (!definition || definition.scale !== scale)
    throw new Error(`@upscalerjs/${pkg} exports no x${scale} model definition`);
  return definition;
}

/** Input values shared by both runtimes: a fixed pseudo-random image, NCHW in [0, 1]. */
function randomImage(height: number, width: number): Float32Array {
  const data = new Float32Array(3 * height * width);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = (state >>> 8) / 2 ** 24;
  }
  return data;
}

interface ModelJson {
  readonly modelTopology: object;
  readonly format: string;
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly tf.io.WeightsManifestEntry[];
  }[];
}

/** Loads the package's files straight into TF.js, not through the reader under test. */
async function runTfjs(
  modelJsonPath: string,
  definition: UpscalerjsDefinition,
  input: Float32Array,
  height: number,
  width: number,
): Promise<Float32Array> {
  const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  const dir = path.dirname(modelJsonPath);
  const weightData = Buffer.concat(
    json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))),
  );
  definition.setup?.(tf);
  const model = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  });
  const result = tf.tidy(() => {
    const nchw = tf.tensor4d(input, [1, 3, height, width]);
    const x = tf.mul(tf.transpose(nchw, [0, 2, 3, 1]), definition.inputRange[1]);
    const y = model.predict(x) as tf.Tensor4D;
    return tf.transpose(tf.clipByValue(tf.div(y, definition.outputRange[1]), 0, 1), [0, 3, 1, 2]);
  });
  const data = (await result.data()) as Float32Array;
  result.dispose();
  model.dispose();
  return data;
}

const HEIGHT = 12;
const WIDTH = 16;

test('TF.js reference backend', async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  assert.equal(tf.getBackend(), 'cpu');
});

for (const pkg of ['esrgan-slim', 'esrgan-medium', 'esrgan-thick']) {
  for (const scale of [2, 3, 4, 8]) {
    test(`${pkg} x${scale}: the converted model matches TensorFlow.js`, async (t) => {
      // Converted as setup-models converts the built-in, so builtin.ts's ranges are checked
      // against the package's own definition by the numbers below.
      const builtin = BUILTIN_MODELS.find((m) => m.id === `upscalerjs-${pkg}-x${scale}`);
      assert.ok(
        builtin && builtin.source.kind === 'tfjs',
        `builtin.ts lists upscalerjs-${pkg}-x${scale} as a TF.js model`,
      );
      assert.equal(builtin.scale, scale);
      assert.equal(builtin.source.package, `@upscalerjs/${pkg}`);
      const modelJsonPath = path.join(REPO_ROOT, 'node_modules', builtin.source.package, builtin.source.modelJson);
      const definition = definitionOf(pkg, scale);
      assert.deepEqual([definition.inputRange[0], definition.outputRange[0]], [0, 0], 'UpscalerJS ranges start at 0');
      const files = await readTfjsModelFiles(modelJsonPath);
      const ranges = { inputMax: builtin.source.inputMax, outputMax: builtin.source.outputMax };
      const onnx = convertTfjs(Buffer.from(files.modelJson).toString('utf8'), files.shards, ranges, `${pkg}/x${scale}`);

      const session = await ort.InferenceSession.create(onnx);
      assert.deepEqual(session.inputNames, ['input']);
      assert.deepEqual(session.outputNames, ['output']);
      const input = randomImage(HEIGHT, WIDTH);
      const result = await session.run({ input: new ort.Tensor('float32', input, [1, 3, HEIGHT, WIDTH]) });
      const output = result['output'];
      assert.ok(output);
      assert.deepEqual(output.dims, [1, 3, HEIGHT * scale, WIDTH * scale]);
      const actual = output.data as Float32Array;

      const reference = await runTfjs(modelJsonPath, definition, input, HEIGHT, WIDTH);
      const relative = relativeL2(actual, reference);
      const maxAbs = maxAbsDiff(actual, reference);
      // Both sides clip to [0, 1]; a model saturating everywhere would match trivially.
      const inRange = reference.filter((v) => v > 0 && v < 1).length / reference.length;
      t.diagnostic(
        `ranges in ${ranges.inputMax} out ${ranges.outputMax}; ONNX ${(onnx.length / 1e6).toFixed(2)} MB; ` +
          `relative L2 ${relative.toExponential(3)}; max abs ${maxAbs.toExponential(3)}; ${(inRange * 100).toFixed(1)}% of reference values inside (0, 1)`,
      );
      assert.ok(relative < 1e-4, `relative L2 error ${relative} should be below 1e-4`);
      assert.ok(
        inRange > 0.5,
        `only ${inRange} of the reference values are unclipped; the comparison would say little`,
      );
    });
  }
}
