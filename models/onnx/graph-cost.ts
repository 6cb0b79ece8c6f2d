// What a convolutional upscaler costs per input pixel, read from its graph: memory and
// compute. Every tensor's size is channels × (output area / input area); walking the nodes
// in order, a tensor lives from the node that makes it to the last node that reads it. The
// peak of that live set decides how large a tile the machine can afford; the daemon
// multiplies it by what onnxruntime adds on top (see daemon/engine/tile-size.ts). Each
// convolution's multiply-accumulates are its weights times its output's area; with the
// provider's measured speed they give a first job its time estimate before the model has
// ever run (daemon/engine/eta.ts).
import { onnx } from 'onnx-proto';
import { decodeOnnx } from './validate';

/** Operators whose output has the shape of their first input. */
const SAME_SHAPE = new Set([
  'Identity',
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Sigmoid',
  'Tanh',
  'Clip',
  'HardSigmoid',
  'Elu',
  'Selu',
  'Gelu',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Sum',
  'Max',
  'Min',
  'BatchNormalization',
  'InstanceNormalization',
  'Cast',
]);

/** A tensor per input pixel: channels, and its area relative to the input's. */
interface Extent {
  readonly channels: number;
  readonly area: number;
}

function floatsOf(t: onnx.ITensorProto): number[] {
  if (t.floatData && t.floatData.length > 0) return Array.from(t.floatData);
  const raw = t.rawData;
  if (!raw || raw.byteLength % 4 !== 0) return [];
  const copy = new Uint8Array(raw);
  return Array.from(new Float32Array(copy.buffer));
}

function intAttribute(node: onnx.INodeProto, name: string): number | null {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? null : Number(a.i);
}

/** The extent of a node's output, or null when the operator or its parameters are not understood. */
function outputExtent(
  node: onnx.INodeProto,
  input: Extent,
  extents: ReadonlyMap<string, Extent>,
  constants: ReadonlyMap<string, onnx.ITensorProto>,
): Extent | null {
  const op = node.opType ?? '';
  const inputs = node.input ?? [];
  if (SAME_SHAPE.has(op)) return input;
  switch (op) {
    case 'Conv': {
      const weight = constants.get(inputs[1] ?? '');
      const out = weight?.dims?.[0];
      const strides = node.attribute?.find((x) => x.name === 'strides')?.ints ?? [];
      if (out === undefined || out === null || strides.some((s) => Number(s) !== 1)) return null;
      return { channels: Number(out), area: input.area };
    }
    case 'Concat': {
      if (intAttribute(node, 'axis') !== 1) return null;
      let channels = 0;
      for (const name of inputs) {
        const e = extents.get(name);
        if (!e) return null;
        channels += e.channels;
      }
      return { channels, area: input.area };
    }
    case 'Resize':
    case 'Upsample': {
      const scales = constants.get(inputs[op === 'Resize' ? 2 : 1] ?? '');
      const s = scales ? floatsOf(scales) : [];
      const [n, c, h, w] = s;
      if (s.length !== 4 || n !== 1 || c !== 1 || h === undefined || w === undefined) return null;
      return { channels: input.channels, area: input.area * h * w };
    }
    case 'DepthToSpace': {
      const block = intAttribute(node, 'blocksize');
      if (!block || input.channels % (block * block) !== 0) return null;
      return { channels: input.channels / (block * block), area: input.area * block * block };
    }
    default:
      return null;
  }
}

/** A graph's cost per input pixel. */
export interface GraphCost {
  /** Peak bytes of live float32 activations (input and output included); null for graphs with operators the walk does not follow (attention, reshapes): those get the default tile limit. */
  readonly activationBytesPerPixel: number | null;
  /**
   * Multiply-accumulates. A graph the walk does not follow counts each weight once, as
   * though every layer ran at the input's size: a lower bound, near for a transformer
   * (each linear layer's weights are applied once per token, a pixel); null without weights.
   */
  readonly macsPerPixel: number | null;
}

function elements(t: onnx.ITensorProto): number {
  return (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1);
}

/** The cost of `model` per input pixel. */
export function graphCostPerPixel(model: onnx.IModelProto): GraphCost {
  const graph = model.graph;
  const first = graph?.input?.[0]?.name;
  const initializers = graph?.initializer ?? [];
  const weights = initializers.filter((t) => (t.dims?.length ?? 0) >= 2).reduce((n, t) => n + elements(t), 0);
  const unfollowed: GraphCost = { activationBytesPerPixel: null, macsPerPixel: weights > 0 ? weights : null };
  if (!graph || !first) return unfollowed;
  const constants = new Map(initializers.map((t) => [t.name ?? '', t]));
  const nodes = graph.node ?? [];
  const lastRead = new Map<string, number>();
  nodes.forEach((n, i) => (n.input ?? []).forEach((name) => lastRead.set(name, i)));
  for (const o of graph.output ?? []) lastRead.set(o.name ?? '', nodes.length);

  const extents = new Map<string, Extent>([[first, { channels: 3, area: 1 }]]);
  const bytes = (e: Extent) => 4 * e.channels * e.area;
  const live = new Set<string>([first]);
  let liveBytes = bytes({ channels: 3, area: 1 });
  let peak = liveBytes;
  let macs = 0;
  for (const [i, node] of nodes.entries()) {
    const source = (node.input ?? []).map((name) => extents.get(name)).find((e) => e !== undefined);
    if (!source) return unfollowed;
    const out = outputExtent(node, source, extents, constants);
    if (!out) return unfollowed;
    if (node.opType === 'Conv') {
      const weight = constants.get(node.input?.[1] ?? '');
      if (weight) macs += elements(weight) * out.area;
    }
    for (const name of node.output ?? []) {
      extents.set(name, out);
      live.add(name);
      liveBytes += bytes(out);
    }
    peak = Math.max(peak, liveBytes);
    for (const name of node.input ?? []) {
      const e = extents.get(name);
      if (e && live.has(name) && lastRead.get(name) === i) {
        live.delete(name);
        liveBytes -= bytes(e);
      }
    }
  }
  return { activationBytesPerPixel: peak, macsPerPixel: macs > 0 ? macs : null };
}

/** The same, from an ONNX file's bytes. */
export function graphCost(bytes: Uint8Array, label: string): GraphCost {
  return graphCostPerPixel(decodeOnnx(bytes, label));
}
