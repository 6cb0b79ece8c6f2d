// One model pass over an image, tile by tile, in row bands.
//
// Past its borders the image is read as the caller's border asks (none by default, so edge
// tiles see the model's own zero padding, as a whole-image run does; mirrored; or wrapped
// for tileable textures), each tile is padded to the model's input multiple by reflection,
// and tile outputs are blended in tensor space (see composite.ts).
// Only the outputs of the tile row in flight are held, with the strips of earlier rows
// that reach into it; rows no later tile can touch are blended, cropped and handed to
// the sink, so memory grows with the image's width and the tile, not with its height.
import { axisSpans, type Span } from './tiles';
import { axisBlend } from './blend';
import { blendRows, type HeldTile } from './composite';
import { item, outside } from '../image/checked';
import { DaemonError, throwIfCancelled } from '../../contract/errors';
import type { Rect } from '../../contract/vocabulary';
import type { PlanarImage } from '../image/types';

/** Runs the model on one NCHW tile (batch 1). */
export type TileInference = (tile: PlanarImage) => Promise<PlanarImage>;

/**
 * Receives finished output rows, top to bottom, each chunk planar CHW for `count` rows.
 * The chunk's memory is reused for the next call: copy (or quantise) what you keep.
 */
export type RowSink = (y: number, count: number, rows: Float32Array) => void | Promise<void>;

export interface TileDone {
  readonly done: number;
  readonly total: number;
  /** The part of the output this tile decides (its cell between overlap midlines). */
  readonly rect: Rect;
  /** That part's pixels, planar CHW, before blending with neighbours. */
  readonly pixels: PlanarImage;
}

export interface PassOptions {
  readonly scale: number;
  /** Size of the tile the model sees, in input pixels, per axis (0: the whole extent). */
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Input pixels neighbouring tiles share; the blend ramps across them. */
  readonly overlap: number;
  /** Mirrored (or wrapped) border added around the image, in input pixels; 0 for none. */
  readonly edgePad: number;
  /** How coordinates outside the image are read: the border, and the pad to the input multiple (default 'reflect'). */
  readonly padding?: EdgeMode;
  /** The model's required input multiple. */
  readonly inputMultiple: number;
  /** The one input size the model takes, when it has one: every tile is padded up to exactly that. */
  readonly fixedSize?: { readonly width: number; readonly height: number } | undefined;
  /** Smallest tile the out-of-memory fallback may split down to. */
  readonly minTile: number;
  /** Cancels the pass: checked before every tile. */
  readonly signal: AbortSignal;
  readonly onTile?: (info: TileDone) => void;
  /** A tile ran out of memory: tiles of this pass are at most `to` pixels per side from now on (was `from`). */
  readonly onSmallerTiles?: (from: number, to: number, why: string) => void;
}

/** Mirror index into [0, n) without repeating the edge pixel (numpy/torch 'reflect'). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

/** Index into [0, n) with the image repeated end to end (a tileable texture). */
export function wrapIndex(i: number, n: number): number {
  const m = i % n;
  return m < 0 ? m + n : m;
}

/** How coordinates outside the image are read: mirrored at the edge, or wrapped to the opposite edge. */
export type EdgeMode = 'reflect' | 'wrap';

/** Copies the region [x0, x0+w) x [y0, y0+h) of `img` (coordinates may leave the image: reflected, or wrapped). */
export function extractRegion(
  img: PlanarImage,
  x0: number,
  y0: number,
  w: number,
  h: number,
  mode: EdgeMode = 'reflect',
): PlanarImage {
  const index = mode === 'wrap' ? wrapIndex : reflectIndex;
  const out = new Float32Array(img.channels * w * h);
  const xs = new Int32Array(w);
  for (let x = 0; x < w; x++) xs[x] = index(x0 + x, img.width);
  const plane = img.width * img.height;
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = c * plane + index(y0 + y, img.height) * img.width;
      const dst = (c * h + y) * w;
      for (let x = 0; x < w; x++) {
        const sx = xs[x];
        const v = sx === undefined ? undefined : img.data[src + sx];
        if (v === undefined) throw outside('extractRegion', x);
        out[dst + x] = v;
      }
    }
  }
  return { width: w, height: h, channels: img.channels, data: out };
}

/** A tile ran out of memory even at the smallest size the pass may split it to. */
export class OutOfMemoryError extends DaemonError {
  constructor(message: string) {
    super('OutOfMemory', message);
  }
}

/**
 * onnxruntime-node runs a session synchronously on the main thread, so a `$/cancelRequest`
 * that arrived during a tile is still unread when that tile returns. Letting pending I/O
 * run before each check of the signal makes a cancel take effect before the next tile, not the one
 * after it.
 */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rows handed to the sink per call: finished rows go on in small chunks, so no band-sized copy exists. */
export const SINK_ROWS = 64;

/**
 * Whether an inference error is an allocation failure worth retrying on a smaller tile: the
 * CPU's and CUDA's ("out of memory", "Failed to allocate memory for requested buffer"),
 * onnxruntime WebGPU's "Failed to create GPU buffer", Vulkan's
 * VK_ERROR_OUT_OF_DEVICE_MEMORY, Dawn's and DirectML's OutOfMemory / E_OUTOFMEMORY.
 */
export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof OutOfMemoryError) return true;
  const text = e instanceof Error ? e.message : String(e);
  return /out[ _]?of[ _]?(?:device[ _]|host[ _])?memory|failed to allocate|bad_alloc|allocation failed|OOM|failed to create GPU buffer/i.test(
    text,
  );
}

/** The cell a tile decides: from the midline of the overlap before it to the one after. */
function cell(spans: readonly Span[], i: number): Span {
  const s = item(spans, i);
  const prev = spans[i - 1];
  const next = spans[i + 1];
  return {
    start: prev ? Math.floor((prev.end + s.start) / 2) : s.start,
    end: next ? Math.floor((s.end + next.start) / 2) : s.end,
  };
}

/** The size a region is padded to before the model sees it: the model's fixed size, or the next multiple. Pure. */
export function paddedExtent(
  region: { readonly width: number; readonly height: number },
  opts: Pick<PassOptions, 'inputMultiple' | 'fixedSize'>,
): { width: number; height: number } {
  const fixed = opts.fixedSize;
  if (fixed) {
    if (region.width > fixed.width || region.height > fixed.height)
      throw new RangeError(
        `a ${region.width}x${region.height} tile does not fit the model's fixed ${fixed.width}x${fixed.height} input`,
      );
    return { width: fixed.width, height: fixed.height };
  }
  const up = (n: number): number => Math.ceil(n / opts.inputMultiple) * opts.inputMultiple;
  return { width: up(region.width), height: up(region.height) };
}

/** Runs the model over a region, padding it (by reflection) to what the model takes and cropping back. */
async function inferPadded(infer: TileInference, region: PlanarImage, opts: PassOptions): Promise<PlanarImage> {
  const { scale } = opts;
  const extent = paddedExtent(region, opts);
  const padW = extent.width - region.width;
  const padH = extent.height - region.height;
  const input = padW || padH ? extractRegion(region, 0, 0, region.width + padW, region.height + padH) : region;
  const out = await infer(input);
  const ow = Math.round(input.width * scale);
  const oh = Math.round(input.height * scale);
  if (out.width !== ow || out.height !== oh || out.channels !== region.channels) {
    throw new DaemonError(
      'ModelInvalid',
      `the model returned ${out.channels}x${out.height}x${out.width} for a ${input.channels}x${input.height}x${input.width} tile; ` +
        `expected ${region.channels}x${oh}x${ow} (scale ${scale})`,
    );
  }
  if (!padW && !padH) return out;
  return cropPlanar(out, 0, 0, Math.round(region.width * scale), Math.round(region.height * scale));
}

export function cropPlanar(img: PlanarImage, x0: number, y0: number, w: number, h: number): PlanarImage {
  const out = new Float32Array(img.channels * w * h);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = (c * img.height + y0 + y) * img.width + x0;
      out.set(img.data.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return { width: w, height: h, channels: img.channels, data: out };
}

/**
 * Infers a tile; when it runs out of memory, splits it into halves with overlap, runs
 * those (recursively) and blends them, down to `minTile`. `limit` remembers the largest
 * size that worked so later tiles skip the failing attempt.
 */
async function inferAdaptive(
  infer: TileInference,
  region: PlanarImage,
  opts: PassOptions,
  limit: { size: number },
): Promise<PlanarImage> {
  const largest = Math.max(region.width, region.height);
  if (largest <= limit.size) {
    try {
      return await inferPadded(infer, region, opts);
    } catch (e) {
      if (!isOutOfMemory(e)) throw e;
      const half = Math.ceil(largest / 2);
      if (half < opts.minTile) {
        throw new OutOfMemoryError(
          `out of memory even for a ${region.width}x${region.height} tile (the floor is ${opts.minTile} px); ` +
            `close other programs or choose a smaller model`,
        );
      }
      limit.size = half;
      opts.onSmallerTiles?.(largest, half, (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '');
    }
  }
  const sub = Math.max(opts.minTile, limit.size);
  const overlap = Math.min(Math.max(8, opts.overlap), Math.floor(sub / 4));
  const rows = axisSpans(region.height, sub, overlap);
  const cols = axisSpans(region.width, sub, overlap);
  const rowBlend = axisBlend(rows, opts.scale);
  const colBlend = axisBlend(cols, opts.scale);
  const parts: HeldTile[][] = [];
  for (const [r, rs] of rows.entries()) {
    const row: HeldTile[] = [];
    for (const cs of cols) {
      await yieldToEvents();
      throwIfCancelled(opts.signal);
      const part = extractRegion(region, cs.start, rs.start, cs.end - cs.start, rs.end - rs.start);
      row.push({ ...(await inferAdaptive(infer, part, opts, limit)), firstRow: item(rowBlend.starts, r) });
    }
    parts.push(row);
  }
  const ow = Math.round(region.width * opts.scale);
  const oh = Math.round(region.height * opts.scale);
  const data = new Float32Array(region.channels * ow * oh);
  blendRows(data, rowBlend, colBlend, (r, c) => item(item(parts, r), c), region.channels, 0, oh, 0, ow);
  return { width: ow, height: oh, channels: region.channels, data };
}

/** The tile spans of a pass over `img` (in reflect-padded coordinates). */
export function passGrid(
  img: { width: number; height: number },
  opts: Pick<PassOptions, 'tileWidth' | 'tileHeight' | 'overlap' | 'edgePad'>,
): { cols: Span[]; rows: Span[] } {
  return {
    cols: axisSpans(img.width + 2 * opts.edgePad, opts.tileWidth, opts.overlap),
    rows: axisSpans(img.height + 2 * opts.edgePad, opts.tileHeight, opts.overlap),
  };
}

/** Runs one pass of the model over `img`, streaming finished rows to `sink`. */
export async function runTiledPass(
  img: PlanarImage,
  infer: TileInference,
  opts: PassOptions,
  sink: RowSink,
): Promise<void> {
  const s = opts.scale;
  const pad = opts.edgePad;
  const paddedH = img.height + 2 * pad;
  const { cols, rows } = passGrid(img, opts);
  const total = cols.length * rows.length;
  const outW = Math.round(img.width * s);
  const outH = Math.round(img.height * s);
  const padOut = Math.round(pad * s);
  const channels = img.channels;
  // One buffer for the finished rows handed to the sink, reused band after band.
  const chunkBuffer = new Float32Array(channels * Math.min(SINK_ROWS, outH) * outW);
  const rowBlend = axisBlend(rows, s);
  const colBlend = axisBlend(cols, s);
  /** Tile outputs by tile row, trimmed to the rows not yet handed on. */
  const held = new Map<number, HeldTile[]>();
  const tileAt = (r: number, c: number): HeldTile => {
    const tile = held.get(r)?.[c];
    if (!tile) throw new RangeError(`tile ${r},${c} is not held`);
    return tile;
  };
  const limit = { size: Number.MAX_SAFE_INTEGER };
  let base = 0; // the first padded-output row not yet handed on
  let done = 0;

  for (const [r, rs] of rows.entries()) {
    const rowCell = cell(rows, r);
    const outputs: HeldTile[] = [];
    for (const [c, cs] of cols.entries()) {
      await yieldToEvents();
      throwIfCancelled(opts.signal);
      const region = extractRegion(
        img,
        cs.start - pad,
        rs.start - pad,
        cs.end - cs.start,
        rs.end - rs.start,
        opts.padding ?? 'reflect',
      );
      const out = await inferAdaptive(infer, region, opts, limit);
      outputs.push({ ...out, firstRow: item(rowBlend.starts, r) });
      done++;
      if (opts.onTile) {
        const colCell = cell(cols, c);
        const x0 = Math.max(0, Math.round((colCell.start - pad) * s));
        const x1 = Math.min(outW, Math.round((colCell.end - pad) * s));
        const y0 = Math.max(0, Math.round((rowCell.start - pad) * s));
        const y1 = Math.min(outH, Math.round((rowCell.end - pad) * s));
        if (x1 > x0 && y1 > y0) {
          const cx = x0 + padOut - Math.round(cs.start * s);
          const cy = y0 + padOut - Math.round(rs.start * s);
          // Cropped only when asked for (previews): most listeners want the count, not a copy.
          let pixels: PlanarImage | null = null;
          opts.onTile({
            done,
            total,
            rect: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
            get pixels() {
              pixels ??= cropPlanar(out, cx, cy, x1 - x0, y1 - y0);
              return pixels;
            },
          });
        }
      }
    }
    held.set(r, outputs);
    // Rows above the next tile row's first row are final.
    const finalEnd = rowBlend.starts[r + 1] ?? Math.round(paddedH * s);
    await flushRows(finalEnd);
    release(finalEnd);
  }

  async function flushRows(finalEnd: number): Promise<void> {
    // Crop the reflected border: output rows [y0, y1) and columns [padOut, padOut + outW).
    const y0 = Math.max(base, padOut);
    const y1 = Math.min(finalEnd, padOut + outH);
    for (let from = y0; from < y1; from += SINK_ROWS) {
      const to = Math.min(y1, from + SINK_ROWS);
      const chunk = chunkBuffer.subarray(0, channels * (to - from) * outW);
      blendRows(chunk, rowBlend, colBlend, tileAt, channels, from, to, padOut, outW);
      await sink(from - padOut, to - from, chunk);
    }
    base = finalEnd;
  }

  /** Drops tile outputs above `finalEnd`: whole tiles that end there, the top rows of those that reach below. */
  function release(finalEnd: number): void {
    for (const [r, tiles] of held) {
      const first = item(tiles, 0);
      if (first.firstRow + first.height <= finalEnd) {
        held.delete(r);
      } else if (first.firstRow < finalEnd) {
        const skip = finalEnd - first.firstRow;
        held.set(
          r,
          tiles.map((t) => ({ ...cropPlanar(t, 0, skip, t.width, t.height - skip), firstRow: finalEnd })),
        );
      }
    }
  }
}
