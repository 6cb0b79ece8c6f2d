// Hostile inputs, made byte by byte: images with lying headers, cut-off files, odd pixel
// formats, and model files that try to escape, execute, or simply lie.
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { onnx } from 'onnx-proto';
import { GraphBuilder, attr } from '../../models/onnx/graph';
import type { Prng } from './harness';

// ---------------------------------------------------------------------------------------
// Images

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed) >>> 0);
  return Buffer.concat([length, typed, crc]);
}

/** A PNG whose IHDR (valid CRC) claims `width`x`height` RGB, with a tiny valid IDAT of a few rows. */
export function liarPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = zlib.deflateSync(Buffer.alloc(64)); // far fewer bytes than the header claims
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Structured noise: incompressible enough that encoded sizes are predictable. */
export function noiseRaw(rng: Prng, width: number, height: number, channels: number): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) data[o + c] = ((x * 7 + y * 3 + c * 50) & 0xff) ^ rng.int(64);
    }
  return data;
}

export async function noisePng(rng: Prng, width: number, height: number): Promise<Buffer> {
  return sharp(noiseRaw(rng, width, height, 3), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

export async function noiseAs(
  rng: Prng,
  width: number,
  height: number,
  format: 'jpeg' | 'webp' | 'png',
): Promise<Buffer> {
  const s = sharp(noiseRaw(rng, width, height, 3), { raw: { width, height, channels: 3 } });
  return format === 'jpeg'
    ? s.jpeg({ quality: 90 }).toBuffer()
    : format === 'webp'
      ? s.webp({ quality: 90 }).toBuffer()
      : s.png().toBuffer();
}

/** An animated image of `frames` frames of `width`x`height`. */
export async function animated(
  rng: Prng,
  width: number,
  height: number,
  frames: number,
  format: 'gif' | 'webp',
): Promise<Buffer> {
  const tall = sharp(noiseRaw(rng, width, height * frames, 4), {
    raw: { width, height: height * frames, channels: 4, pageHeight: height },
  });
  return format === 'gif'
    ? tall.gif({ loop: 0, delay: Array(frames).fill(100) }).toBuffer()
    : tall.webp({ loop: 0, delay: Array(frames).fill(100) }).toBuffer();
}

export async function cmykJpeg(rng: Prng, width: number, height: number): Promise<Buffer> {
  return sharp(noiseRaw(rng, width, height, 3), { raw: { width, height, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg()
    .toBuffer();
}

export async function png16Alpha(width: number, height: number): Promise<Buffer> {
  const data = new Uint16Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 65535) / (width - 1);
      data[o + 1] = (y * 65535) / (height - 1);
      data[o + 2] = ((x + y) * 997) & 0xffff;
      data[o + 3] = x < width / 2 ? 65535 : 20000;
    }
  return sharp(Buffer.from(data.buffer), { raw: { width, height, channels: 4, premultiplied: false } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

export async function paletteWithTransparency(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = x < width / 2 ? 200 : 30;
      data[o + 1] = y < height / 2 ? 60 : 180;
      data[o + 2] = 90;
      data[o + 3] = (x + y) % 3 === 0 ? 0 : 255;
    }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png({ palette: true, colours: 8, dither: 0 })
    .toBuffer();
}

// ---------------------------------------------------------------------------------------
// Models

/** A minimal stored (uncompressed) zip, as torch.save writes. */
export function storedZip(entries: ReadonlyArray<{ name: string; data: Uint8Array }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32(e.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(e.data));
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * A pickle (protocol 2) that calls `module.name(arg)` — GLOBAL, MARK, BINUNICODE, TUPLE,
 * REDUCE, STOP: what an unrestricted unpickler would execute on load.
 */
export function callingPickle(module: string, name: string, arg: string): Buffer {
  const text = Buffer.from(arg, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length);
  return Buffer.concat([
    Buffer.from([0x80, 0x02, 0x63]),
    Buffer.from(`${module}\n${name}\n`, 'latin1'),
    Buffer.from([0x28, 0x58]),
    length,
    text,
    Buffer.from([0x74, 0x52, 0x2e]),
  ]);
}

/** The same call through STACK_GLOBAL (protocol 4), which names the global with two strings. */
export function stackGlobalPickle(module: string, name: string, arg: string): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([0x8c, b.length]), b]); // SHORT_BINUNICODE
  };
  return Buffer.concat([
    Buffer.from([0x80, 0x04]),
    str(module),
    str(name),
    Buffer.from([0x93]),
    str(arg),
    Buffer.from([0x85, 0x52, 0x2e]),
  ]);
}

export function safetensorsWith(
  entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>,
  dataBytes: number,
): Buffer {
  let json = JSON.stringify({ __metadata__: { format: 'pt' }, ...entries });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), Buffer.alloc(dataBytes)]);
}

export function onnxWithExternalData(location: string): Uint8Array {
  const io = (name: string): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: 'h' }, { dimParam: 'w' }] },
      },
    },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'external',
      node: [{ opType: 'Mul', input: ['input', 'w'], output: ['output'] }],
      initializer: [
        {
          name: 'w',
          dims: [1],
          dataType: onnx.TensorProto.DataType.FLOAT,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [{ key: 'location', value: location }],
        },
      ],
      input: [io('input')],
      output: [io('output')],
    },
  }).finish();
}

/** Output = input with a 2-pixel border cropped: not k x the input. */
export function croppingOnnx(): Uint8Array {
  const g = new GraphBuilder('crop');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const y = g.op('Slice', [x, g.i64('starts', [2, 2]), g.i64('ends', [1 << 30, 1 << 30]), g.i64('axes', [2, 3])]);
  g.output(y, 'output', [1, 3, 'oh', 'ow']);
  return g.toBytes();
}

/** Output = a 2x nearest upscale, plus log(-1): NaN everywhere. */
export function nanOnnx(): Uint8Array {
  const g = new GraphBuilder('nan');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const up = g.op('Resize', [x, '', g.f32('scales', [1, 1, 2, 2])], { mode: attr.string('nearest') });
  const y = g.op('Add', [up, g.op('Log', [g.f32('minus_one', [-1])])]);
  g.output(y, 'output', [1, 3, 'oh', 'ow']);
  return g.toBytes();
}

/**
 * A 2x nearest upscaler that runs out of memory (for real: onnxruntime's arena fails to
 * allocate a 4 TB buffer) whenever the tile is taller than `maxHeight` pixels. Small
 * tiles work, so the engine's split-on-OOM path can be driven from outside the daemon.
 */
export function oomAboveOnnx(maxHeight: number): Uint8Array {
  const g = new GraphBuilder('oom');
  const x = g.input('input', [1, 3, 'height', 'width']);
  const h = g.op('Gather', [g.op('Shape', [x]), g.i64('two', [2], [])]);
  const over = g.op('Max', [g.op('Sub', [h, g.i64('limit', [maxHeight], [])]), g.i64('zero', [0], [])]);
  const n = g.op('Add', [g.op('Mul', [over, g.i64('big', [1e12], [])]), g.i64('one', [1], [])]);
  const zeros = g.op('ConstantOfShape', [g.op('Unsqueeze', [n, g.i64('axis', [0])])]);
  const sum = g.op('ReduceSum', [zeros], { keepdims: attr.int(0) });
  const up = g.op('Resize', [x, '', g.f32('scales', [1, 1, 2, 2])], { mode: attr.string('nearest') });
  g.output(g.op('Add', [up, sum]), 'output', [1, 3, 'oh', 'ow']);
  return g.toBytes();
}
