// Reader for TensorFlow.js "layers-model" files: a model.json holding the Keras model's
// configuration (modelTopology) and a weightsManifest naming binary shards. Within one
// manifest group the shards are a single byte stream cut into files, and the group's
// weights lie in it back to back in manifest order, so sizes are checked per group, not
// per shard. Parsing is pure; only readTfjsModelFiles touches the disk.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { float16ToFloat32 } from './half';

/** How a weight is stored when the converter quantized it (tfjs-converter's --quantize_*). */
export type TfjsQuantization =
  { readonly dtype: 'uint8' | 'uint16'; readonly scale: number; readonly min: number } | { readonly dtype: 'float16' };

export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype the tensor has once dequantized; image models only need float32. */
  readonly dtype: 'float32';
  readonly quantization?: TfjsQuantization;
}

export interface TfjsWeightGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
}

/** One Keras layer with the names of the layers whose outputs it reads, in order. */
export interface KerasLayer {
  readonly className: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly inbound: readonly string[];
}

/** A Keras model as a layer graph: Sequential models are turned into the same form. */
export interface KerasModel {
  readonly name: string;
  readonly layers: readonly KerasLayer[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface TfjsModelJson {
  readonly model: KerasModel;
  readonly weightGroups: readonly TfjsWeightGroup[];
}

export interface TfjsTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** model.json and its shards, as read from disk; kept as bytes so callers can hash them. */
export interface TfjsModelFiles {
  readonly modelJson: Uint8Array;
  /** Keyed by the path as the manifest writes it (relative to model.json), in manifest order. */
  readonly shards: ReadonlyMap<string, Uint8Array>;
}

type Json = Readonly<Record<string, unknown>>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
}

function parseQuantization(q: unknown, where: string): TfjsQuantization {
  if (!isObject(q)) throw new Error(`${where}: quantization is ${JSON.stringify(q)}, expected an object`);
  if (q['dtype'] === 'float16') return { dtype: 'float16' };
  if (q['dtype'] === 'uint8' || q['dtype'] === 'uint16') {
    const scale = q['scale'];
    const min = q['min'];
    if (typeof scale !== 'number' || !Number.isFinite(scale) || typeof min !== 'number' || !Number.isFinite(min)) {
      throw new Error(
        `${where}: ${String(q['dtype'])} quantization has scale ${JSON.stringify(scale)} and min ${JSON.stringify(min)}, expected two finite numbers`,
      );
    }
    return { dtype: q['dtype'], scale, min };
  }
  throw new Error(
    `${where}: quantization dtype ${JSON.stringify(q['dtype'])} is not supported; expected uint8, uint16 or float16`,
  );
}

function parseWeightSpec(w: unknown, where: string): TfjsWeightSpec {
  if (!isObject(w) || typeof w['name'] !== 'string' || !isShape(w['shape'])) {
    throw new Error(
      `${where}: expected {name: string, shape: non-negative integers, dtype}, found ${JSON.stringify(w)?.slice(0, 200)}`,
    );
  }
  const at = `${where} '${w['name']}'`;
  if (w['dtype'] !== 'float32') {
    throw new Error(
      `${at}: dtype ${JSON.stringify(w['dtype'])} is not supported; expected float32 (image models hold no integer or string weights)`,
    );
  }
  const spec = { name: w['name'], shape: w['shape'], dtype: 'float32' as const };
  return w['quantization'] === undefined ? spec : { ...spec, quantization: parseQuantization(w['quantization'], at) };
}

function parseWeightGroups(manifest: unknown, label: string): TfjsWeightGroup[] {
  if (!Array.isArray(manifest))
    throw new Error(`${label}: weightsManifest is ${typeof manifest}, expected an array of groups`);
  const names = new Set<string>();
  return manifest.map((group: unknown, gi) => {
    const where = `${label}: weightsManifest group ${gi}`;
    if (
      !isObject(group) ||
      !Array.isArray(group['paths']) ||
      !group['paths'].every((p) => typeof p === 'string') ||
      !Array.isArray(group['weights'])
    ) {
      throw new Error(`${where}: expected {paths: string[], weights: []}`);
    }
    const paths = group['paths'];
    for (const p of paths) {
      // Shards are siblings of model.json; anything reaching elsewhere is refused.
      if (p === '' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
        throw new Error(`${where}: shard path ${JSON.stringify(p)} is not a relative path inside the model's folder`);
      }
    }
    const weights = group['weights'].map((w: unknown, wi) => parseWeightSpec(w, `${where} weight ${wi}`));
    for (const w of weights) {
      if (names.has(w.name)) throw new Error(`${where}: weight '${w.name}' appears twice in the manifest`);
      names.add(w.name);
    }
    return { paths, weights };
  });
}

function parseInbound(layer: Json, where: string): string[] {
  const nodes = layer['inbound_nodes'];
  if (nodes === undefined) return [];
  if (!Array.isArray(nodes)) throw new Error(`${where}: inbound_nodes is ${typeof nodes}, expected an array`);
  if (nodes.length === 0) return [];
  // A layer called more than once (shared weights) has several nodes; the models this
  // importer is for never do that, and supporting it would mean tracking node indices.
  if (nodes.length > 1)
    throw new Error(`${where}: the layer is applied ${nodes.length} times (shared layer); expected once`);
  const node: unknown = nodes[0];
  if (!Array.isArray(node)) {
    throw new Error(
      `${where}: inbound node ${JSON.stringify(node)?.slice(0, 120)} is not a Keras 2 [[layer, node, tensor, kwargs], ...] list (Keras 3 files are not supported)`,
    );
  }
  return node.map((ref: unknown) => {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string' || ref[1] !== 0 || ref[2] !== 0) {
      throw new Error(
        `${where}: inbound reference ${JSON.stringify(ref)} is not supported; expected [layerName, 0, 0, kwargs] (each layer applied once, one output)`,
      );
    }
    if (isObject(ref[3]) && Object.keys(ref[3]).length > 0) {
      throw new Error(
        `${where}: inbound reference to '${ref[0]}' passes call arguments ${JSON.stringify(ref[3])}; expected none`,
      );
    }
    return ref[0];
  });
}

function layerRefs(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new Error(`${where} is ${JSON.stringify(v)}, expected a list of [layerName, 0, 0]`);
  return v.map((ref: unknown) => {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string' || ref[1] !== 0 || ref[2] !== 0) {
      throw new Error(`${where}: reference ${JSON.stringify(ref)} is not supported; expected [layerName, 0, 0]`);
    }
    return ref[0];
  });
}

function parseLayer(
  raw: unknown,
  index: number,
  label: string,
): { layer: Json; className: string; name: string; config: Json } {
  if (!isObject(raw) || typeof raw['class_name'] !== 'string' || !isObject(raw['config'])) {
    throw new Error(`${label}: layer ${index} is not {class_name, config}`);
  }
  const config = raw['config'];
  const name = typeof raw['name'] === 'string' ? raw['name'] : config['name'];
  if (typeof name !== 'string' || name === '')
    throw new Error(`${label}: layer ${index} (${raw['class_name']}) has no name`);
  return { layer: raw, className: raw['class_name'], name, config };
}

function parseFunctional(config: Json, label: string): KerasModel {
  const rawLayers = config['layers'];
  if (!Array.isArray(rawLayers)) throw new Error(`${label}: model config has no layers array`);
  const layers = rawLayers.map((raw: unknown, i) => {
    const { layer, className, name, config: layerConfig } = parseLayer(raw, i, label);
    return {
      className,
      name,
      config: layerConfig,
      inbound: parseInbound(layer, `${label}: layer '${name}' (${className})`),
    };
  });
  return {
    name: typeof config['name'] === 'string' ? config['name'] : 'model',
    layers,
    inputs: layerRefs(config['input_layers'], `${label}: input_layers`),
    outputs: layerRefs(config['output_layers'], `${label}: output_layers`),
  };
}

function parseSequential(config: unknown, label: string): KerasModel {
  // Older Keras wrote a Sequential config as the bare layer list.
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config['layers'] : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw new Error(`${label}: Sequential model has no layers`);
  const parsed = rawLayers.map((raw: unknown, i) => parseLayer(raw, i, label));
  const layers: KerasLayer[] = [];
  const first = parsed[0];
  if (first === undefined) throw new Error(`${label}: Sequential model has no layers`);
  if (first.className !== 'InputLayer') {
    // A Sequential model without an InputLayer declares its input on the first layer.
    const shape = first.config['batch_input_shape'];
    if (shape === undefined)
      throw new Error(`${label}: Sequential model's first layer '${first.name}' declares no batch_input_shape`);
    layers.push({
      className: 'InputLayer',
      name: `${first.name}_input`,
      config: { batch_input_shape: shape },
      inbound: [],
    });
  }
  for (const p of parsed) {
    const previous = layers[layers.length - 1];
    layers.push({ className: p.className, name: p.name, config: p.config, inbound: previous ? [previous.name] : [] });
  }
  const head = layers[0];
  const last = layers.at(-1);
  if (head === undefined || last === undefined) throw new Error('a Sequential model with no layers');
  return {
    name: isObject(config) && typeof config['name'] === 'string' ? config['name'] : 'sequential',
    layers,
    inputs: [head.name],
    outputs: [last.name],
  };
}

/** Parses model.json text; `label` names the file in every error. */
export function parseTfjsModelJson(text: string, label: string): TfjsModelJson {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new Error(`${label}: not JSON (${(e as Error).message})`);
  }
  if (!isObject(root)) throw new Error(`${label}: expected a JSON object with modelTopology and weightsManifest`);
  if (root['format'] !== undefined && root['format'] !== 'layers-model') {
    throw new Error(
      `${label}: format is ${JSON.stringify(root['format'])}, expected "layers-model" (graph models from tf.saved_model are not Keras layer graphs)`,
    );
  }
  const topology = root['modelTopology'];
  if (!isObject(topology)) throw new Error(`${label}: modelTopology is missing or not an object`);
  // tfjs writes {keras_version, backend, model_config: {...}}; some tools write the model config directly.
  const modelConfig = isObject(topology['model_config']) ? topology['model_config'] : topology;
  const className = modelConfig['class_name'];
  let model: KerasModel;
  if (className === 'Functional' || className === 'Model') {
    if (!isObject(modelConfig['config'])) throw new Error(`${label}: ${className} model has no config object`);
    model = parseFunctional(modelConfig['config'], label);
  } else if (className === 'Sequential') {
    model = parseSequential(modelConfig['config'], label);
  } else {
    throw new Error(
      `${label}: model class ${JSON.stringify(className)} is not supported; expected Functional, Model or Sequential`,
    );
  }
  return { model, weightGroups: parseWeightGroups(root['weightsManifest'], label) };
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes the weight occupies in its shard stream. */
export function storedWeightBytes(spec: TfjsWeightSpec): number {
  const bytesPerValue = !spec.quantization ? 4 : spec.quantization.dtype === 'uint8' ? 1 : 2;
  return elementCount(spec.shape) * bytesPerValue;
}

function dequantize(spec: TfjsWeightSpec, bytes: Uint8Array): Float32Array {
  const count = elementCount(spec.shape);
  // A fresh copy, so typed-array views are aligned whatever the weight's offset was.
  const copy = new Uint8Array(bytes);
  const q = spec.quantization;
  if (!q) return new Float32Array(copy.buffer, 0, count);
  if (q.dtype === 'float16') return float16ToFloat32(new Uint16Array(copy.buffer, 0, count));
  const stored = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer, 0, count);
  const out = new Float32Array(count);
  // tfjs-core's io.decodeWeights: value = quantized * scale + min.
  let i = 0;
  for (const v of stored.subarray(0, count)) out[i++] = v * q.scale + q.min;
  return out;
}

/** Splits every group's shard stream into dequantized float32 tensors, keyed by weight name. */
export function decodeTfjsWeights(
  groups: readonly TfjsWeightGroup[],
  shards: ReadonlyMap<string, Uint8Array>,
  label: string,
): Map<string, TfjsTensor> {
  const tensors = new Map<string, TfjsTensor>();
  groups.forEach((group, gi) => {
    const where = `${label}: weightsManifest group ${gi}`;
    const parts = group.paths.map((p) => {
      const bytes = shards.get(p);
      if (!bytes) throw new Error(`${where}: weight shard '${p}' is missing`);
      return bytes;
    });
    const held = parts.reduce((n, b) => n + b.byteLength, 0);
    const needed = group.weights.reduce((n, w) => n + storedWeightBytes(w), 0);
    if (held !== needed) {
      const sizes = group.paths.map((p, i) => `${p} ${parts[i]?.byteLength ?? 0}`).join(', ');
      throw new Error(
        `${where}: the shards hold ${held} bytes (${sizes}) but its ${group.weights.length} weights need ${needed}; ` +
          `a shard is truncated or does not belong to this model.json`,
      );
    }
    const [only] = parts;
    const stream = parts.length === 1 && only !== undefined ? only : Buffer.concat(parts);
    let offset = 0;
    for (const spec of group.weights) {
      const size = storedWeightBytes(spec);
      tensors.set(spec.name, { shape: spec.shape, data: dequantize(spec, stream.subarray(offset, offset + size)) });
      offset += size;
    }
  });
  return tensors;
}

/** Reads model.json and every shard its manifest lists (from model.json's folder). */
export async function readTfjsModelFiles(modelJsonPath: string): Promise<TfjsModelFiles> {
  let modelJson: Uint8Array;
  try {
    modelJson = await fs.readFile(modelJsonPath);
  } catch (e) {
    throw new Error(`${modelJsonPath}: cannot be read (${(e as Error).message})`);
  }
  const parsed = parseTfjsModelJson(Buffer.from(modelJson).toString('utf8'), modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const shards = new Map<string, Uint8Array>();
  for (const [gi, group] of parsed.weightGroups.entries()) {
    for (const p of group.paths) {
      try {
        shards.set(p, await fs.readFile(path.join(dir, p)));
      } catch {
        throw new Error(
          `${modelJsonPath}: weightsManifest group ${gi}: weight shard '${p}' is missing (looked for ${path.join(dir, p)})`,
        );
      }
    }
  }
  return { modelJson, shards };
}
