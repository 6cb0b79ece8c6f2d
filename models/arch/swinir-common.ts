// The image-restoration shell SwinIR introduced and HAT reuses: mean shift, a shallow
// conv, residual groups of transformer blocks over a token grid, a conv after the body,
// and one of SwinIR's reconstruction heads. The families differ only inside the
// residual groups, so detection helpers and the graph around the groups live here.
import { GraphBuilder, attr } from '../onnx/graph';
import { LayerBuilder } from '../onnx/layers';
import type { StateDict } from '../readers/state-dict';
import { WindowGrid, int64Scalar, runtimeDim, squareWindow, toFeatureMap, toTokenGrid } from '../onnx/window-attention';

/** Upstream's `upsampler` argument ('' is SwinIR's same-size restoration head). */
export type Upsampler = 'pixelshuffle' | 'pixelshuffledirect' | 'nearest+conv' | '';

/** Upstream's `resi_connection`: what sits before each group's and the body's residual add. */
export type ResidualConv = '1conv' | '3conv' | 'identity';

/** DIV2K RGB mean that SwinIR and HAT subtract from 3-channel input (upstream's rgb_mean). */
export const DIV2K_RGB_MEAN: readonly number[] = [0.4488, 0.4371, 0.404];

/** Upstream's mean for any other channel count: torch.zeros(1, 1, 1, 1). */
export function upstreamMean(inChannels: number): readonly number[] {
  return inChannels === 3 ? DIV2K_RGB_MEAN : [0];
}

/** Hyper-parameters of the shell around the residual groups. */
export interface ShellConfig {
  /**
   * 3 (RGB) or 1 (grayscale). A grayscale network is applied to each RGB channel
   * separately: the graph moves channels into the batch axis and back.
   */
  readonly inChannels: number;
  readonly embedDim: number;
  readonly scale: number;
  readonly upsampler: Upsampler;
  readonly resiConnection: ResidualConv;
  /** LayerNorm right after patch embedding (upstream patch_norm). */
  readonly patchNorm: boolean;
  /** Window size; the input is reflect-padded to a multiple of it. */
  readonly windowSize: number;
  /** Upstream img_range (1, or 255 for SwinIR's JPEG models); not stored in the weights. */
  readonly imgRange: number;
  readonly rgbMean: readonly number[];
}

// ---------------------------------------------------------------------------------------
// Detection helpers: plain functions over key names and shapes.

/** The tensor's shape, or an error naming the key and what the architecture needs it for. */
export function requireShape(sd: StateDict, key: string, rank: number, purpose: string): readonly number[] {
  const t = sd.get(key);
  if (!t) throw new Error(`the weights have no tensor '${key}' (${purpose})`);
  if (t.shape.length !== rank) {
    throw new Error(`'${key}' has shape [${t.shape.join(', ')}], expected a ${rank}-d tensor (${purpose})`);
  }
  return t.shape;
}

/** Expects `key` to have exactly `expected` as its shape. */
export function expectShape(sd: StateDict, key: string, expected: readonly number[]): void {
  const t = sd.get(key);
  if (!t) throw new Error(`the weights have no tensor '${key}' (expected shape [${expected.join(', ')}])`);
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`'${key}' has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

export function expectConv(sd: StateDict, prefix: string, out: number, inC: number, kernel: number): void {
  expectShape(sd, `${prefix}.weight`, [out, inC, kernel, kernel]);
  expectShape(sd, `${prefix}.bias`, [out]);
}

export function expectLinear(sd: StateDict, prefix: string, out: number, inF: number): void {
  expectShape(sd, `${prefix}.weight`, [out, inF]);
  expectShape(sd, `${prefix}.bias`, [out]);
}

export function expectNorm(sd: StateDict, prefix: string, channels: number): void {
  expectShape(sd, `${prefix}.weight`, [channels]);
  expectShape(sd, `${prefix}.bias`, [channels]);
}

/**
 * How many consecutive children `${prefix}0.`, `${prefix}1.`, … have tensors. A gap
 * (child 2 present but 1 missing) is an error: the weights would be incomplete.
 */
export function countChildren(sd: StateDict, prefix: string): number {
  const seen = new Set<number>();
  for (const key of sd.keys()) {
    if (!key.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(key.slice(prefix.length));
    if (m) seen.add(Number(m[1]));
  }
  const count = seen.size === 0 ? 0 : Math.max(...seen) + 1;
  for (let i = 0; i < count; i++) {
    if (!seen.has(i)) throw new Error(`the weights have '${prefix}${count - 1}.*' but no '${prefix}${i}.*'`);
  }
  return count;
}

/** Window size w from a Swin bias table of (2w - 1)² rows. */
export function windowSizeFromTable(key: string, shape: readonly number[]): number {
  const rows = shape[0] as number;
  const side = Math.round(Math.sqrt(rows));
  if (side * side !== rows || side % 2 !== 1) {
    throw new Error(`'${key}' has ${rows} rows, expected (2·window − 1)² for an integer window`);
  }
  return (side + 1) / 2;
}

/** What every block of a residual group shares. */
export interface SwinGroupShape {
  readonly depth: number;
  readonly heads: number;
  readonly windowSize: number;
  readonly hidden: number;
}

/** How many blocks residual group `layer` has; an empty group is an error. */
export function groupDepth(sd: StateDict, layer: number): number {
  const prefix = `layers.${layer}.residual_group.blocks.`;
  const depth = countChildren(sd, prefix);
  if (depth === 0) throw new Error(`the weights have no '${prefix}0.*' (residual group ${layer} is empty)`);
  return depth;
}

/** A Swin block's window attention as its bias table gives it: rows (2w − 1)², one column per head. */
export interface AttentionTable {
  readonly key: string;
  readonly rows: number;
  readonly windowSize: number;
  readonly heads: number;
}

/** Reads the bias table of the block at `prefix`, checking that its heads divide the embedding width. */
export function readAttentionTable(sd: StateDict, prefix: string, embedDim: number): AttentionTable {
  const key = `${prefix}.attn.relative_position_bias_table`;
  const table = requireShape(sd, key, 2, 'window attention bias table');
  const heads = table[1] as number;
  if (embedDim % heads !== 0)
    throw new Error(`'${key}' gives ${heads} heads, which do not divide embed_dim ${embedDim}`);
  return { key, rows: table[0] as number, windowSize: windowSizeFromTable(key, table), heads };
}

/** Checks the norms, attention projections and MLP of the Swin block at `prefix`. */
export function expectSwinBlock(sd: StateDict, prefix: string, embedDim: number, hidden: number): void {
  expectNorm(sd, `${prefix}.norm1`, embedDim);
  expectNorm(sd, `${prefix}.norm2`, embedDim);
  expectLinear(sd, `${prefix}.attn.qkv`, 3 * embedDim, embedDim);
  expectLinear(sd, `${prefix}.attn.proj`, embedDim, embedDim);
  expectLinear(sd, `${prefix}.mlp.fc1`, hidden, embedDim);
  expectLinear(sd, `${prefix}.mlp.fc2`, embedDim, hidden);
}

/** Which residual-connection conv sits at `prefix` ('layers.0.conv', 'conv_after_body'). */
export function detectResidualConv(sd: StateDict, prefix: string, allowed: readonly ResidualConv[]): ResidualConv {
  let found: ResidualConv;
  if (sd.has(`${prefix}.weight`)) found = '1conv';
  else if (sd.has(`${prefix}.0.weight`) && sd.has(`${prefix}.2.weight`) && sd.has(`${prefix}.4.weight`))
    found = '3conv';
  else if (![...sd.keys()].some((k) => k.startsWith(`${prefix}.`))) found = 'identity';
  else throw new Error(`'${prefix}.*' is neither one conv ('${prefix}.weight') nor three ('${prefix}.0/.2/.4.weight')`);
  if (!allowed.includes(found)) {
    const what = found === 'identity' ? `no '${prefix}.*' tensors` : `a ${found} '${prefix}'`;
    throw new Error(`the weights have ${what}; expected a residual connection of kind ${allowed.join(' or ')}`);
  }
  return found;
}

/**
 * Indices of the convs in upstream's Upsample Sequential (conv, PixelShuffle, conv, …):
 * the shuffles hold no tensors, so the convs sit at 0, 2, 4, ….
 */
export function upsampleConvIndices(sd: StateDict): number[] {
  const indices: number[] = [];
  for (const key of sd.keys()) {
    const m = /^upsample\.(\d+)\.weight$/.exec(key);
    if (m) indices.push(Number(m[1]));
  }
  indices.sort((a, b) => a - b);
  indices.forEach((index, position) => {
    if (index !== 2 * position) {
      throw new Error(
        `the weights have 'upsample.${index}.weight' where 'upsample.${2 * position}.weight' was expected (conv, PixelShuffle, conv, …)`,
      );
    }
  });
  return indices;
}

/** Reads the reconstruction head and the scale it implies from the upsampling convs. */
export function detectUpsampler(
  sd: StateDict,
  embedDim: number,
  outChannels: number,
): { upsampler: Upsampler; scale: number } {
  if (sd.has('conv_up1.weight')) {
    // nearest+conv (real-world SwinIR): one nearest ×2 + conv per doubling; x4 has conv_up2.
    for (const key of ['conv_before_upsample.0.weight', 'conv_hr.weight', 'conv_last.weight'])
      requireShape(sd, key, 4, 'nearest+conv head');
    return { upsampler: 'nearest+conv', scale: sd.has('conv_up2.weight') ? 4 : 2 };
  }
  if (sd.has('conv_before_upsample.0.weight')) {
    const numFeat = requireShape(sd, 'conv_before_upsample.0.weight', 4, 'pixelshuffle head')[0] as number;
    const convs = upsampleConvIndices(sd);
    if (convs.length === 0)
      throw new Error(`the weights have 'conv_before_upsample.0.weight' but no 'upsample.0.weight'`);
    const stages: number[] = [];
    for (const i of convs) {
      const key = `upsample.${i}.weight`;
      const out = requireShape(sd, key, 4, 'pixelshuffle upsample conv')[0] as number;
      expectShape(sd, key, [out, numFeat, 3, 3]);
      if (out === 4 * numFeat) stages.push(2);
      else if (out === 9 * numFeat && convs.length === 1) stages.push(3);
      else
        throw new Error(
          `'${key}' has ${out} output channels, expected ${4 * numFeat} (×2 stage) or ${9 * numFeat} (single ×3 stage)`,
        );
    }
    requireShape(sd, 'conv_last.weight', 4, 'pixelshuffle head');
    return { upsampler: 'pixelshuffle', scale: stages.reduce((a, b) => a * b, 1) };
  }
  if (sd.has('upsample.0.weight')) {
    const [out, inC] = requireShape(sd, 'upsample.0.weight', 4, 'pixelshuffledirect head') as [number, number];
    const scale = Math.round(Math.sqrt(out / outChannels));
    if (scale * scale * outChannels !== out || inC !== embedDim) {
      throw new Error(
        `'upsample.0.weight' has shape [${out}, ${inC}, …], expected [scale² × ${outChannels}, ${embedDim}, …]`,
      );
    }
    return { upsampler: 'pixelshuffledirect', scale };
  }
  expectShape(sd, 'conv_last.weight', [outChannels, embedDim, 3, 3]);
  return { upsampler: '', scale: 1 };
}

function expectResidualConv(sd: StateDict, prefix: string, kind: ResidualConv, c: number): void {
  switch (kind) {
    case 'identity':
      return;
    case '1conv':
      return expectConv(sd, prefix, c, c, 3);
    case '3conv':
      expectConv(sd, `${prefix}.0`, c / 4, c, 3);
      expectConv(sd, `${prefix}.2`, c / 4, c / 4, 1);
      return expectConv(sd, `${prefix}.4`, c, c / 4, 3);
  }
}

/**
 * Checks every tensor the shell reads (everything outside the residual groups' blocks)
 * against the detected config, so incomplete weights fail at detection with the key
 * named rather than in the middle of a build.
 */
export function checkShellTensors(sd: StateDict, c: ShellConfig, layerCount: number): void {
  const e = c.embedDim;
  const out = c.inChannels;
  expectConv(sd, 'conv_first', e, c.inChannels, 3);
  if (c.patchNorm) expectNorm(sd, 'patch_embed.norm', e);
  for (let i = 0; i < layerCount; i++) expectResidualConv(sd, `layers.${i}.conv`, c.resiConnection, e);
  expectNorm(sd, 'norm', e);
  expectResidualConv(sd, 'conv_after_body', c.resiConnection, e);
  switch (c.upsampler) {
    case 'pixelshuffle': {
      const feat = requireShape(sd, 'conv_before_upsample.0.weight', 4, 'pixelshuffle head')[0] as number;
      expectConv(sd, 'conv_before_upsample.0', feat, e, 3);
      for (const i of upsampleConvIndices(sd)) {
        expectConv(
          sd,
          `upsample.${i}`,
          requireShape(sd, `upsample.${i}.weight`, 4, 'upsample conv')[0] as number,
          feat,
          3,
        );
      }
      return expectConv(sd, 'conv_last', out, feat, 3);
    }
    case 'pixelshuffledirect':
      return expectConv(sd, 'upsample.0', c.scale * c.scale * out, e, 3);
    case 'nearest+conv': {
      const feat = requireShape(sd, 'conv_before_upsample.0.weight', 4, 'nearest+conv head')[0] as number;
      expectConv(sd, 'conv_before_upsample.0', feat, e, 3);
      expectConv(sd, 'conv_up1', feat, feat, 3);
      if (c.scale === 4) expectConv(sd, 'conv_up2', feat, feat, 3);
      expectConv(sd, 'conv_hr', feat, feat, 3);
      return expectConv(sd, 'conv_last', out, feat, 3);
    }
    case '':
      return expectConv(sd, 'conv_last', out, e, 3);
  }
}

// ---------------------------------------------------------------------------------------
// Graph pieces.

/** The Swin MLP: fc1, exact GELU, fc2, over the last axis. */
export function mlp(lb: LayerBuilder, x: string, prefix: string): string {
  return lb.linear(lb.gelu(lb.linear(x, `${prefix}.fc1`)), `${prefix}.fc2`);
}

/** The conv before a residual add, on an NCHW map. */
export function residualConv(lb: LayerBuilder, x: string, prefix: string, kind: ResidualConv): string {
  switch (kind) {
    case 'identity':
      return x;
    case '1conv':
      return lb.conv2d(x, prefix);
    case '3conv': {
      const a = lb.leakyRelu(lb.conv2d(x, `${prefix}.0`), 0.2);
      const b = lb.leakyRelu(lb.conv2d(a, `${prefix}.2`), 0.2);
      return lb.conv2d(b, `${prefix}.4`);
    }
  }
}

/** Builds one residual group's blocks on a [B, H, W, C] token grid. */
export type ResidualGroupBody = (lb: LayerBuilder, tokens: string, layer: number, grid: WindowGrid) => string;

/** How the shell is wired: the config, the number of residual groups and their body. */
export interface ShellSpec {
  readonly graphName: string;
  readonly config: ShellConfig;
  readonly layerCount: number;
  readonly residualGroup: ResidualGroupBody;
}

function reconstruct(
  lb: LayerBuilder,
  features: string,
  shallow: string,
  normalisedInput: string,
  c: ShellConfig,
): string {
  const body = lb.add(residualConv(lb, features, 'conv_after_body', c.resiConnection), shallow);
  switch (c.upsampler) {
    case 'pixelshuffle': {
      // nn.LeakyReLU() with its default slope 0.01 here, unlike the 0.2 elsewhere.
      let x = lb.leakyRelu(lb.conv2d(body, 'conv_before_upsample.0'), 0.01);
      for (const i of upsampleConvIndices(lb.sd)) {
        const [out, inC] = lb.shapeOf(`upsample.${i}.weight`) as [number, number];
        x = lb.pixelShuffle(lb.conv2d(x, `upsample.${i}`), out === 9 * inC ? 3 : 2);
      }
      return lb.conv2d(x, 'conv_last');
    }
    case 'pixelshuffledirect':
      return lb.pixelShuffle(lb.conv2d(body, 'upsample.0'), c.scale);
    case 'nearest+conv': {
      let x = lb.leakyRelu(lb.conv2d(body, 'conv_before_upsample.0'), 0.01);
      x = lb.leakyRelu(lb.conv2d(lb.upsampleNearest(x, 2), 'conv_up1'), 0.2);
      if (c.scale === 4) x = lb.leakyRelu(lb.conv2d(lb.upsampleNearest(x, 2), 'conv_up2'), 0.2);
      return lb.conv2d(lb.leakyRelu(lb.conv2d(x, 'conv_hr'), 0.2), 'conv_last');
    }
    case '':
      return lb.add(normalisedInput, lb.conv2d(body, 'conv_last'));
  }
}

/**
 * F.pad(mode='reflect') on the bottom (or right) of `axis` up to the next multiple of
 * `multiple`, as a Gather with indices computed from the runtime size. For pads smaller
 * than the axis (all PyTorch accepts) this is exactly reflect padding; larger pads keep
 * reflecting back and forth (and a 1-pixel axis repeats), so tiny inputs still work.
 */
export function reflectPadToMultiple(
  lb: LayerBuilder,
  x: string,
  axis: number,
  length: string,
  multiple: number,
): string {
  const g = lb.g;
  const m = lb.ints([multiple]);
  const padded = g.op(
    'Mul',
    [g.op('Div', [g.op('Add', [length, lb.ints([multiple - 1])]), m]), m],
    {},
    'padded_length',
  );
  const toScalar = (v: string): string => g.op('Squeeze', [v, lb.ints([0])]);
  const positions = g.op('Range', [int64Scalar(lb, 0), toScalar(padded), int64Scalar(lb, 1)], {}, 'pad_positions');
  // Reflection repeats with period 2(L − 1); a single pixel has nothing to reflect.
  const period = g.op(
    'Max',
    [g.op('Mul', [g.op('Sub', [length, lb.ints([1])]), lb.ints([2])]), lb.ints([1])],
    {},
    'reflect_period',
  );
  const phase = g.op('Mod', [positions, period]);
  const source = g.op(
    'Where',
    [g.op('Less', [phase, length]), phase, g.op('Sub', [period, phase])],
    {},
    'reflect_source',
  );
  return g.op('Gather', [x, source], { axis: attr.int(axis) }, 'window_pad');
}

/**
 * The whole network as ONNX. Like upstream SwinIR's forward (and HAT's test-time
 * wrapper), the input is reflect-padded on the bottom/right to a multiple of the window
 * and the output cropped back to scale × the input size; pads are computed from the
 * runtime shape, so one graph takes any input size.
 */
export function buildShellGraph(sd: StateDict, spec: ShellSpec): Uint8Array {
  const c = spec.config;
  const g = new GraphBuilder(spec.graphName);
  const lb = new LayerBuilder(g, sd);
  const input = g.input('input', [1, 3, 'height', 'width']);

  const height = runtimeDim(lb, input, 2);
  const width = runtimeDim(lb, input, 3);
  const padded = reflectPadToMultiple(
    lb,
    reflectPadToMultiple(lb, input, 2, height, c.windowSize),
    3,
    width,
    c.windowSize,
  );
  const channelsAsBatch = c.inChannels === 1;
  const images = channelsAsBatch
    ? g.op('Transpose', [padded], { perm: attr.ints([1, 0, 2, 3]) }, 'channels_as_batch')
    : padded;

  const mean = g.f32('rgb_mean', c.rgbMean, [1, c.rgbMean.length, 1, 1]);
  let x = g.op('Sub', [images, mean], {}, 'mean_shift');
  if (c.imgRange !== 1) x = lb.mul(x, lb.scalar(c.imgRange));

  const shallow = lb.conv2d(x, 'conv_first');
  let tokens = toTokenGrid(lb, shallow);
  if (c.patchNorm) tokens = lb.layerNorm(tokens, 'patch_embed.norm');
  const grid = new WindowGrid(lb, tokens, squareWindow(c.windowSize));
  for (let i = 0; i < spec.layerCount; i++) {
    const groupOut = spec.residualGroup(lb, tokens, i, grid);
    const conv = residualConv(lb, toFeatureMap(lb, groupOut), `layers.${i}.conv`, c.resiConnection);
    tokens = lb.add(toTokenGrid(lb, conv), tokens);
  }
  const features = toFeatureMap(lb, lb.layerNorm(tokens, 'norm'));

  let y = reconstruct(lb, features, shallow, x, c);
  if (c.imgRange !== 1) y = g.op('Div', [y, lb.scalar(c.imgRange)]);
  y = lb.add(y, mean);
  if (channelsAsBatch) y = g.op('Transpose', [y], { perm: attr.ints([1, 0, 2, 3]) }, 'batch_as_channels');

  const ends = g.op(
    'Concat',
    [g.op('Mul', [height, lb.ints([c.scale])]), g.op('Mul', [width, lb.ints([c.scale])])],
    { axis: attr.int(0) },
    'crop_ends',
  );
  const cropped = g.op('Slice', [y, lb.ints([0, 0]), ends, lb.ints([2, 3])], {}, 'crop');
  g.output(cropped, 'output', [1, 3, 'out_height', 'out_width']);
  return g.toBytes(spec.graphName);
}
