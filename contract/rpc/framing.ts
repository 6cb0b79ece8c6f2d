// `Content-Length` framing for JSON-RPC over a byte stream, as LSP does it. The reader is
// written for hostile input: headers and bodies are size-limited, and after a malformed
// frame it resynchronises on the next `Content-Length:` header instead of giving up, so a
// bad message costs one error response, never the connection.
import type { Readable, Writable } from 'node:stream';

export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_BYTES = 8 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');
// Not anchored: after a resync, stray bytes of a broken frame may precede the header name.
const CONTENT_LENGTH = /content-length:[ \t]*(.*)$/i;

export interface FrameHandlers {
  message(text: string): void;
  /** A frame that could not be read; `problem` says why. */
  malformed(problem: string): void;
}

/** Incremental frame parser; feed it chunks in arrival order. */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0);
  /** Body length of the frame whose header has been read, or -1 while reading a header. */
  private bodyLength = -1;
  /**
   * Chunks of a body still arriving, joined once when it is complete: joining on every
   * chunk would copy a 16 MB body some 250 times, and the growing buffers it leaves behind
   * raise the allocator's high-water mark for good.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    if (this.bodyLength >= 0 && this.buffer.length + this.pendingBytes + chunk.length < this.bodyLength) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      return;
    }
    const parts = [this.buffer, ...this.pending, chunk].filter((b) => b.length > 0);
    // One part is taken as it is: joining would copy it.
    this.buffer = (parts.length === 1 ? parts[0] : undefined) ?? Buffer.concat(parts);
    this.pending = [];
    this.pendingBytes = 0;
    for (;;) {
      if (this.bodyLength < 0) {
        if (!this.readHeader()) break;
      } else {
        if (this.buffer.length < this.bodyLength) break;
        const body = this.buffer.subarray(0, this.bodyLength);
        this.buffer = this.buffer.subarray(this.bodyLength);
        this.bodyLength = -1;
        this.handlers.message(body.toString('utf8'));
      }
    }
    // A short remainder must not keep a large joined buffer alive until the next chunk.
    if (this.buffer.length < 65536 && this.buffer.buffer.byteLength > 1 << 20) this.buffer = Buffer.from(this.buffer);
  }

  /** Returns false when more bytes are needed. */
  private readHeader(): boolean {
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) {
      if (this.buffer.length > MAX_HEADER_BYTES) {
        this.handlers.malformed(`header longer than ${MAX_HEADER_BYTES} bytes without a blank line`);
        this.resync(1);
        return true;
      }
      return false;
    }
    const header = this.buffer.subarray(0, end).toString('ascii');
    const afterHeader = end + HEADER_END.length;
    let length: number | undefined;
    let problem: string | undefined;
    for (const line of header.split('\r\n')) {
      const m = CONTENT_LENGTH.exec(line.trim());
      if (!m) continue;
      const raw = (m[1] ?? '').trim();
      if (!/^\d{1,10}$/.test(raw)) problem = `Content-Length '${raw.slice(0, 40)}' is not a non-negative integer`;
      else if (Number(raw) > MAX_MESSAGE_BYTES)
        problem = `Content-Length ${raw} exceeds the ${MAX_MESSAGE_BYTES}-byte limit`;
      else length = Number(raw);
    }
    if (problem === undefined && length === undefined) problem = 'frame header has no Content-Length';
    if (problem !== undefined || length === undefined) {
      this.handlers.malformed(problem ?? 'bad header');
      // The body (if any) cannot be trusted to have the claimed length: look for the
      // next header rather than skipping a possibly enormous count of bytes.
      this.resync(afterHeader);
      return true;
    }
    this.buffer = this.buffer.subarray(afterHeader);
    this.bodyLength = length;
    return true;
  }

  /** Drops bytes up to the next `Content-Length:` at or after `from`. */
  private resync(from: number): void {
    const text = this.buffer.toString('latin1');
    const next = text.slice(from).search(/content-length:/i);
    if (next < 0) {
      // Keep a short tail in case a header straddles chunks.
      this.buffer = this.buffer.subarray(Math.max(from, this.buffer.length - 16));
    } else {
      this.buffer = this.buffer.subarray(from + next);
    }
  }
}

export function frame(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** Reads frames from `input`; returns a function that writes one message to `output`. */
export function attachFraming(input: Readable, output: Writable, handlers: FrameHandlers): (message: object) => void {
  const parser = new FrameParser(handlers);
  input.on('data', (chunk: Buffer) => parser.push(chunk));
  return (message: object) => {
    if (!output.writable) return;
    output.write(frame(JSON.stringify(message)));
  };
}
