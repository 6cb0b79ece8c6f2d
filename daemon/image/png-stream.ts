// A PNG written while the job runs. The raster lives in shared memory; as the last pass
// makes rows final, bands of them go to the writer's threads (png-threads.ts), which filter
// and deflate them beside inference, and their data is written in order as it comes back.
// The bands left when the last tile ends are shared among every thread, so even a
// whole-image run, whose rows all end at once, waits for a fraction of one encoder. What
// needs libvips (converting into an ICC profile, grey's luminance) goes through
// encodeImage instead.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { pngPlanOf } from './encode';
import {
  PNG_SIGNATURE,
  ZLIB_HEADER,
  adler32Combine,
  bands,
  exifChunk,
  iendChunk,
  ihdrChunk,
  physChunk,
  pngChunk,
  scanlineBytes,
  xmpChunk,
  type PngLayout,
} from './png-format';
import { PNG_THREADS, encodeBand } from './png-threads';
import type { EncodeResult, Raster, SourceInfo } from './types';

/** zlib's level: 2 deflated a 4096² upscaled photo 5% smaller than level 1, at 1.3 times its time. */
const LEVEL = 2;

/** Raw bytes a band holds at least, so that each one's sync flush and fresh dictionary cost nothing that shows. */
const MIN_BAND_BYTES = 2 ** 20;

export class PngStream {
  /** Rows handed to a band so far. */
  private banded = 0;
  /** Rows final so far. */
  private final = 0;
  private readonly bandRows: number;
  /** The file's bytes in order: its header, then each band's data as it comes. */
  private written: Promise<void>;
  private adler = 1;
  private first = true;
  private failure: Error | null = null;
  private stopped = false;

  private constructor(
    private readonly raster: Raster,
    private readonly layout: PngLayout,
    /** The open file, or why it could not be opened (finish reports it). */
    private readonly fd: number | Error,
    readonly path: string,
    header: Buffer,
  ) {
    this.bandRows = Math.max(1, Math.ceil(MIN_BAND_BYTES / scanlineBytes(layout)));
    this.written = this.write(header);
    this.written.catch((e: Error) => this.fail(e));
  }

  /**
   * Starts writing `file`: the raster (in a SharedArrayBuffer, filled as the job runs), with
   * what encodeImage would keep of the source in a PNG (pngPlanOf).
   */
  static start(file: string, raster: Raster, source: SourceInfo): PngStream {
    const { layout, exif, xmp } = pngPlanOf(raster, source);
    let fd: number | Error;
    try {
      fd = fs.openSync(file, 'w');
    } catch (e) {
      fd = e as Error;
    }
    const header = Buffer.concat([
      PNG_SIGNATURE,
      ihdrChunk(layout),
      ...(exif ? [exifChunk(exif)] : []),
      physChunk(),
      ...(xmp ? [xmpChunk(xmp)] : []),
    ]);
    return new PngStream(raster, layout, fd, file, header);
  }

  /** Rows above `rows` are final: full bands of them go to the threads now. */
  rowsFinal(rows: number): void {
    this.final = Math.max(this.final, Math.min(rows, this.layout.height));
    while (this.final - this.banded >= this.bandRows) this.band(this.banded + this.bandRows);
  }

  /** Writes what is left, shared among the threads, and ends the file. */
  async finish(): Promise<EncodeResult> {
    const { height } = this.layout;
    this.final = height;
    for (const [, end] of bands(this.banded, height, 1, PNG_THREADS)) this.band(end);
    await this.written;
    if (this.failure) throw this.failure;
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE(this.adler, 0);
    const end = Buffer.concat([zlib.deflateRawSync(Buffer.alloc(0), { level: LEVEL }), trailer]);
    await this.write(Buffer.concat([this.idat(end), iendChunk()]));
    await this.close();
    return { warnings: [] };
  }

  /** Stops writing (bands in flight end unwritten) and removes the file. */
  async abort(): Promise<void> {
    this.stopped = true;
    await this.written.catch(() => undefined);
    await this.close().catch(() => undefined);
    await fs.promises.rm(this.path, { force: true });
  }

  /** Sends rows [banded, end) to the next thread, and queues its data for writing in order. */
  private band(end: number): void {
    const { raster, layout } = this;
    const answer = encodeBand({
      layout,
      raster: raster.data,
      rasterChannels: raster.channels,
      level: LEVEL,
      start: this.banded,
      end,
    });
    this.banded = end;
    this.written = this.written.then(async () => {
      const a = await answer;
      if (this.stopped) return;
      if ('error' in a) throw new Error(`${this.path}: the PNG encoder failed: ${a.error}`);
      this.adler = adler32Combine(this.adler, a.adler, a.length);
      await this.write(this.idat(Buffer.from(a.deflated.buffer, a.deflated.byteOffset, a.deflated.length)));
    });
    this.written.catch((e: Error) => this.fail(e));
  }

  /** An IDAT chunk of `data`, the zlib header before the first. */
  private idat(data: Buffer): Buffer {
    const chunk = pngChunk('IDAT', this.first ? Buffer.concat([ZLIB_HEADER, data]) : data);
    this.first = false;
    return chunk;
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const fd = this.fd;
    if (fd instanceof Error) throw fd;
    for (let at = 0; at < bytes.length;) {
      at += await new Promise<number>((resolve, reject) =>
        fs.write(fd, bytes, at, bytes.length - at, null, (e, n) => (e ? reject(e) : resolve(n))),
      );
    }
  }

  private async close(): Promise<void> {
    const fd = this.fd;
    if (fd instanceof Error) return;
    await new Promise<void>((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve())));
  }

  private fail(e: Error): void {
    this.failure ??= e;
  }
}
