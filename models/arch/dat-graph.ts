// DAT's forward pass as an ONNX graph. Features travel as [1, H, W, C] (token layout, so
// LayerNorm and Linear act on the last axis) and are transposed to NCHW only around convs.
// H and W are dynamic: padding, window counts and shift masks are computed in-graph from
// the input's shape, as upstream computes them in forward().
import { GraphBuilder, attr, type Attr } from '../onnx/graph';
import { LayerBuilder } from '../onnx/layers';
import type { StateDict } from '../readers/state-dict';
import { isShiftedBlock, isSpatialBlock, type DatConfig } from './dat-config';
import { positionBiasTable, relativePositionIndex } from './dat-position-bias';

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
// ONNX Slice clamps ends to the axis length; this stands for "to the end".
const TO_END = Number.MAX_SAFE_INTEGER;
// The RGB mean upstream subtracts for 3-channel input (DIV2K statistics).
const RGB_MEAN = [0.4488, 0.4371, 0.404];
// ONNX TensorProto element type for Cast's `to`.
const FLOAT = 1;

/** A dimension in a runtime shape: a constant, or the name of a 1-element int64 tensor. */
type DimPart = number | { readonly dynamic: string };

/** A spatial window [height, width] of one attention branch. */
interface Window {
  readonly h: number;
  readonly w: number;
}

class DatGraph {
  private readonly g: GraphBuilder;
  private readonly c: number;
  /** Image height/width, and both padded up to a multiple of max(split_size). */
  private height = '';
  private width = '';
  private paddedHeight = '';
  private paddedWidth = '';
  private padAmounts = '';
  private readonly windowCounts = new Map<string, { rows: string; cols: string }>();
  private readonly shiftMasks = new Map<string, string>();
  private readonly pairIndices = new Map<string, string>();
  private readonly int64Scalars = new Map<number, string>();

  constructor(
    private readonly L: LayerBuilder,
    private readonly cfg: DatConfig,
  ) {
    this.g = L.g;
    this.c = cfg.embedDim;
  }

  private op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.g.op(opType, inputs, attrs);
  }

  private transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  private reshape(x: string, shape: string): string {
    return this.op('Reshape', [x, shape]);
  }

  /** A 0-d int64 constant (Range bounds, Gather indices that drop their axis). */
  private int64Scalar(value: number): string {
    let name = this.int64Scalars.get(value);
    if (!name) {
      name = this.g.initializer(`i64_${value}`, BigInt64Array.from([BigInt(value)]), []);
      this.int64Scalars.set(value, name);
    }
    return name;
  }

  /** A runtime shape tensor from constant and dynamic parts. */
  private shape(parts: readonly DimPart[]): string {
    if (parts.every((p) => typeof p === 'number')) return this.L.ints(parts);
    const pieces: string[] = [];
    let constants: number[] = [];
    for (const p of parts) {
      if (typeof p === 'number') {
        constants.push(p);
        continue;
      }
      if (constants.length > 0) pieces.push(this.L.ints(constants));
      constants = [];
      pieces.push(p.dynamic);
    }
    if (constants.length > 0) pieces.push(this.L.ints(constants));
    return this.op('Concat', pieces, { axis: attr.int(0) });
  }

  /** Image size and the zero padding every spatial attention applies to q/k/v. */
  private computeSizes(input: string): void {
    const inputShape = this.op('Shape', [input]);
    this.height = this.op('Gather', [inputShape, this.L.ints([2])], { axis: attr.int(0) });
    this.width = this.op('Gather', [inputShape, this.L.ints([3])], { axis: attr.int(0) });
    const multiple = this.L.ints([Math.max(...this.cfg.splitSize)]);
    // (m - n % m) % m, as upstream computes pad_b and pad_r.
    const padTo = (n: string): string =>
      this.op('Mod', [this.op('Sub', [multiple, this.op('Mod', [n, multiple])]), multiple]);
    const padBottom = padTo(this.height);
    const padRight = padTo(this.width);
    this.paddedHeight = this.op('Add', [this.height, padBottom]);
    this.paddedWidth = this.op('Add', [this.width, padRight]);
    // Pads for a [1, H, W, C] tensor: begins for all axes, then ends.
    this.padAmounts = this.shape([0, 0, 0, 0, 0, { dynamic: padBottom }, { dynamic: padRight }, 0]);
  }

  private windowGrid(win: Window): { rows: string; cols: string } {
    const key = `${win.h}x${win.w}`;
    let grid = this.windowCounts.get(key);
    if (!grid) {
      grid = {
        rows: this.op('Div', [this.paddedHeight, this.L.ints([win.h])]),
        cols: this.op('Div', [this.paddedWidth, this.L.ints([win.w])]),
      };
      this.windowCounts.set(key, grid);
    }
    return grid;
  }

  /** torch.roll(x, shift, axis) for a static shift smaller than the axis. */
  private roll(x: string, axis: number, shift: number): string {
    if (shift === 0) return x;
    const axes = this.L.ints([axis]);
    // roll by -s brings x[s:] to the front; roll by +s brings x[-s:] to the front.
    const cut = -shift;
    const head = this.op('Slice', [x, this.L.ints([cut]), this.L.ints([TO_END]), axes]);
    const tail = this.op('Slice', [x, this.L.ints([0]), this.L.ints([cut]), axes]);
    return this.op('Concat', [head, tail], { axis: attr.int(axis) });
  }

  private cropToImage(x: string): string {
    const ends = this.shape([{ dynamic: this.height }, { dynamic: this.width }]);
    return this.op('Slice', [x, this.L.ints([0, 0]), ends, this.L.ints([1, 2])]);
  }

  /**
   * Upstream's calculate_mask for the padded size: label the image in 3x3 regions cut at
   * -window and -shift from the bottom/right edges, and forbid attention (-100) between
   * tokens of one window with different labels. Returns [windows, 1, N, N].
   */
  private shiftMask(win: Window): string {
    const key = `${win.h}x${win.w}`;
    const cached = this.shiftMasks.get(key);
    if (cached) return cached;
    const axisLabels = (padded: string, size: number): string => {
      const shift = Math.floor(size / 2);
      const limit = this.op('Squeeze', [padded, this.L.ints([0])]);
      const positions = this.op('Range', [this.int64Scalar(0), limit, this.int64Scalar(1)]);
      const after = (from: number): string =>
        this.op('Cast', [this.op('GreaterOrEqual', [positions, this.op('Sub', [limit, this.int64Scalar(from)])])], {
          to: attr.int(FLOAT),
        });
      // With shift 0 upstream's third slice (-0:) covers the whole axis: one label for all.
      if (shift === 0) return this.op('Mul', [this.op('Cast', [positions], { to: attr.int(FLOAT) }), this.L.scalar(0)]);
      return this.op('Add', [after(size), after(shift)]);
    };
    const rowLabels = axisLabels(this.paddedHeight, win.h);
    const colLabels = axisLabels(this.paddedWidth, win.w);
    const labels = this.op('Add', [
      this.op('Mul', [this.op('Unsqueeze', [rowLabels, this.L.ints([1])]), this.L.scalar(3)]),
      this.op('Unsqueeze', [colLabels, this.L.ints([0])]),
    ]);
    const grid = this.windowGrid(win);
    const blocks = this.reshape(labels, this.shape([{ dynamic: grid.rows }, win.h, { dynamic: grid.cols }, win.w]));
    const perWindow = this.reshape(this.transpose(blocks, [0, 2, 1, 3]), this.L.ints([-1, win.h * win.w]));
    const difference = this.op('Sub', [
      this.op('Unsqueeze', [perWindow, this.L.ints([1])]),
      this.op('Unsqueeze', [perWindow, this.L.ints([2])]),
    ]);
    const mask = this.op('Where', [
      this.op('Equal', [difference, this.L.scalar(0)]),
      this.L.scalar(0),
      this.L.scalar(-100),
    ]);
    const result = this.op('Unsqueeze', [mask, this.L.ints([1])]);
    this.shiftMasks.set(key, result);
    return result;
  }

  /** The [heads, N, N] dynamic position bias of one spatial branch. */
  private positionBias(prefix: string, win: Window): string {
    const table = positionBiasTable(this.L.sd, prefix, win.h, win.w);
    const tableName = this.g.f32(`${prefix}.table`, table.data, [table.heads, table.offsets]);
    const key = `${win.h}x${win.w}`;
    let index = this.pairIndices.get(key);
    if (!index) {
      const n = win.h * win.w;
      index = this.g.i64(`relative_position_index_${key}`, relativePositionIndex(win.h, win.w), [n, n]);
      this.pairIndices.set(key, index);
    }
    return this.op('Gather', [tableName, index], { axis: attr.int(1) });
  }

  /**
   * One Spatial_Attention branch on its slice of the padded q/k/v ([1, Hp, Wp, 3, heads,
   * headDim]); returns [1, H, W, heads*headDim].
   */
  private spatialBranch(
    qkv: string,
    prefix: string,
    win: Window,
    heads: number,
    headDim: number,
    shifted: boolean,
  ): string {
    const rowShift = Math.floor(win.h / 2);
    const colShift = Math.floor(win.w / 2);
    let x = qkv;
    if (shifted) x = this.roll(this.roll(x, 1, -rowShift), 2, -colShift);
    const grid = this.windowGrid(win);
    const n = win.h * win.w;
    const tiles = this.reshape(
      x,
      this.shape([{ dynamic: grid.rows }, win.h, { dynamic: grid.cols }, win.w, 3, heads, headDim]),
    );
    // -> [3, rows, cols, heads, win.h, win.w, headDim]: windows row-major, tokens row-major.
    const windows = this.reshape(this.transpose(tiles, [4, 0, 2, 5, 1, 3, 6]), this.L.ints([3, -1, heads, n, headDim]));
    const part = (i: number): string => this.op('Gather', [windows, this.int64Scalar(i)], { axis: attr.int(0) });
    const q = this.op('Mul', [part(0), this.L.scalar(headDim ** -0.5)]);
    const k = part(1);
    const v = part(2);
    let scores = this.op('MatMul', [q, this.transpose(k, [0, 1, 3, 2])]);
    scores = this.op('Add', [scores, this.positionBias(`${prefix}.pos`, win)]);
    if (shifted) scores = this.op('Add', [scores, this.shiftMask(win)]);
    const weights = this.op('Softmax', [scores], { axis: attr.int(-1) });
    const out = this.op('MatMul', [weights, v]);
    const unTiled = this.transpose(
      this.reshape(out, this.shape([{ dynamic: grid.rows }, { dynamic: grid.cols }, heads, win.h, win.w, headDim])),
      [0, 3, 1, 4, 2, 5],
    );
    let image = this.reshape(
      unTiled,
      this.shape([1, { dynamic: this.paddedHeight }, { dynamic: this.paddedWidth }, heads * headDim]),
    );
    if (shifted) image = this.roll(this.roll(image, 1, rowShift), 2, colShift);
    return this.cropToImage(image);
  }

  private batchNorm(x: string, prefix: string): string {
    const w = (p: string): string => this.L.weight(`${prefix}.${p}`);
    return this.op('BatchNormalization', [x, w('weight'), w('bias'), w('running_mean'), w('running_var')], {
      epsilon: attr.float(1e-5),
    });
  }

  /** dwconv: depthwise 3x3, BatchNorm, GELU (NCHW in and out). */
  private convBranch(v: string, prefix: string): string {
    const conv = this.L.conv2d(v, `${prefix}.dwconv.0`, { groups: this.c });
    return this.L.gelu(this.batchNorm(conv, `${prefix}.dwconv.1`));
  }

  /** C-Map before the sigmoid: [1, C, 1, 1] from an NCHW map. */
  private channelMap(x: string, prefix: string): string {
    const pooled = this.op('GlobalAveragePool', [x]);
    const squeezed = this.L.gelu(
      this.batchNorm(this.L.conv2d(pooled, `${prefix}.channel_interaction.1`), `${prefix}.channel_interaction.2`),
    );
    return this.L.conv2d(squeezed, `${prefix}.channel_interaction.4`);
  }

  /** S-Map before the sigmoid: [1, 1, H, W] from an NCHW map. */
  private spatialMap(x: string, prefix: string): string {
    const reduced = this.L.gelu(
      this.batchNorm(this.L.conv2d(x, `${prefix}.spatial_interaction.0`), `${prefix}.spatial_interaction.1`),
    );
    return this.L.conv2d(reduced, `${prefix}.spatial_interaction.3`);
  }

  /** Adaptive_Spatial_Attention on normalised tokens [1, H, W, C]. */
  private spatialAttention(x: string, prefix: string, heads: number, shifted: boolean): string {
    const c = this.c;
    const qkv = this.L.linear(x, `${prefix}.qkv`);
    const v = this.op('Slice', [qkv, this.L.ints([2 * c]), this.L.ints([3 * c]), this.L.ints([3])]);
    // Padding comes after the projection, so padded q/k/v are exact zeros (no bias), and
    // padded keys still take part in the softmax, as upstream's do.
    const padded = this.op('Pad', [qkv, this.padAmounts]);
    const branchHeads = heads / 2;
    const headDim = c / heads;
    const split = this.reshape(padded, this.L.ints([0, 0, 0, 3, 2, branchHeads, headDim]));
    const [s0, s1] = this.cfg.splitSize;
    const windows: Window[] = [
      { h: s0, w: s1 },
      { h: s1, w: s0 },
    ];
    const branches = windows.map((win, b) => {
      const part = this.op('Gather', [split, this.int64Scalar(b)], { axis: attr.int(4) });
      return this.spatialBranch(part, `${prefix}.attns.${b}`, win, branchHeads, headDim, shifted);
    });
    const attended = this.op('Concat', branches, { axis: attr.int(3) });

    const convX = this.convBranch(this.transpose(v, TO_NCHW), prefix);
    const channelGate = this.transpose(this.op('Sigmoid', [this.channelMap(convX, prefix)]), TO_NHWC);
    const spatialGate = this.op('Sigmoid', [this.spatialMap(this.transpose(attended, TO_NCHW), prefix)]);
    const gatedAttention = this.L.mul(attended, channelGate);
    const gatedConv = this.transpose(this.L.mul(convX, spatialGate), TO_NHWC);
    return this.L.linear(this.L.add(gatedAttention, gatedConv), `${prefix}.proj`);
  }

  /** F.normalize(x, dim=-1): x / max(||x||, 1e-12). */
  private l2Normalize(x: string): string {
    const norm = this.op('ReduceL2', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    return this.op('Div', [x, this.op('Max', [norm, this.L.scalar(1e-12)])]);
  }

  /** Adaptive_Channel_Attention on normalised tokens [1, H, W, C]. */
  private channelAttention(x: string, prefix: string, heads: number): string {
    const c = this.c;
    const headDim = c / heads;
    const qkv = this.L.linear(x, `${prefix}.qkv`);
    // [1, N, 3, heads, headDim] -> [3, 1, heads, headDim, N]: attention runs across channels.
    const perHead = this.transpose(this.reshape(qkv, this.L.ints([1, -1, 3, heads, headDim])), [2, 0, 3, 4, 1]);
    const part = (i: number): string => this.op('Gather', [perHead, this.int64Scalar(i)], { axis: attr.int(0) });
    const q = this.l2Normalize(part(0));
    const k = this.l2Normalize(part(1));
    const scores = this.L.mul(
      this.op('MatMul', [q, this.transpose(k, [0, 1, 3, 2])]),
      this.L.weight(`${prefix}.temperature`),
    );
    const weights = this.op('Softmax', [scores], { axis: attr.int(-1) });
    const out = this.op('MatMul', [weights, part(2)]);
    const attended = this.reshape(this.transpose(out, [0, 3, 1, 2]), this.op('Shape', [x]));

    // v as an image: its channel order (head, headDim) is that of the qkv output's last third.
    const v = this.op('Slice', [qkv, this.L.ints([2 * c]), this.L.ints([3 * c]), this.L.ints([3])]);
    const convX = this.convBranch(this.transpose(v, TO_NCHW), prefix);
    const channelGate = this.op('Sigmoid', [this.channelMap(this.transpose(attended, TO_NCHW), prefix)]);
    const spatialGate = this.transpose(this.op('Sigmoid', [this.spatialMap(convX, prefix)]), TO_NHWC);
    const gatedAttention = this.L.mul(attended, spatialGate);
    const gatedConv = this.transpose(this.L.mul(convX, channelGate), TO_NHWC);
    return this.L.linear(this.L.add(gatedAttention, gatedConv), `${prefix}.proj`);
  }

  /** SGFN: fc1, GELU, spatial gate (second half normalised and depthwise-convolved gates the first), fc2. */
  private feedForward(x: string, prefix: string): string {
    const hidden = this.L.gelu(this.L.linear(x, `${prefix}.fc1`));
    const [first, second] = this.g.opN('Split', [hidden], 2, { axis: attr.int(-1) });
    const normed = this.L.layerNorm(second as string, `${prefix}.sg.norm`);
    const gate = this.transpose(
      this.L.conv2d(this.transpose(normed, TO_NCHW), `${prefix}.sg.conv`, { groups: this.cfg.ffnHiddenDim / 2 }),
      TO_NHWC,
    );
    return this.L.linear(this.L.mul(first as string, gate), `${prefix}.fc2`);
  }

  private block(x: string, group: number, index: number): string {
    const prefix = `layers.${group}.blocks.${index}`;
    const heads = this.cfg.numHeads[group] as number;
    const normed = this.L.layerNorm(x, `${prefix}.norm1`);
    const attention = isSpatialBlock(index)
      ? this.spatialAttention(normed, `${prefix}.attn`, heads, isShiftedBlock(group, index))
      : this.channelAttention(normed, `${prefix}.attn`, heads);
    const afterAttention = this.L.add(x, attention);
    return this.L.add(
      afterAttention,
      this.feedForward(this.L.layerNorm(afterAttention, `${prefix}.norm2`), `${prefix}.ffn`),
    );
  }

  /** The conv before a residual connection ('1conv' or '3conv'), NCHW. */
  private residualConv(x: string, prefix: string): string {
    if (this.cfg.resiConnection === '1conv') return this.L.conv2d(x, prefix);
    let y = this.L.leakyRelu(this.L.conv2d(x, `${prefix}.0`), 0.2);
    y = this.L.leakyRelu(this.L.conv2d(y, `${prefix}.2`), 0.2);
    return this.L.conv2d(y, `${prefix}.4`);
  }

  private residualGroup(x: string, group: number): string {
    let y = x;
    for (let b = 0; b < (this.cfg.depths[group] as number); b++) y = this.block(y, group, b);
    const conv = this.transpose(this.residualConv(this.transpose(y, TO_NCHW), `layers.${group}.conv`), TO_NHWC);
    return this.L.add(x, conv);
  }

  private upsample(x: string): string {
    const cfg = this.cfg;
    if (cfg.upsampler === 'pixelshuffledirect') return this.L.pixelShuffle(this.L.conv2d(x, 'upsample.0'), cfg.scale);
    let y = this.L.leakyRelu(this.L.conv2d(x, 'conv_before_upsample.0'), 0.01);
    if (cfg.scale === 3) {
      y = this.L.pixelShuffle(this.L.conv2d(y, 'upsample.0'), 3);
    } else {
      for (let i = 0; 2 ** i < cfg.scale; i++) y = this.L.pixelShuffle(this.L.conv2d(y, `upsample.${2 * i}`), 2);
    }
    return this.L.conv2d(y, 'conv_last');
  }

  build(input: string): string {
    const cfg = this.cfg;
    this.computeSizes(input);
    const mean = this.g.f32('rgb_mean', RGB_MEAN, [1, 3, 1, 1]);
    let x = this.op('Sub', [input, mean]);
    if (cfg.imgRange !== 1) x = this.L.mul(x, this.L.scalar(cfg.imgRange));
    const shallow = this.L.conv2d(x, 'conv_first');
    let tokens = this.L.layerNorm(this.transpose(shallow, TO_NHWC), 'before_RG.1');
    for (let i = 0; i < cfg.depths.length; i++) tokens = this.residualGroup(tokens, i);
    tokens = this.L.layerNorm(tokens, 'norm');
    const deep = this.residualConv(this.transpose(tokens, TO_NCHW), 'conv_after_body');
    let y = this.upsample(this.L.add(deep, shallow));
    if (cfg.imgRange !== 1) y = this.op('Div', [y, this.L.scalar(cfg.imgRange)]);
    return this.op('Add', [y, mean]);
  }
}

/** ONNX bytes for a DAT state dict and the configuration detected from it. */
export function buildDatGraph(sd: StateDict, cfg: DatConfig): Uint8Array {
  const g = new GraphBuilder('dat');
  const L = new LayerBuilder(g, sd);
  const input = g.input('input', [1, 3, 'height', 'width']);
  const output = new DatGraph(L, cfg).build(input);
  g.output(output, 'output', [1, 3, 'out_height', 'out_width']);
  return g.toBytes(`DAT x${cfg.scale}`);
}
