// Validation of an ONNX file a user brings. The file is only parsed as protobuf until every
// structural check has passed; external tensor data is read by us (confined to the model's
// own folder) and embedded, so onnxruntime is handed bytes and never opens a path the file
// names. Only then is the model run, on small probe inputs, to learn its scale.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { imageIo, nchwDims, type DeclaredValue, type OnnxIo } from './image-io';
import { imageTensor, ownGraphIo, tensorImage } from './image-tensor';
import type { ModelTraits } from '../../contract/protocol';

/** Below 7 onnxruntime only runs models through legacy support it does not guarantee. */
export const MIN_OPSET = 7;
/** The highest default-domain opset onnxruntime-node 1.30 loads (checked: 26 loads, 27 is refused). */
export const MAX_OPSET = 26;

/** Square probe sizes, smallest first: many window-based models need a multiple of 8 or 16. */
export const PROBE_SIZES: readonly number[] = [16, 32, 64];

export interface OnnxValidation {
  readonly scale: number;
  /** Smallest input height/width multiple the model was seen to accept (1: any size, or a fixed size). */
  readonly inputMultiple: number;
  readonly opset: number;
  /** How the model takes and gives its image. */
  readonly io: OnnxIo;
}

/** What the file declares, read without running anything. */
export interface OnnxStructure {
  readonly opset: number;
  readonly io: OnnxIo;
}

type Int64 = number | { toNumber(): number };
const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** Parses the protobuf; a truncated or foreign file fails here with the file named. */
export function decodeOnnx(bytes: Uint8Array, label: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${label}: not a valid ONNX file (truncated or damaged?): ${(e as Error).message}`);
  }
  if (!model.graph || toNumber(model.irVersion) <= 0) {
    throw new Error(
      `${label}: not an ONNX model: the file parses as protobuf but has no ${model.graph ? 'IR version' : 'graph'}`,
    );
  }
  return model;
}

function declared(value: onnx.IValueInfoProto): DeclaredValue {
  const tensorType = value.type?.tensorType;
  const shape = tensorType?.shape;
  return {
    name: value.name ?? '',
    elemType: tensorType ? (tensorType.elemType ?? 0) : null,
    dims: shape
      ? (shape.dim ?? []).map((d) =>
          d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : (d.dimParam ?? ''),
        )
      : null,
  };
}

/** The structural checks: opset in the supported range, one image in and one image out (image-io.ts). Pure. */
export function inspectOnnx(model: onnx.ModelProto, label: string): OnnxStructure {
  const graph = model.graph as onnx.IGraphProto;
  const defaultDomain = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!defaultDomain)
    throw new Error(
      `${label}: the model imports no default ONNX opset (ai.onnx); expected one between ${MIN_OPSET} and ${MAX_OPSET}`,
    );
  const opset = toNumber(defaultDomain.version);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(
      `${label}: the model uses ONNX opset ${opset}; onnxruntime here supports opsets ${MIN_OPSET} to ${MAX_OPSET}. Re-export it with an opset in that range (e.g. 17)`,
    );
  }
  // Before IR version 4, initializers were also listed as graph inputs.
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializerNames.has(i.name)).map(declared);
  return { opset, io: imageIo(inputs, (graph.output ?? []).map(declared), label) };
}

// ---------------------------------------------------------------------------------------------
// External data

/** A tensor somewhere in the model (initializer, attribute, subgraph) and where it is. */
interface LocatedTensor {
  readonly tensor: onnx.ITensorProto;
  readonly where: string;
}

/** Every TensorProto the model holds, including those in subgraphs, functions and training info. */
export function allTensors(model: onnx.IModelProto): LocatedTensor[] {
  const found: LocatedTensor[] = [];
  const sparse = (s: onnx.ISparseTensorProto | null | undefined, where: string): void => {
    if (s?.values) found.push({ tensor: s.values, where: `${where} (values)` });
    if (s?.indices) found.push({ tensor: s.indices, where: `${where} (indices)` });
  };
  const nodes = (list: onnx.INodeProto[] | null | undefined): void => {
    for (const node of list ?? []) {
      for (const a of node.attribute ?? []) {
        const where = `attribute '${a.name}' of node '${node.name || node.opType}'`;
        if (a.t) found.push({ tensor: a.t, where });
        for (const t of a.tensors ?? []) found.push({ tensor: t, where });
        sparse(a.sparseTensor, where);
        for (const s of a.sparseTensors ?? []) sparse(s, where);
        if (a.g) graph(a.g);
        for (const g of a.graphs ?? []) graph(g);
      }
    }
  };
  const graph = (g: onnx.IGraphProto | null | undefined): void => {
    if (!g) return;
    for (const t of g.initializer ?? []) found.push({ tensor: t, where: `initializer '${t.name}'` });
    for (const s of g.sparseInitializer ?? []) sparse(s, `sparse initializer '${s.values?.name ?? ''}'`);
    nodes(g.node);
  };
  graph(model.graph);
  for (const f of model.functions ?? []) nodes(f.node);
  for (const t of model.trainingInfo ?? []) {
    graph(t.initialization);
    graph(t.algorithm);
  }
  return found;
}

function externalField(tensor: onnx.ITensorProto, key: string): string | undefined {
  return (tensor.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/**
 * Where an external-data location must be refused before touching the disk: absolute paths
 * and any `..` segment (even one that would come back inside, to keep the rule simple). Pure.
 */
export function unsafeLocationReason(location: string): string | null {
  if (location === '') return 'it names no file';
  if (location.includes('\0')) return 'it contains a NUL character';
  if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location))
    return 'it is an absolute path';
  if (location.split(/[\\/]/).some((segment) => segment === '..')) return "it climbs out with '..'";
  return null;
}

function isInside(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * Reads every external tensor's bytes from files inside `modelFolder` (realpath-checked, so
 * a symlink cannot lead out) into the tensor itself. Returns how many tensors were embedded.
 */
export async function embedExternalData(model: onnx.IModelProto, modelFolder: string, label: string): Promise<number> {
  const external = allTensors(model).filter(
    ({ tensor }) => tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
  );
  if (external.length === 0) return 0;
  const folder = await fs.realpath(modelFolder);
  const cache = new Map<string, Buffer>();
  for (const { tensor, where } of external) {
    const location = externalField(tensor, 'location') ?? '';
    const refuse = (why: string): never => {
      throw new Error(
        `${label}: ${where} keeps its data in external file '${location}', which is refused: ${why}. External data must be a file inside the model's folder (${folder})`,
      );
    };
    const unsafe = unsafeLocationReason(location);
    if (unsafe) refuse(unsafe);
    let real: string;
    try {
      real = await fs.realpath(path.join(folder, location));
    } catch {
      return refuse('the file does not exist');
    }
    if (!isInside(folder, real)) refuse(`it resolves to '${real}', outside the model's folder (a symbolic link?)`);
    let data = cache.get(real);
    if (!data) {
      const stat = await fs.stat(real);
      if (!stat.isFile()) refuse('it is not a regular file');
      data = await fs.readFile(real);
      cache.set(real, data);
    }
    const offset = Number(externalField(tensor, 'offset') ?? '0');
    const lengthField = externalField(tensor, 'length');
    const length = lengthField === undefined ? data.length - offset : Number(lengthField);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > data.length
    ) {
      refuse(`it asks for bytes ${offset}..${offset + length} but the file has ${data.length}`);
    }
    tensor.rawData = data.subarray(offset, offset + length);
    tensor.externalData = [];
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
  return external.length;
}

// ---------------------------------------------------------------------------------------------
// Probing

/** A smooth, deterministic image in [0.05, 0.95], like a photo more than like noise. */
export function probeImage(height: number, width: number, channels = 3): Float32Array {
  const data = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        data[(c * height + y) * width + x] =
          0.5 + 0.45 * Math.sin(0.37 * x + 0.23 * y + 2.1 * c) * Math.cos(0.11 * x - 0.19 * y);
      }
    }
  }
  return data;
}

/** What a model takes and gives; a file that does not say is taken as RGB. */
export type ProbeChannels = ModelTraits['channels'];
const RGB: ProbeChannels = { input: 3, output: 3 };

/** The integer factor the output is of the input, or an error naming what came out. Pure. */
export function scaleOf(
  inputHeight: number,
  inputWidth: number,
  outputDims: readonly number[],
  label: string,
  channels: ProbeChannels = RGB,
): number {
  const got = `[${outputDims.join(', ')}] for input [1, ${channels.input}, ${inputHeight}, ${inputWidth}]`;
  if (outputDims.length !== 4 || outputDims[0] !== 1 || outputDims[1] !== channels.output) {
    throw new Error(
      `${label}: the model produced an output of shape ${got}; expected [1, ${channels.output}, k*height, k*width]`,
    );
  }
  const [, , h, w] = outputDims as [number, number, number, number];
  const k = h / inputHeight;
  if (!Number.isInteger(k) || k < 1 || w !== k * inputWidth) {
    throw new Error(
      `${label}: the model's output ${got} is not the same whole multiple k >= 1 of the input on both axes; expected [1, ${channels.output}, k*${inputHeight}, k*${inputWidth}]`,
    );
  }
  return k;
}

/** Index and kind of the first value that is not finite, or null. Pure. */
export function firstNonFinite(values: Float32Array): { index: number; kind: 'NaN' | 'Inf' } | null {
  let i = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) return { index: i, kind: Number.isNaN(v) ? 'NaN' : 'Inf' };
    i++;
  }
  return null;
}

type ProbeRun =
  | { readonly outcome: 'ok'; readonly scale: number }
  /** onnxruntime refused the size (typically a reshape needing a multiple). */
  | { readonly outcome: 'refused'; readonly message: string }
  /** It ran, but the output is not a whole multiple of the input. */
  | { readonly outcome: 'bad-shape'; readonly message: string };

async function runProbe(
  session: ort.InferenceSession,
  io: OnnxIo,
  height: number,
  width: number,
  label: string,
  channels: ProbeChannels,
): Promise<ProbeRun> {
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    const image = { width, height, channels: channels.input, data: probeImage(height, width, channels.input) };
    result = await session.run({ [io.input]: imageTensor(image, io) });
  } catch (e) {
    return { outcome: 'refused', message: `${height}x${width}: ${(e as Error).message.split('\n')[0] ?? ''}` };
  }
  const output = result[io.output];
  // A non-image output (scores, a feature vector) is no upscaler, whatever its size.
  if (output && !nchwDims(output.dims, io.layout)) {
    throw new Error(
      `${label}: not an image-to-image model: output '${io.output}' has shape [${output.dims.join(', ')}] for a ${height}x${width} image, which is not an image`,
    );
  }
  const image = tensorImage(output, io, label);
  let scale: number;
  try {
    scale = scaleOf(height, width, [1, image.channels, image.height, image.width], label, channels);
  } catch (e) {
    return { outcome: 'bad-shape', message: (e as Error).message };
  }
  const bad = firstNonFinite(image.data);
  if (bad) {
    throw new Error(
      `${label}: the model produces ${bad.kind} (at output element ${bad.index} for a ${height}x${width} test image); its weights or graph are broken`,
    );
  }
  return { outcome: 'ok', scale };
}

export interface ProbeResult {
  readonly scale: number;
  readonly inputMultiple: number;
}

/**
 * Runs the model on small test images. A model with a fixed input size runs once at that size,
 * which gives the scale (the engine tiles at exactly that size, so no multiple is needed).
 * Otherwise the first square size in PROBE_SIZES that runs gives the scale; then non-square
 * sizes that are multiples of 1, 2, 4, ... find the smallest multiple it accepts (non-square,
 * to catch a model that swaps or mixes up the two axes). The search ends at the base size
 * itself, which any model that ran at the base must accept. `channels`: a converted model's
 * own; an imported file's are taken as RGB. Without `io`, the model is one of Upscale's own
 * graphs: its first input and output, NCHW float32.
 */
export async function probeModel(bytes: Uint8Array, label: string, channels = RGB, io?: OnnxIo): Promise<ProbeResult> {
  let session: ort.InferenceSession;
  try {
    // Warnings (unused initializers, opset notes) are not the user's concern here.
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  } catch (e) {
    throw new Error(`${label}: onnxruntime cannot load the model: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const feed = io ?? ownGraphIo(session);
    if (feed.fixedSize) {
      const { width, height } = feed.fixedSize;
      const run = await runProbe(session, feed, height, width, label, channels);
      if (run.outcome === 'ok') return { scale: run.scale, inputMultiple: 1 };
      throw new Error(
        run.outcome === 'bad-shape'
          ? run.message
          : `${label}: the model fails at its own fixed size (${run.message}); expected it to run on a ${width}x${height} image`,
      );
    }
    let base: { size: number; scale: number } | null = null;
    const failures: ProbeRun[] = [];
    for (const size of PROBE_SIZES) {
      const run = await runProbe(session, feed, size, size, label, channels);
      if (run.outcome === 'ok') {
        base = { size, scale: run.scale };
        break;
      }
      failures.push(run);
    }
    if (!base) {
      const badShape = failures.find((f) => f.outcome === 'bad-shape');
      if (badShape && badShape.outcome === 'bad-shape') throw new Error(badShape.message);
      const messages = failures.map((f) => (f.outcome === 'ok' ? '' : f.message));
      throw new Error(
        `${label}: the model fails on every test image size (${messages.join('; ')}); expected it to run on a [1, ${channels.input}, height, width] image`,
      );
    }
    const tried: string[] = [];
    for (let multiple = 1; multiple <= base.size; multiple *= 2) {
      const [height, width] = [base.size + multiple, base.size + 2 * multiple];
      const run = await runProbe(session, feed, height, width, label, channels);
      if (run.outcome !== 'ok') {
        tried.push(run.message);
        continue;
      }
      if (run.scale !== base.scale) {
        throw new Error(
          `${label}: the model scales a ${base.size}x${base.size} image by ${base.scale} but a ${height}x${width} one by ${run.scale}; expected one fixed scale`,
        );
      }
      return { scale: base.scale, inputMultiple: multiple };
    }
    throw new Error(
      `${label}: the model upscales a ${base.size}x${base.size} image by ${base.scale} but no other size correctly (${tried.join('; ')}); expected it to accept any size that is a multiple of some block size`,
    );
  } finally {
    await session.release();
  }
}

/** Everything validateOnnx learns, plus the model as self-contained bytes (external data embedded). */
export interface ValidatedOnnxFile extends OnnxValidation {
  readonly bytes: Uint8Array;
}

/** Checks and probes ONNX bytes whose external data (if any) lives in `modelFolder`. */
export async function validateOnnxBytes(
  original: Uint8Array,
  modelFolder: string,
  label: string,
): Promise<ValidatedOnnxFile> {
  const model = decodeOnnx(original, label);
  const { opset, io } = inspectOnnx(model, label);
  const embedded = await embedExternalData(model, modelFolder, label);
  const bytes = embedded > 0 ? onnx.ModelProto.encode(model).finish() : original;
  const { scale, inputMultiple } = await probeModel(bytes, label, RGB, io);
  return { scale, inputMultiple, opset, io, bytes };
}

/** Reads, checks and probes a user's ONNX file and its external data. */
export async function validateOnnxFile(modelPath: string): Promise<ValidatedOnnxFile> {
  const bytes = await fs.readFile(modelPath);
  return validateOnnxBytes(bytes, path.dirname(path.resolve(modelPath)), modelPath);
}

/** Validates a user's ONNX file without keeping its bytes. */
export async function validateOnnx(modelPath: string): Promise<OnnxValidation> {
  const { scale, inputMultiple, opset, io } = await validateOnnxFile(modelPath);
  return { scale, inputMultiple, opset, io };
}
