// The ncnn `.param` text format, parsed into plain data. Nothing here reads weights or
// builds ONNX: the structure is validated first (magic, counts, blob wiring) so that the
// converter can assume a well-formed graph and report problems in terms of the file.

/** The magic number on the first line of every text `.param` file. */
export const NCNN_PARAM_MAGIC = 7767517;

/**
 * One `key=value` of a layer line. ncnn decides int vs float from the spelling (a '.' or an
 * 'e' makes a float) and keeps both in one union, so the kind is kept here to catch an int
 * parameter written as a float instead of silently reinterpreting it as ncnn would.
 */
export type NcnnParamValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'array'; readonly values: readonly number[]; readonly hasFloat: boolean }
  | { readonly kind: 'string'; readonly value: string };

export interface NcnnLayer {
  readonly type: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Keyed by parameter id; array keys (-23300 - id) are stored under their plain id. */
  readonly params: ReadonlyMap<number, NcnnParamValue>;
  /** 1-based line in the `.param` text, for error messages. */
  readonly line: number;
}

export interface NcnnParamFile {
  readonly layers: readonly NcnnLayer[];
  readonly blobCount: number;
}

/** ncnn's ParamDict holds ids 0..31 (NCNN_MAX_PARAM_COUNT). */
const MAX_PARAM_ID = 32;
const ARRAY_KEY_BASE = -23300;

const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `label: layer Type 'name' (line N)`: the prefix of every per-layer error. */
export function describeLayer(label: string, layer: Pick<NcnnLayer, 'type' | 'name' | 'line'>): string {
  return `${label}: layer ${layer.type} '${layer.name}' (line ${layer.line})`;
}

function parseNumber(text: string, where: string): { value: number; isFloat: boolean } {
  // ncnn's own test for "is a float" is the presence of '.' or 'e'; the regexes only add
  // the rejection of garbage that sscanf would have half-read.
  if (INTEGER.test(text)) return { value: Number.parseInt(text, 10), isFloat: false };
  if (FLOAT.test(text)) return { value: Number.parseFloat(text), isFloat: true };
  throw new Error(`${where}: '${text}' is not a number`);
}

function parseValue(key: number, raw: string, where: string): { id: number; value: NcnnParamValue } {
  if (key <= ARRAY_KEY_BASE) {
    // Old-style array: `-233xx=count,v0,v1,...`.
    const id = ARRAY_KEY_BASE - key;
    const [countText = '', ...items] = raw.split(',');
    if (!INTEGER.test(countText))
      throw new Error(`${where}: array parameter ${key} has count '${countText}', expected an integer`);
    const count = Number.parseInt(countText, 10);
    if (items.length !== count) {
      throw new Error(`${where}: array parameter ${key} declares ${count} values but has ${items.length}`);
    }
    const parsed = items.map((s) => parseNumber(s, `${where}: array parameter ${key}`));
    return {
      id,
      value: { kind: 'array', values: parsed.map((p) => p.value), hasFloat: parsed.some((p) => p.isFloat) },
    };
  }
  if (key < 0) throw new Error(`${where}: parameter id ${key} is negative but not an array id (<= ${ARRAY_KEY_BASE})`);
  if (/^[A-Za-z"]/.test(raw)) {
    return { id: key, value: { kind: 'string', value: raw.replace(/^"|"$/g, '') } };
  }
  if (raw.includes(',')) {
    // Modern array spelling: `3=0.1,0.2`.
    const parsed = raw.split(',').map((s) => parseNumber(s, `${where}: parameter ${key}`));
    return {
      id: key,
      value: { kind: 'array', values: parsed.map((p) => p.value), hasFloat: parsed.some((p) => p.isFloat) },
    };
  }
  const n = parseNumber(raw, `${where}: parameter ${key}`);
  return { id: key, value: n.isFloat ? { kind: 'float', value: n.value } : { kind: 'int', value: n.value } };
}

function parseLayerLine(tokens: readonly string[], lineNumber: number, label: string): NcnnLayer {
  const [type, name, inText, outText] = tokens;
  const head = `${label}: line ${lineNumber}`;
  if (type === undefined || name === undefined || inText === undefined || outText === undefined) {
    throw new Error(`${head}: expected 'Type Name inputCount outputCount ...', found '${tokens.join(' ')}'`);
  }
  const where = describeLayer(label, { type, name, line: lineNumber });
  if (!INTEGER.test(inText) || !INTEGER.test(outText)) {
    throw new Error(`${where}: input/output counts must be integers, found '${inText}' '${outText}'`);
  }
  const inputCount = Number.parseInt(inText, 10);
  const outputCount = Number.parseInt(outText, 10);
  if (inputCount < 0 || outputCount < 0)
    throw new Error(`${where}: negative blob count ${inputCount} / ${outputCount}`);
  // Blob names run up to the first `key=value`; counting them that way makes a wrong
  // count in the header of the line an error instead of a silently misread parameter.
  const firstParam = tokens.findIndex((t, i) => i >= 4 && /^-?\d+=/.test(t));
  const blobEnd = firstParam < 0 ? tokens.length : firstParam;
  const blobNames = tokens.slice(4, blobEnd);
  if (blobNames.length !== inputCount + outputCount) {
    throw new Error(
      `${where}: declares ${inputCount} inputs and ${outputCount} outputs (${inputCount + outputCount} blob names) but the line has ${blobNames.length}: ${blobNames.join(' ')}`,
    );
  }
  const params = new Map<number, NcnnParamValue>();
  for (const token of tokens.slice(blobEnd)) {
    const eq = token.indexOf('=');
    const keyText = token.slice(0, eq);
    if (eq <= 0 || !INTEGER.test(keyText)) {
      throw new Error(`${where}: expected 'key=value' after the blob names, found '${token}'`);
    }
    const { id, value } = parseValue(Number.parseInt(keyText, 10), token.slice(eq + 1), where);
    if (id >= MAX_PARAM_ID)
      throw new Error(`${where}: parameter id ${keyText} is out of range (ncnn allows 0..${MAX_PARAM_ID - 1})`);
    if (params.has(id)) throw new Error(`${where}: parameter ${keyText} is given twice`);
    params.set(id, value);
  }
  return {
    type,
    name,
    inputs: blobNames.slice(0, inputCount),
    outputs: blobNames.slice(inputCount),
    params,
    line: lineNumber,
  };
}

/**
 * Parses and validates a text `.param`. Beyond the syntax, it checks what the converter
 * relies on: the declared layer and blob counts, unique layer and blob names, and that
 * every blob a layer reads was produced by an earlier layer (ncnn files are topologically
 * ordered; a forward reference means a damaged or hand-edited file).
 */
export function parseNcnnParam(text: string, label: string): NcnnParamFile {
  const lines = text.split(/\r?\n/);
  let index = 0;
  const nextLine = (): { tokens: string[]; lineNumber: number } | undefined => {
    while (index < lines.length) {
      const tokens = (lines[index] ?? '')
        .trim()
        .split(/\s+/)
        .filter((t) => t.length > 0);
      index++;
      if (tokens.length > 0) return { tokens, lineNumber: index };
    }
    return undefined;
  };

  const magicLine = nextLine();
  const magic = magicLine?.tokens[0];
  if (magic !== String(NCNN_PARAM_MAGIC) || magicLine?.tokens.length !== 1) {
    const found = (magicLine?.tokens.join(' ') ?? '').slice(0, 40);
    throw new Error(
      `${label}: not an ncnn text .param file: the first line should be the magic number ${NCNN_PARAM_MAGIC}, found '${found}'`,
    );
  }
  const countsLine = nextLine();
  const [layerCountText, blobCountText] = countsLine?.tokens ?? [];
  if (countsLine?.tokens.length !== 2 || !INTEGER.test(layerCountText ?? '') || !INTEGER.test(blobCountText ?? '')) {
    throw new Error(
      `${label}: line ${countsLine?.lineNumber ?? 2}: expected 'layerCount blobCount', found '${countsLine?.tokens.join(' ') ?? ''}'`,
    );
  }
  const layerCount = Number.parseInt(layerCountText as string, 10);
  const blobCount = Number.parseInt(blobCountText as string, 10);
  if (layerCount <= 0 || blobCount <= 0) {
    throw new Error(`${label}: layer count ${layerCount} and blob count ${blobCount} must both be positive`);
  }

  const layers: NcnnLayer[] = [];
  for (let line = nextLine(); line !== undefined; line = nextLine()) {
    layers.push(parseLayerLine(line.tokens, line.lineNumber, label));
  }
  if (layers.length !== layerCount) {
    throw new Error(`${label}: the header declares ${layerCount} layers but the file has ${layers.length} layer lines`);
  }

  const layerNames = new Map<string, NcnnLayer>();
  const producers = new Map<string, NcnnLayer>();
  for (const layer of layers) {
    const where = describeLayer(label, layer);
    const clash = layerNames.get(layer.name);
    if (clash) throw new Error(`${where}: the layer name is already used on line ${clash.line}`);
    layerNames.set(layer.name, layer);
    for (const blob of layer.inputs) {
      if (!producers.has(blob)) throw new Error(`${where}: reads blob '${blob}', which no earlier layer produces`);
    }
    for (const blob of layer.outputs) {
      const producer = producers.get(blob);
      if (producer)
        throw new Error(
          `${where}: produces blob '${blob}', which layer '${producer.name}' (line ${producer.line}) already produces`,
        );
      producers.set(blob, layer);
    }
  }
  if (producers.size !== blobCount) {
    throw new Error(`${label}: the header declares ${blobCount} blobs but the layers produce ${producers.size}`);
  }
  return { layers, blobCount };
}

/**
 * Typed access to one layer's parameters, with ncnn's defaults. Every accessor names the
 * file, the layer and the parameter id when the stored value has the wrong kind.
 */
export class NcnnLayerParams {
  readonly where: string;

  constructor(
    readonly layer: NcnnLayer,
    label: string,
  ) {
    this.where = describeLayer(label, layer);
  }

  has(id: number): boolean {
    return this.layer.params.has(id);
  }

  int(id: number, fallback: number): number {
    const v = this.layer.params.get(id);
    if (v === undefined) return fallback;
    if (v.kind !== 'int')
      throw new Error(`${this.where}: parameter ${id} should be an integer, found ${describeValue(v)}`);
    return v.value;
  }

  /**
   * Accepts an integer spelling too. ncnn would reinterpret its bits, which only agrees for
   * 0 (as in `0=0` for a ReLU slope); taking the number is what a file's author meant.
   */
  float(id: number, fallback: number): number {
    const v = this.layer.params.get(id);
    if (v === undefined) return fallback;
    if (v.kind === 'float' || v.kind === 'int') return v.value;
    throw new Error(`${this.where}: parameter ${id} should be a number, found ${describeValue(v)}`);
  }

  floats(id: number): readonly number[] {
    const v = this.layer.params.get(id);
    if (v === undefined) return [];
    if (v.kind === 'array') return v.values;
    if (v.kind === 'float' || v.kind === 'int') return [v.value];
    throw new Error(`${this.where}: parameter ${id} should be an array of numbers, found ${describeValue(v)}`);
  }

  /** Rejects parameters the converter does not implement instead of ignoring them. */
  rejectUnless(id: number, accepted: (v: NcnnParamValue) => boolean, meaning: string): void {
    const v = this.layer.params.get(id);
    if (v !== undefined && !accepted(v)) {
      throw new Error(`${this.where}: parameter ${id} (${meaning}) = ${describeValue(v)} is not supported`);
    }
  }
}

function describeValue(v: NcnnParamValue): string {
  switch (v.kind) {
    case 'int':
      return `integer ${v.value}`;
    case 'float':
      return `float ${v.value}`;
    case 'array':
      return `array [${v.values.join(', ')}]`;
    case 'string':
      return `string '${v.value}'`;
  }
}
