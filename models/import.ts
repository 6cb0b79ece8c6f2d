// Turning a user's model file into an entry of the models folder: recognise the file by its
// content, convert it to ONNX (or validate it, for ONNX), check the result runs and scales as
// detected, then write `<id>.onnx` and `<id>.json` so that a crash or a failure at any point
// leaves either the complete model or nothing.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Activation } from '../contract/vocabulary';
import { describeArch, describeConfig, detectArchitecture, type ArchInfo, type Detected } from './architectures/detect';
import { readPthBytes } from './readers/pth';
import { readSafetensors } from './readers/safetensors';
import { convertNcnn } from './convert/ncnn';
import { NCNN_PARAM_MAGIC } from './readers/ncnn-param';
import { firstNonFinite, probeModel, validateOnnxBytes } from './onnx/validate';
import { readTfjsModelFiles } from './readers/tfjs';
import { convertTfjs } from './convert/tfjs';
import type { StateDict } from './weights/state-dict';
import { BUILTIN_MODELS } from './builtin';
import { CONVERTER_VERSION, metadataPath, onnxPath, type ModelRecord, type RegisteredModel } from './registry';
import { isValidModelId } from '../contract/catalogue';
import { DaemonError, WRITE_FAILURES } from '../contract/errors';
import { renameIntoPlace } from '../platform/rename';
import { graphCost } from './onnx/graph-cost';
import type { OnnxIo } from './onnx/image-io';
import { activationWarnings } from './architectures/compact/activation';

export type ModelFileKind = 'pytorch' | 'safetensors' | 'onnx' | 'ncnn-param';

/** safetensors caps its JSON header at 100 MB; a larger length field means another format. */
const SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024;
/** IR versions 1..11 exist today; a little headroom for newer exporters. */
const MAX_ONNX_IR_VERSION = 15;

/**
 * What kind of model file these leading bytes start, or null. Pure. Decided by content: a
 * renamed file is still read as what it is.
 */
export function sniffModelKind(head: Uint8Array): ModelFileKind | null {
  const second = head[1] ?? -1;
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    return 'pytorch';
  // Pickle PROTO opcode with a protocol torch.save uses (legacy .pth files).
  if (head.length >= 2 && head[0] === 0x80 && second >= 2 && second <= 5) return 'pytorch';
  if (head.length >= 9 && head[8] === 0x7b) {
    const headerLength = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
    if (headerLength >= 2n && headerLength <= BigInt(SAFETENSORS_MAX_HEADER)) return 'safetensors';
  }
  const text = Buffer.from(head.subarray(0, 32))
    .toString('latin1')
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart();
  if (text.startsWith(String(NCNN_PARAM_MAGIC))) return 'ncnn-param';
  // ModelProto field 1 (ir_version, varint) comes first in every encoder's output.
  if (head.length >= 2 && head[0] === 0x08 && second >= 1 && second <= MAX_ONNX_IR_VERSION) return 'onnx';
  return null;
}

/** A TF.js layers model.json: a JSON object with a model topology and a weights manifest. Pure. */
export function looksLikeTfjsModel(bytes: Uint8Array): boolean {
  if (bytes.length > 64 * 1024 * 1024 || Buffer.from(bytes.subarray(0, 16)).toString('latin1').trimStart()[0] !== '{')
    return false;
  try {
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    return typeof json.modelTopology === 'object' && Array.isArray(json.weightsManifest);
  } catch {
    return false;
  }
}

/** A short description of unrecognised leading bytes, for the error message. Pure. */
export function describeLeadingBytes(head: Uint8Array, fileSize: number): string {
  if (fileSize === 0) return 'an empty file';
  const sample = head.subarray(0, 24);
  const printable = sample.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f));
  const shown = printable
    ? `text starting "${Buffer.from(sample).toString('latin1').replace(/\s+/g, ' ').trim()}"`
    : `bytes ${Buffer.from(head.subarray(0, 8))
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 ')}`;
  return `${shown} (${fileSize} bytes)`;
}

export interface ConvertedModel {
  readonly onnx: Uint8Array;
  readonly info: ArchInfo;
  readonly sourceSha256: string;
  /** An ONNX file's own input and output, layout, element type and fixed size; absent for Upscale's own graphs. */
  readonly io?: OnnxIo;
}

function sha256(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** NaN or Inf in the weights would only show up later as black tiles; refuse them here. */
function checkWeightsFinite(sd: StateDict, label: string): void {
  for (const [key, t] of sd) {
    if (!(t.data instanceof Float32Array)) continue;
    const bad = firstNonFinite(t.data);
    if (bad)
      throw new Error(`${label}: tensor '${key}' holds ${bad.kind} at element ${bad.index}; the weights are damaged`);
  }
}

/** What the user may decide that the file cannot. */
export interface ConvertOptions {
  /** SRVGGNetCompact without PReLU slopes: the activation it was trained with (default ReLU, assumed). */
  readonly activation?: Activation;
}

/** The refusal of a choice of activation for a file whose graph or architecture fixes its activations. */
function activationRefused(label: string, what: string, activation: Activation): Error {
  return new Error(
    `${label}: activation '${activation}' applies only to Real-ESRGAN SRVGGNetCompact weights (.pth, .safetensors), ` +
      `whose activation the weights may not tell; this is ${what}, whose activations are fixed`,
  );
}

/** The detection with the user's activation applied, checked against the weights. */
function withActivation(detected: Detected, label: string, activation: Activation | undefined): Detected {
  if (activation === undefined) return detected;
  const { module } = detected;
  if (!module.chooseActivation) throw activationRefused(label, describeArch(detected.info), activation);
  try {
    const config = module.chooseActivation(detected.config, activation);
    return { module, config, info: describeConfig(module, config) };
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}

async function convertStateDict(
  sd: StateDict,
  label: string,
  activation: Activation | undefined,
): Promise<{ onnx: Uint8Array; info: ArchInfo }> {
  checkWeightsFinite(sd, label);
  const detected = withActivation(detectArchitecture(sd, label), label, activation);
  const onnx = detected.module.build(sd, detected.config);
  // The graph is ours, but running it once catches a converter bug before the user's images do.
  const probed = await probeModel(
    onnx,
    `${label} (converted as ${describeArch(detected.info)})`,
    detected.info.traits?.channels,
  );
  if (probed.scale !== detected.info.scale) {
    throw new Error(
      `${label}: the converted ${detected.module.label} model upscales by ${probed.scale} but the weights say ${detected.info.scale}; this is a converter bug, please report it`,
    );
  }
  return { onnx, info: detected.info };
}

function genericInfo(variant: string, scale: number, inputMultiple: number, params: ArchInfo['params']): ArchInfo {
  // The family cannot be read from a finished graph; Real-ESRGAN is by far the most common
  // source of ready-made ncnn and ONNX upscalers, and the variant says what is really known.
  return { family: 'real-esrgan', variant, scale, inputMultiple, params };
}

/** How an ONNX file is described in lists: its opset, and what sets it apart from Upscale's own graphs. Pure. */
export function onnxVariant(opset: number, io: OnnxIo): string {
  const traits = [
    `opset ${opset}`,
    io.element === 'float16' ? 'fp16' : '',
    io.layout === 'nhwc' ? 'NHWC' : '',
    io.fixedSize ? `fixed ${io.fixedSize.width}x${io.fixedSize.height} input` : '',
  ].filter((t) => t !== '');
  return `ONNX model (${traits.join(', ')})`;
}

/**
 * TF.js layers models do not record the pixel range they expect. UpscalerJS, where such
 * models come from, feeds most of its models pixels in [0, 255], so that is assumed; its
 * conv + ReLU networks with small biases give nearly the same output either way (the
 * mean difference measured on its x2/x4 models is below 0.001).
 */
const TFJS_ASSUMED_PIXEL_MAX = 255;

async function convertTfjsFile(modelJsonPath: string): Promise<ConvertedModel> {
  const files = await readTfjsModelFiles(modelJsonPath);
  const range = { inputMax: TFJS_ASSUMED_PIXEL_MAX, outputMax: TFJS_ASSUMED_PIXEL_MAX };
  const onnx = convertTfjs(Buffer.from(files.modelJson).toString('utf8'), files.shards, range, modelJsonPath);
  const { scale, inputMultiple } = await probeModel(onnx, modelJsonPath);
  return {
    onnx,
    info: {
      family: 'esrgan',
      variant: `TF.js layers model (${path.basename(path.dirname(modelJsonPath))}), pixels assumed in [0, ${TFJS_ASSUMED_PIXEL_MAX}]`,
      scale,
      inputMultiple,
      params: { format: 'tfjs', pixelMax: TFJS_ASSUMED_PIXEL_MAX },
    },
    sourceSha256: sha256(files.modelJson, ...files.shards.values()),
  };
}

async function convertNcnnFile(paramPath: string, paramBytes: Uint8Array): Promise<ConvertedModel> {
  const binPath = paramPath.replace(/\.param$/i, '') + '.bin';
  let bin: Uint8Array;
  try {
    bin = await fs.readFile(binPath);
  } catch {
    throw new Error(
      `${paramPath}: this is an ncnn .param file, but its weights '${binPath}' were not found; put the .bin with the same name beside it`,
    );
  }
  const onnx = convertNcnn(Buffer.from(paramBytes).toString('utf8'), bin, paramPath);
  const { scale, inputMultiple } = await probeModel(onnx, paramPath);
  return {
    onnx,
    info: genericInfo(`ncnn model (${path.basename(paramPath)}), converted`, scale, inputMultiple, { format: 'ncnn' }),
    sourceSha256: sha256(paramBytes, bin),
  };
}

/**
 * Reads any supported model file and returns it as ONNX with what was learned about it.
 * ONNX files are validated and passed through unchanged (external data, if any, embedded).
 */
export async function convertModel(modelPath: string, options: ConvertOptions = {}): Promise<ConvertedModel> {
  // A device or pipe (/dev/zero, a FIFO) would be read without end.
  const stat = await fs.stat(modelPath);
  if (!stat.isFile())
    throw new Error(`${modelPath}: is not a regular file (a folder, device or pipe); expected a model file`);
  const bytes = await fs.readFile(modelPath);
  // Some exporters order ONNX fields differently; the extension then decides, and the
  // ONNX reader gives the precise error if the content disagrees.
  const kind = sniffModelKind(bytes.subarray(0, 64)) ?? (/\.onnx$/i.test(modelPath) ? 'onnx' : null);
  const { activation } = options;
  switch (kind) {
    case 'pytorch':
    case 'safetensors': {
      const sd = kind === 'pytorch' ? readPthBytes(bytes, modelPath) : readSafetensors(bytes, modelPath);
      return { ...(await convertStateDict(sd, modelPath, activation)), sourceSha256: sha256(bytes) };
    }
    case 'ncnn-param':
      if (activation !== undefined) throw activationRefused(modelPath, 'an ncnn model', activation);
      return convertNcnnFile(modelPath, bytes);
    case 'onnx': {
      if (activation !== undefined) throw activationRefused(modelPath, 'an ONNX model', activation);
      const validated = await validateOnnxBytes(bytes, path.dirname(path.resolve(modelPath)), modelPath);
      return {
        onnx: validated.bytes,
        info: genericInfo(onnxVariant(validated.opset, validated.io), validated.scale, validated.inputMultiple, {
          format: 'onnx',
          opset: validated.opset,
          input: validated.io.input,
          output: validated.io.output,
        }),
        sourceSha256: sha256(bytes),
        io: validated.io,
      };
    }
    case null: {
      if (looksLikeTfjsModel(bytes)) {
        if (activation !== undefined) throw activationRefused(modelPath, 'a TF.js model', activation);
        return convertTfjsFile(modelPath);
      }
      if (/\.bin$/i.test(modelPath)) {
        throw new Error(
          `${modelPath}: this looks like ncnn weights; import the .param file beside it instead (the .bin is read from there)`,
        );
      }
      throw new Error(
        `${modelPath}: is not a model file: found ${describeLeadingBytes(bytes, bytes.length)}; expected .pth, .safetensors, .onnx, ncnn .param or a TF.js model.json`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const MAX_ID_LENGTH = 64;

/** The model id a file name gives: lowercase letters, digits, '-', '_' and '.'. Pure. */
export function modelIdFromFileName(fileName: string): string {
  // A TF.js model is a folder whose main file is always model.json: the folders name it.
  const base = /^model\.json$/i.test(path.basename(fileName))
    ? `${path.basename(path.dirname(path.dirname(fileName)))}-${path.basename(path.dirname(fileName))}`
    : path.basename(fileName);
  const stem = base.replace(/\.(pth|pt|ckpt|safetensors|onnx|param)$/i, '');
  const id = stem
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, MAX_ID_LENGTH)
    .replace(/[-._]+$/, '');
  return id || 'model';
}

/** Human-readable name: the file's own name, without its extension. Pure. */
function displayName(fileName: string): string {
  return path.basename(fileName).replace(/\.(pth|pt|ckpt|safetensors|onnx|param)$/i, '');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function readRecord(file: string): Promise<Partial<ModelRecord> | null> {
  try {
    const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null ? value : null;
  } catch {
    return null;
  }
}

const BUILTIN_IDS: ReadonlySet<string> = new Set(BUILTIN_MODELS.map((m) => m.id));

type IdSlot = { readonly id: string; readonly state: 'free' | 'same-source' };

/**
 * The id to write under: `base` when free, the existing entry when it came from the same
 * source (re-import is idempotent), else base-2, base-3, ... An explicit id never moves.
 */
async function chooseId(modelsDir: string, base: string, sourceSha256: string, explicit: boolean): Promise<IdSlot> {
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base.slice(0, MAX_ID_LENGTH - String(n).length - 1)}-${n}`;
    const jsonFile = metadataPath(modelsDir, id);
    const onnxFile = onnxPath(modelsDir, id);
    if (BUILTIN_IDS.has(id)) {
      // The registry would hide a user model under a built-in's id.
      if (explicit) throw new Error(`model id '${id}' belongs to a built-in model; choose another id`);
      continue;
    }
    const [hasJson, hasOnnx] = await Promise.all([exists(jsonFile), exists(onnxFile)]);
    if (!hasJson && !hasOnnx) return { id, state: 'free' };
    const record = hasJson ? await readRecord(jsonFile) : null;
    if (record?.sourceSha256 === sourceSha256) return { id, state: 'same-source' };
    if (explicit) {
      throw new Error(
        `${modelsDir}: a model with id '${id}' already exists and was made from a different file; choose another id or remove '${id}.json' and '${id}.onnx' first`,
      );
    }
  }
}

async function writeAndSync(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes renames durable; some platforms cannot open a directory, which is harmless there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a directory; the renames are still atomic.
  } finally {
    await handle?.close();
  }
}

function tempPathFor(finalPath: string): string {
  // Starts with a dot and does not end in .json/.onnx, so the registry never reads it.
  return path.join(
    path.dirname(finalPath),
    `.${path.basename(finalPath)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
}

/**
 * Writes several files so that each appears whole or not at all, in the given order (so the
 * last one, which the registry looks for, appears only once the others are in place). On
 * failure, temporaries and any file this call already put in place are removed.
 */
export async function writeFilesAtomically(
  files: readonly { readonly path: string; readonly data: Uint8Array | string }[],
): Promise<void> {
  const temps = files.map((f) => ({ ...f, temp: tempPathFor(f.path) }));
  const placed: string[] = [];
  try {
    for (const f of temps) await writeAndSync(f.temp, f.data);
    for (const f of temps) {
      // A file that was already there (a re-import over an older conversion) is replaced, not
      // new, so a later failure must not delete it.
      const replacing = await exists(f.path);
      await renameIntoPlace(f.temp, f.path);
      if (!replacing) placed.push(f.path);
    }
    for (const dir of new Set(files.map((f) => path.dirname(f.path)))) await syncDirectory(dir);
  } catch (e) {
    await Promise.all([
      ...temps.map((f) => fs.rm(f.temp, { force: true })),
      ...placed.map((p) => fs.rm(p, { force: true })),
    ]);
    throw e;
  }
}

export interface ImportOptions extends ConvertOptions {
  /** The id to register under instead of one derived from the file name. */
  readonly id?: string;
  /** SPDX identifier or short text; 'unknown' when not given. */
  readonly license?: string;
}

const folderQueues = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task for the same folder has settled. */
async function withFolderLock<T>(folder: string, task: () => Promise<T>): Promise<T> {
  const key = path.resolve(folder);
  const previous = folderQueues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(task);
  folderQueues.set(key, run);
  try {
    return await run;
  } finally {
    if (folderQueues.get(key) === run) folderQueues.delete(key);
  }
}

/** A failure to read, recognise or convert the file: the file is not a model Upscale can run. */
function invalidModel(modelPath: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new DaemonError('ModelInvalid', message.includes(modelPath) ? message : `${modelPath}: ${message}`, modelPath);
}

/** A failure to write the converted model: the models folder's fault (a full disk, say), not the model's. */
function unwritable(modelsDir: string, e: unknown): DaemonError {
  if (e instanceof DaemonError) return e;
  const err = e as NodeJS.ErrnoException;
  const reason = (err.code && WRITE_FAILURES[err.code]) ?? (err.message || String(e)).split('\n')[0];
  return new DaemonError('OutputNotWritable', `${modelsDir}: cannot write the converted model: ${reason}`, modelsDir);
}

/**
 * Converts a model file and adds it to `modelsDir` as `<id>.onnx` + `<id>.json`. Importing
 * the same file again returns the existing entry; a different file with the same name gets
 * a numbered id. Nothing is written unless conversion and validation succeed. Fails with
 * ModelInvalid when the file cannot be converted, OutputNotWritable when the models folder
 * cannot take the result.
 */
export async function importModel(
  modelPath: string,
  modelsDir: string,
  options: ImportOptions = {},
): Promise<RegisteredModel> {
  let converted: ConvertedModel;
  try {
    if (options.id !== undefined && !isValidModelId(options.id)) {
      throw new Error(
        `model id '${options.id}' is not valid; expected 1 to 64 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
      );
    }
    converted = await convertModel(modelPath, options);
  } catch (e) {
    throw invalidModel(modelPath, e);
  }
  // Choosing a free id and claiming it must not interleave with another import into the
  // same folder from this process (the daemon serves several clients).
  return withFolderLock(modelsDir, () => placeModel(modelPath, modelsDir, options, converted)).catch((e: unknown) => {
    throw unwritable(modelsDir, e);
  });
}

async function placeModel(
  modelPath: string,
  modelsDir: string,
  options: ImportOptions,
  converted: ConvertedModel,
): Promise<RegisteredModel> {
  await fs.mkdir(modelsDir, { recursive: true });
  const base = options.id ?? modelIdFromFileName(modelPath);
  const slot = await chooseId(modelsDir, base, converted.sourceSha256, options.id !== undefined);

  const jsonFile = metadataPath(modelsDir, slot.id);
  const onnxFile = onnxPath(modelsDir, slot.id);
  const record: ModelRecord = {
    id: slot.id,
    name: displayName(modelPath),
    family: converted.info.family,
    ...(converted.info.architecture !== undefined && { architecture: converted.info.architecture }),
    variant: converted.info.variant,
    scale: converted.info.scale,
    inputMultiple: converted.info.inputMultiple,
    ...(converted.info.traits !== undefined && { traits: converted.info.traits }),
    ...(converted.io !== undefined && { io: converted.io }),
    license: options.license ?? 'unknown',
    credit: path.basename(modelPath),
    sourceSha256: converted.sourceSha256,
    converterVersion: CONVERTER_VERSION,
    ...(converted.info.activation && {
      activation: converted.info.activation.activation,
      activationSource: converted.info.activation.source,
    }),
  };

  if (slot.state === 'same-source') {
    const existing = await readRecord(jsonFile);
    const onnxStat = await fs.stat(onnxFile).catch(() => null);
    // Same source, same converter, both files present, nothing asked that differs: nothing to
    // do. Otherwise (older converter, a record from before the graph's compute was read, a
    // lost .onnx, another license or activation) the entry is rewritten in place; its source
    // is the same file. Without a choice of activation the earlier one stands, as the
    // license does.
    const sameActivation =
      options.activation === undefined
        ? (existing?.activationSource === undefined) === (record.activationSource === undefined)
        : existing?.activation === record.activation && existing?.activationSource === record.activationSource;
    if (
      onnxStat &&
      existing?.converterVersion === CONVERTER_VERSION &&
      existing.macsPerPixel !== undefined &&
      (options.license === undefined || existing.license === options.license) &&
      sameActivation
    ) {
      return { ...record, ...(existing as ModelRecord), source: 'user', onnxPath: onnxFile, sizeBytes: onnxStat.size };
    }
  }

  // Read from the graph only for a record that is written: an unchanged re-import keeps its own.
  const written: ModelRecord = { ...record, ...graphCost(converted.onnx, modelPath) };
  await writeFilesAtomically([
    { path: onnxFile, data: converted.onnx },
    { path: jsonFile, data: JSON.stringify(written, null, 2) + '\n' },
  ]);
  return { ...written, source: 'user', onnxPath: onnxFile, sizeBytes: converted.onnx.byteLength };
}

/** `upscale models convert IN OUT.onnx`: converts (or validates) and writes OUT atomically. */
export async function convertToFile(
  inPath: string,
  outPath: string,
  options: ConvertOptions = {},
): Promise<{ readonly info: ArchInfo; readonly sourceSha256: string; readonly warnings: readonly string[] }> {
  const folder = path.dirname(path.resolve(outPath));
  const folderStat = await fs.stat(folder).catch(() => null);
  if (!folderStat?.isDirectory()) throw new Error(`cannot write '${outPath}': the folder '${folder}' does not exist`);
  const converted = await convertModel(inPath, options);
  await writeFilesAtomically([{ path: outPath, data: converted.onnx }]);
  return {
    info: converted.info,
    sourceSha256: converted.sourceSha256,
    warnings: activationWarnings(inPath, converted.info.activation?.source, 'convert'),
  };
}
