// One of the PNG writer's threads (png-threads.ts keeps them). onnxruntime-node runs a
// model on the main thread and holds it for a whole tile, so a PNG encoded there would wait
// for inference to end; here bands of the raster (shared memory) whose rows are final are
// filtered and deflated while the next tiles run, and the threads share the bands left
// when the last tile ends. Each band is answered with its deflate data, ended on a byte
// boundary, and the Adler-32 and length of what it deflated, or with an error.
import { parentPort } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { adler32, averageFilter, bytesPerPixel, rowBytes, scanlineBytes, type PngLayout } from './png-format';

export interface PngBand {
  readonly id: number;
  readonly layout: PngLayout;
  /** The output raster, in a SharedArrayBuffer: read, never copied whole. */
  readonly raster: Uint8Array | Uint16Array;
  readonly rasterChannels: 3 | 4;
  /** zlib's level (1 fastest … 9 smallest). */
  readonly level: number;
  /** Rows [start, end): all final, and the row above start too. */
  readonly start: number;
  readonly end: number;
}

export type PngBandAnswer =
  | { readonly id: number; readonly deflated: Uint8Array; readonly adler: number; readonly length: number }
  | { readonly id: number; readonly error: string };

/** The band's scanlines, each filtered against the row above it (zeros above the first row). */
function filtered(band: PngBand): Uint8Array {
  const { layout, raster, rasterChannels, start, end } = band;
  const line = scanlineBytes(layout);
  const bpp = bytesPerPixel(layout);
  let row = new Uint8Array(line - 1);
  let above = new Uint8Array(line - 1);
  if (start > 0) rowBytes(raster, rasterChannels, layout, start - 1, above);
  const out = new Uint8Array((end - start) * line);
  for (let y = start; y < end; y++) {
    rowBytes(raster, rasterChannels, layout, y, row);
    averageFilter(row, above, bpp, out.subarray((y - start) * line, (y - start + 1) * line));
    [row, above] = [above, row];
  }
  return out;
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (band: PngBand) => {
    try {
      const bytes = filtered(band);
      // Copied out of zlib's buffer, which may share its memory with others, so it can be transferred.
      const deflated = new Uint8Array(
        zlib.deflateRawSync(bytes, { level: band.level, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      );
      const answer: PngBandAnswer = { id: band.id, deflated, adler: adler32(1, bytes), length: bytes.length };
      port.postMessage(answer, [deflated.buffer]);
    } catch (e) {
      port.postMessage({ id: band.id, error: e instanceof Error ? e.message : String(e) } satisfies PngBandAnswer);
    }
  });
}
