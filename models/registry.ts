// The model registry: what models exist (built-in, converted at setup; the user's, in
// the models folder), read from the metadata file written beside each ONNX file.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Activation, ActivationSource } from '../contract/vocabulary';
import type { ModelTraits } from '../contract/protocol';
import { isOnnxIo, type OnnxIo } from './onnx/image-io';

/** The metadata file beside each model's ONNX file (`<id>.json` next to `<id>.onnx`). */
export interface ModelRecord {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  /** The converting architecture module's id; absent for models that arrived as ONNX, ncnn or TF.js. */
  readonly architecture?: string;
  readonly variant: string;
  readonly scale: number;
  readonly inputMultiple: number;
  /** Channels, size requirements, tiling and fp16/bf16 safety; known for models converted from weights. */
  readonly traits?: ModelTraits;
  /** Models that arrived as ONNX: how the file takes and gives its image, found at import so the engine never probes. */
  readonly io?: OnnxIo;
  readonly license: string;
  readonly credit: string;
  /** SHA-256 of the source weights the ONNX was made from. */
  readonly sourceSha256: string;
  /** Version of the converter that wrote the ONNX; a change re-converts at setup. */
  readonly converterVersion: number;
  /** Peak activation bytes per input pixel read from the graph (null: not a graph it follows); sizes automatic tiles. */
  readonly activationBytesPerPixel?: number | null;
  /** Multiply-accumulates per input pixel read from the graph (models/onnx/graph-cost.ts); a first job's time estimate. */
  readonly macsPerPixel?: number | null;
  /** SRVGGNetCompact only: the activation the ONNX runs, and who decided it ('assumed': the weights could not tell). */
  readonly activation?: Activation;
  readonly activationSource?: ActivationSource;
}

export interface RegisteredModel extends ModelRecord {
  readonly source: 'builtin' | 'user';
  readonly onnxPath: string;
  readonly sizeBytes: number;
}

/**
 * 3: PReLU emitted as Relu(x) + slope·Min(x, 0) (issue 21: faster on the CPU; same values); records carry architecture and traits.
 * 4: grey models convert with their true channel counts; records carry the context trait, MACs per pixel and an ONNX file's io.
 */
export const CONVERTER_VERSION = 4;

function isRecord(v: unknown): v is ModelRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.name === 'string' &&
    typeof r.family === 'string' &&
    typeof r.scale === 'number' &&
    r.scale > 0 &&
    typeof r.inputMultiple === 'number' &&
    r.inputMultiple >= 1 &&
    (r.io === undefined || isOnnxIo(r.io))
  );
}

/**
 * What a model needs of its input, in a few words for lists ("at least 16 px, tiling
 * discouraged, no fp16"); from its traits, or for a model without them its input multiple.
 */
export function describeRequirements(model: Pick<ModelRecord, 'traits' | 'inputMultiple'>): string {
  const t = model.traits;
  if (!t) return model.inputMultiple > 1 ? `sides a multiple of ${model.inputMultiple}` : 'any size';
  const parts = [
    t.size.minimum > 0 ? `at least ${t.size.minimum} px` : '',
    t.size.multiple > 1 ? `sides a multiple of ${t.size.multiple}` : '',
    t.size.square ? 'square' : '',
    t.channels.input !== 3 || t.channels.output !== 3 ? `${t.channels.input} → ${t.channels.output} channels` : '',
    t.tiling === 'supported' ? '' : `tiling ${t.tiling}`,
    t.context === 'global' ? 'whole-image context' : '',
    t.fp16 ? '' : 'no fp16',
    t.bf16 ? '' : 'no bf16',
  ].filter((p) => p !== '');
  return parts.length > 0 ? parts.join(', ') : 'any size';
}

export function metadataPath(dir: string, id: string): string {
  return path.join(dir, `${id}.json`);
}

export function onnxPath(dir: string, id: string): string {
  return path.join(dir, `${id}.onnx`);
}

/** Reads one folder's models; files that are not valid models are reported, not fatal. */
async function scanFolder(dir: string, source: 'builtin' | 'user', problems: string[]): Promise<RegisteredModel[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  // Read together, not one after another: every request that names a model scans, and
  // a dozen files read in turn took 5 to 13 ms.
  const read = await Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map(async (name): Promise<RegisteredModel | string> => {
        const file = path.join(dir, name);
        try {
          const record: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
          if (!isRecord(record)) throw new Error('missing id, name, family, scale or inputMultiple, or a malformed io');
          const onnx = onnxPath(dir, record.id);
          const stat = await fs.stat(onnx);
          return { ...record, source, onnxPath: onnx, sizeBytes: stat.size };
        } catch (e) {
          return `${file}: ${(e as Error).message}`;
        }
      }),
  );
  problems.push(...read.filter((r): r is string => typeof r === 'string'));
  return read.filter((r): r is RegisteredModel => typeof r !== 'string');
}

export interface RegistryScan {
  readonly models: readonly RegisteredModel[];
  readonly problems: readonly string[];
}

/** Built-in models first; a user model with a built-in's id is skipped with a problem noted. */
export async function scanModels(builtinDir: string, userDir: string): Promise<RegistryScan> {
  const problems: string[] = [];
  const builtin = await scanFolder(builtinDir, 'builtin', problems);
  const user = await scanFolder(userDir, 'user', problems);
  const ids = new Set(builtin.map((m) => m.id));
  const models = [...builtin];
  for (const m of user) {
    if (ids.has(m.id)) problems.push(`${m.onnxPath}: id '${m.id}' is already a built-in model; rename it`);
    else {
      ids.add(m.id);
      models.push(m);
    }
  }
  return { models, problems };
}
