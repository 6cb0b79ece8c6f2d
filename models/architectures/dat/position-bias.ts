// DAT's dynamic position bias. The small MLP (DynamicPosBias) maps every relative offset
// inside a window to one bias per head; it depends only on weights and window shape, never
// on the image, so the table is evaluated here once and only the per-pair lookup is left to
// the graph. The MLP runs in float64: upstream's float32 result differs by rounding only.
import type { StateDict } from '../../weights/state-dict';
import { floatTensor } from '../../weights/tensors';
import type { GraphContext } from '../../nn/context';
import { positionBias, swinRelativePositionIndex, type WindowShape } from '../../nn/window-attention';

/**
 * Relative offsets (dy, dx) for dy in 1-h..h-1, dx in 1-w..w-1, row-major: upstream's
 * `rpe_biases` buffer, regenerated so that checkpoints without it still work.
 */
export function relativeOffsets(h: number, w: number): Float64Array {
  const out = new Float64Array((2 * h - 1) * (2 * w - 1) * 2);
  let i = 0;
  for (let dy = 1 - h; dy < h; dy++) {
    for (let dx = 1 - w; dx < w; dx++) {
      out[i++] = dy;
      out[i++] = dx;
    }
  }
  return out;
}

/** rows x inF (row-major) through torch.nn.Linear -> rows x outF. */
function linearRows(
  x: Float64Array,
  rows: number,
  sd: StateDict,
  prefix: string,
): { values: Float64Array; width: number } {
  const w = floatTensor(sd, `${prefix}.weight`);
  const [outF, inF] = w.shape as [number, number];
  const bias = sd.has(`${prefix}.bias`) ? floatTensor(sd, `${prefix}.bias`).data : null;
  const values = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = bias ? (bias[o] ?? 0) : 0;
      for (let i = 0; i < inF; i++) acc += (x[r * inF + i] ?? 0) * (w.data[o * inF + i] ?? 0);
      values[r * outF + o] = acc;
    }
  }
  return { values, width: outF };
}

/** LayerNorm (eps 1e-5, biased variance) then ReLU, in place, per row. */
function layerNormReluRows(x: Float64Array, rows: number, width: number, sd: StateDict, prefix: string): void {
  const gamma = floatTensor(sd, `${prefix}.weight`).data;
  const beta = floatTensor(sd, `${prefix}.bias`).data;
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[r * width + i] ?? 0;
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) variance += ((x[r * width + i] ?? 0) - mean) ** 2;
    variance /= width;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    for (let i = 0; i < width; i++) {
      const y = ((x[r * width + i] ?? 0) - mean) * inv * (gamma[i] ?? 0) + (beta[i] ?? 0);
      x[r * width + i] = Math.max(0, y);
    }
  }
}

/**
 * DynamicPosBias (residual=False, as every spatial branch builds it) evaluated on all
 * offsets of an h x w window: pos3(pos2(pos1(pos_proj(offsets)))), each posK being
 * LayerNorm, ReLU, Linear. Returns the table [offsets, heads], row-major, in the order of
 * `relativeOffsets`, which Swin's relative-position index addresses.
 */
export function positionBiasTable(
  sd: StateDict,
  prefix: string,
  h: number,
  w: number,
): { data: Float32Array; heads: number; offsets: number } {
  const offsets = (2 * h - 1) * (2 * w - 1);
  let x = linearRows(relativeOffsets(h, w), offsets, sd, `${prefix}.pos_proj`);
  for (const stage of ['pos1', 'pos2', 'pos3']) {
    layerNormReluRows(x.values, offsets, x.width, sd, `${prefix}.${stage}.0`);
    x = linearRows(x.values, offsets, sd, `${prefix}.${stage}.2`);
  }
  return { data: Float32Array.from(x.values), heads: x.width, offsets };
}

/**
 * The bias [heads, N, N] of the DynamicPosBias at `prefix` for a window: its table as a
 * constant, gathered by Swin's relative-position index (CRAFT's window branches; DAT's
 * spatial branches build the same).
 */
export function dynamicPositionBias(ctx: GraphContext, prefix: string, window: WindowShape, layout: string): string {
  const n = window.height * window.width;
  const table = positionBiasTable(ctx.sd, prefix, window.height, window.width);
  return positionBias(ctx, {
    table: ctx.constant(`${prefix}.table`, () => ({ data: table.data, dims: [table.offsets, table.heads] })),
    entries: table.offsets,
    heads: table.heads,
    layout: `${layout}_${window.height}x${window.width}`,
    index: swinRelativePositionIndex(window),
    queries: n,
    keys: n,
  });
}
