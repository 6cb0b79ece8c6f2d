// SwinIR against the upstream golden vectors: detection reads the constructor's
// arguments back from the weights, and the built ONNX reproduces upstream's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FIXTURES_DIR, assertMatchesGolden, maxAbsDiff, relativeL2, runOnnx, type GoldenCase } from '../fixtures';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPthBytes } from '../../models/readers/pth';
import type { StateDict } from '../../models/weights/state-dict';
import { floatTensor } from '../../models/weights/tensors';
import { satisfies } from '../../models/weights/keys';
import { swinir, type SwinIRConfig } from '../../models/architectures/swinir';
import { describeConfig, identify } from '../../models/architectures/detect';
import { GraphBuilder } from '../../models/onnx/graph';
import { GraphContext } from '../../models/nn/context';
import { WindowGrid, SHIFT_MASK_VALUE, type WindowShape } from '../../models/nn/window-attention';

interface SwinIRCaseJson {
  readonly config: {
    readonly upscale: number;
    readonly in_chans: number;
    readonly window_size: number;
    readonly img_range: number;
    readonly depths: readonly number[];
    readonly embed_dim: number;
    readonly num_heads: readonly number[];
    readonly mlp_ratio: number;
    readonly upsampler: string;
    readonly resi_connection: string;
  };
  readonly cases: readonly GoldenCase[];
}

function loadCase(name: string): { dir: string; json: SwinIRCaseJson; sd: StateDict } {
  const dir = path.join(FIXTURES_DIR, 'arch', name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')) as SwinIRCaseJson;
  const sd = readSafetensors(fs.readFileSync(path.join(dir, `${name}.safetensors`)), name);
  return { dir, json, sd };
}

function assertConfigMatches(config: SwinIRConfig, expected: SwinIRCaseJson['config']): void {
  assert.equal(config.head.scale, expected.upscale);
  assert.equal(config.inChannels, expected.in_chans);
  assert.equal(config.windowSize, expected.window_size);
  assert.equal(config.imgRange, expected.img_range);
  assert.deepEqual(config.depths, expected.depths);
  assert.equal(config.embedDim, expected.embed_dim);
  assert.deepEqual(config.numHeads, expected.num_heads);
  assert.equal(config.mlpRatio, expected.mlp_ratio);
  assert.equal(config.head.upsampler, expected.upsampler);
  assert.equal(config.resiConnection, expected.resi_connection);
  assert.equal(config.patchNorm, true);
}

for (const name of ['swinir_classical_x2', 'swinir_lightweight_x4']) {
  test(`${name}: detect reads the upstream config and the graph matches every golden case`, async () => {
    const { dir, json, sd } = loadCase(name);
    const config = swinir.readConfig(sd);
    assertConfigMatches(config, json.config);
    const info = describeConfig(swinir, config);
    assert.equal(info.family, 'swinir');
    assert.equal(info.scale, json.config.upscale);
    assert.equal(info.inputMultiple, json.config.window_size);

    const model = swinir.build(sd, config);
    for (const golden of json.cases) await assertMatchesGolden(model, dir, golden, name);
  });
}

for (const name of ['swinir_classical_x2', 'swinir_lightweight_x4']) {
  test(`${name}: the .pth checkpoint detects and runs the same as the safetensors`, async () => {
    const { dir, json, sd } = loadCase(name);
    const fromPth = readPthBytes(fs.readFileSync(path.join(dir, `${name}.pth`)), name);
    const config = swinir.readConfig(fromPth);
    assert.deepEqual(config, swinir.readConfig(sd));
    await assertMatchesGolden(swinir.build(fromPth, config), dir, json.cases[0] as GoldenCase, `${name} (.pth)`);
  });
}

test('swinir: sizes that are not a multiple of the window give scale x the input size', async () => {
  const { sd } = loadCase('swinir_lightweight_x4');
  const model = swinir.build(sd, swinir.readConfig(sd));
  for (const [h, w] of [
    [13, 18],
    [5, 7],
    [9, 4],
    [1, 1],
    [2, 3],
    [1, 9],
  ] as const) {
    const input = new Float32Array(3 * h * w).map((_, i) => ((i * 37) % 101) / 100);
    const out = await runOnnx(model, input, [1, 3, h, w]);
    assert.deepEqual(out.dims, [1, 3, 4 * h, 4 * w]);
    assert.ok((out.data as Float32Array).every(Number.isFinite));
  }
});

test("swinir: foreign weights do not have SwinIR's keys; HAT's, which include them, are HAT's", () => {
  const foreign: StateDict = new Map([
    ['conv_first.weight', { shape: [16, 3, 3, 3], data: new Float32Array(16 * 27) }],
    ['body.0.rdb1.conv1.weight', { shape: [8, 16, 3, 3], data: new Float32Array(8 * 16 * 9) }],
  ]);
  assert.equal(satisfies(foreign, swinir.keys), false);
  const hat = identify(loadCase('hat_x4').sd);
  assert.ok(hat?.kind === 'converted' && hat.module.id === 'hat', 'the registry tries HAT before SwinIR');
});

test('swinir: a missing tensor is reported by name', () => {
  const { sd } = loadCase('swinir_classical_x2');
  for (const missing of [
    'layers.1.residual_group.blocks.1.attn.proj.weight',
    'conv_first.weight',
    'norm.bias',
    'upsample.0.weight',
  ]) {
    const broken = new Map(sd);
    broken.delete(missing);
    assert.throws(
      () => swinir.readConfig(broken),
      (e: Error) => e.message.includes(missing),
      missing,
    );
  }
});

test('swinir: a mis-shaped tensor is reported with found and expected shapes', () => {
  const { sd } = loadCase('swinir_classical_x2');
  const key = 'layers.0.residual_group.blocks.0.mlp.fc2.weight';
  const broken = new Map(sd);
  broken.set(key, { shape: [16, 31], data: new Float32Array(16 * 31) });
  assert.throws(
    () => swinir.readConfig(broken),
    (e: Error) => e.message.includes(key) && e.message.includes('[16, 31]') && e.message.includes('[16, 32]'),
  );
});

// ---------------------------------------------------------------------------------------
// Heads and residual convs the golden vectors do not cover (real-world nearest+conv,
// 3conv, ×3, same-size restoration). Synthetic weights make every transformer block an
// identity (zero output projections), so a direct convolutional reference written here
// gives the expected output and checks detection and wiring of everything around it.

class Lcg {
  private state = 12345;
  next(): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
    return this.state / 2 ** 32 - 0.5;
  }
  fill(n: number, scale: number): Float32Array {
    return Float32Array.from({ length: n }, () => this.next() * scale);
  }
}

interface Map3 {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: Float32Array;
}

function refConv(sd: StateDict, prefix: string, x: Map3): Map3 {
  const wt = floatTensor(sd, `${prefix}.weight`);
  const b = floatTensor(sd, `${prefix}.bias`).data;
  const [out, inC, k] = wt.shape as [number, number, number];
  const w = wt.data;
  const pad = Math.floor(k / 2);
  const y = new Float32Array(out * x.h * x.w);
  for (let o = 0; o < out; o++) {
    for (let yy = 0; yy < x.h; yy++) {
      for (let xx = 0; xx < x.w; xx++) {
        let acc = b[o] as number;
        for (let i = 0; i < inC; i++) {
          for (let ky = 0; ky < k; ky++) {
            const sy = yy + ky - pad;
            if (sy < 0 || sy >= x.h) continue;
            for (let kx = 0; kx < k; kx++) {
              const sx = xx + kx - pad;
              if (sx < 0 || sx >= x.w) continue;
              acc += (w[((o * inC + i) * k + ky) * k + kx] as number) * (x.data[(i * x.h + sy) * x.w + sx] as number);
            }
          }
        }
        y[(o * x.h + yy) * x.w + xx] = acc;
      }
    }
  }
  return { c: out, h: x.h, w: x.w, data: y };
}

function refMap(x: Map3, f: (v: number, i: number) => number): Map3 {
  return { ...x, data: x.data.map(f) };
}

function refAdd(a: Map3, b: Map3): Map3 {
  return refMap(a, (v, i) => v + (b.data[i] as number));
}

function refLrelu(x: Map3, slope: number): Map3 {
  return refMap(x, (v) => (v >= 0 ? v : v * slope));
}

function refLayerNorm(sd: StateDict, prefix: string, x: Map3): Map3 {
  const g = floatTensor(sd, `${prefix}.weight`).data;
  const beta = floatTensor(sd, `${prefix}.bias`).data;
  const y = new Float32Array(x.data.length);
  const hw = x.h * x.w;
  for (let p = 0; p < hw; p++) {
    let mean = 0;
    for (let c = 0; c < x.c; c++) mean += x.data[c * hw + p] as number;
    mean /= x.c;
    let variance = 0;
    for (let c = 0; c < x.c; c++) variance += ((x.data[c * hw + p] as number) - mean) ** 2;
    variance /= x.c;
    for (let c = 0; c < x.c; c++) {
      y[c * hw + p] =
        (((x.data[c * hw + p] as number) - mean) / Math.sqrt(variance + 1e-5)) * (g[c] as number) + (beta[c] as number);
    }
  }
  return { ...x, data: y };
}

function refPixelShuffle(x: Map3, r: number): Map3 {
  const c = x.c / (r * r);
  const h = x.h * r;
  const w = x.w * r;
  const y = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) {
        for (let yy = 0; yy < x.h; yy++)
          for (let xx = 0; xx < x.w; xx++) {
            y[(ch * h + yy * r + i) * w + xx * r + j] = x.data[
              ((ch * r * r + i * r + j) * x.h + yy) * x.w + xx
            ] as number;
          }
      }
  return { c, h, w, data: y };
}

function refNearest2(x: Map3): Map3 {
  const h = x.h * 2;
  const w = x.w * 2;
  const y = new Float32Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        y[(c * h + yy) * w + xx] = x.data[(c * x.h + (yy >> 1)) * x.w + (xx >> 1)] as number;
      }
  return { c: x.c, h, w, data: y };
}

function refResidualConv(sd: StateDict, prefix: string, kind: '1conv' | '3conv', x: Map3): Map3 {
  if (kind === '1conv') return refConv(sd, prefix, x);
  const a = refLrelu(refConv(sd, `${prefix}.0`, x), 0.2);
  const b = refLrelu(refConv(sd, `${prefix}.2`, a), 0.2);
  return refConv(sd, `${prefix}.4`, b);
}

type SyntheticHead = 'nearest+conv' | 'pixelshuffle' | '';

interface SyntheticSpec {
  readonly head: SyntheticHead;
  readonly scale: number;
  readonly resi: '1conv' | '3conv';
  readonly inChannels: number;
  readonly windowSize: number;
  /** What detection should infer (255 only for the window-7 JPEG models). */
  readonly imgRange: number;
  /** Zero output projections make every block an identity (what the reference assumes). */
  readonly identityBlocks?: boolean;
}

function syntheticSwinIR(spec: SyntheticSpec): StateDict {
  const rng = new Lcg();
  const sd: StateDict = new Map();
  const C = 8;
  const feat = 8;
  const io = spec.inChannels;
  const put = (key: string, shape: number[], scaleOf = 0.5, zero = false): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(key, { shape, data: zero ? new Float32Array(n) : rng.fill(n, scaleOf) });
  };
  const conv = (prefix: string, out: number, inC: number, k = 3): void => {
    put(`${prefix}.weight`, [out, inC, k, k], 1 / Math.sqrt(inC * k * k));
    put(`${prefix}.bias`, [out], 0.2);
  };
  const norm = (prefix: string): void => {
    sd.set(`${prefix}.weight`, { shape: [C], data: rng.fill(C, 0.4).map((v) => 1 + v) });
    put(`${prefix}.bias`, [C], 0.2);
  };
  const resiConv = (prefix: string): void => {
    if (spec.resi === '1conv') conv(prefix, C, C);
    else {
      conv(`${prefix}.0`, C / 4, C);
      conv(`${prefix}.2`, C / 4, C / 4, 1);
      conv(`${prefix}.4`, C, C / 4);
    }
  };
  conv('conv_first', C, io);
  for (let b = 0; b < 2; b++) {
    const p = `layers.0.residual_group.blocks.${b}`;
    norm(`${p}.norm1`);
    put(`${p}.attn.relative_position_bias_table`, [(2 * spec.windowSize - 1) ** 2, 2]);
    put(`${p}.attn.qkv.weight`, [3 * C, C]);
    put(`${p}.attn.qkv.bias`, [3 * C]);
    put(`${p}.attn.proj.weight`, [C, C], 0.5, spec.identityBlocks ?? true);
    put(`${p}.attn.proj.bias`, [C], 0.2, spec.identityBlocks ?? true);
    norm(`${p}.norm2`);
    put(`${p}.mlp.fc1.weight`, [2 * C, C]);
    put(`${p}.mlp.fc1.bias`, [2 * C]);
    put(`${p}.mlp.fc2.weight`, [C, 2 * C], 0.5, spec.identityBlocks ?? true);
    put(`${p}.mlp.fc2.bias`, [C], 0.2, spec.identityBlocks ?? true);
  }
  resiConv('layers.0.conv');
  norm('norm');
  resiConv('conv_after_body');
  if (spec.head === 'nearest+conv') {
    conv('conv_before_upsample.0', feat, C);
    conv('conv_up1', feat, feat);
    if (spec.scale === 4) conv('conv_up2', feat, feat);
    conv('conv_hr', feat, feat);
    conv('conv_last', io, feat);
  } else if (spec.head === 'pixelshuffle') {
    conv('conv_before_upsample.0', feat, C);
    if (spec.scale === 3) conv('upsample.0', 9 * feat, feat);
    else for (let i = 0; i < Math.log2(spec.scale); i++) conv(`upsample.${2 * i}`, 4 * feat, feat);
    conv('conv_last', io, feat);
  } else {
    conv('conv_last', io, C);
  }
  return sd;
}

/** F.pad(x, (0, pw, 0, ph), 'reflect') to the next multiple of the window. */
function refReflectPad(x: Map3, multiple: number): Map3 {
  const h = Math.ceil(x.h / multiple) * multiple;
  const w = Math.ceil(x.w / multiple) * multiple;
  const reflect = (i: number, n: number): number => (i < n ? i : 2 * (n - 1) - i);
  const y = new Float32Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        y[(c * h + yy) * w + xx] = x.data[(c * x.h + reflect(yy, x.h)) * x.w + reflect(xx, x.w)] as number;
      }
  return { c: x.c, h, w, data: y };
}

function refCrop(x: Map3, h: number, w: number): Map3 {
  const y = new Float32Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) {
        y[(c * h + yy) * w + xx] = x.data[(c * x.h + yy) * x.w + xx] as number;
      }
  return { c: x.c, h, w, data: y };
}

/** Upstream SwinIR's forward on one image whose channel count matches the network. */
function referenceNetwork(sd: StateDict, spec: SyntheticSpec, image: Map3): Map3 {
  const mean = spec.inChannels === 3 ? [0.4488, 0.4371, 0.404] : [0];
  const padded = refReflectPad(image, spec.windowSize);
  const hw = padded.h * padded.w;
  const x = refMap(padded, (v, i) => (v - (mean[Math.floor(i / hw)] as number)) * spec.imgRange);
  const shallow = refConv(sd, 'conv_first', x);
  const grouped = refAdd(refResidualConv(sd, 'layers.0.conv', spec.resi, shallow), shallow);
  const body = refAdd(refResidualConv(sd, 'conv_after_body', spec.resi, refLayerNorm(sd, 'norm', grouped)), shallow);
  let y: Map3;
  if (spec.head === 'nearest+conv') {
    let f = refLrelu(refConv(sd, 'conv_before_upsample.0', body), 0.01);
    f = refLrelu(refConv(sd, 'conv_up1', refNearest2(f)), 0.2);
    if (spec.scale === 4) f = refLrelu(refConv(sd, 'conv_up2', refNearest2(f)), 0.2);
    y = refConv(sd, 'conv_last', refLrelu(refConv(sd, 'conv_hr', f), 0.2));
  } else if (spec.head === 'pixelshuffle') {
    let f = refLrelu(refConv(sd, 'conv_before_upsample.0', body), 0.01);
    if (spec.scale === 3) f = refPixelShuffle(refConv(sd, 'upsample.0', f), 3);
    else for (let i = 0; i < Math.log2(spec.scale); i++) f = refPixelShuffle(refConv(sd, `upsample.${2 * i}`, f), 2);
    y = refConv(sd, 'conv_last', f);
  } else {
    y = refAdd(x, refConv(sd, 'conv_last', body));
  }
  const ohw = y.h * y.w;
  const restored = refMap(y, (v, i) => v / spec.imgRange + (mean[Math.floor(i / ohw)] as number));
  return refCrop(restored, image.h * spec.scale, image.w * spec.scale);
}

const syntheticCases: readonly SyntheticSpec[] = [
  { head: 'nearest+conv', scale: 4, resi: '1conv', inChannels: 3, windowSize: 4, imgRange: 1 },
  { head: 'nearest+conv', scale: 2, resi: '3conv', inChannels: 3, windowSize: 4, imgRange: 1 },
  { head: 'pixelshuffle', scale: 3, resi: '3conv', inChannels: 3, windowSize: 4, imgRange: 1 },
  { head: 'pixelshuffle', scale: 8, resi: '1conv', inChannels: 3, windowSize: 4, imgRange: 1 },
  { head: '', scale: 1, resi: '3conv', inChannels: 3, windowSize: 4, imgRange: 1 },
  { head: '', scale: 1, resi: '1conv', inChannels: 3, windowSize: 7, imgRange: 255 },
  { head: '', scale: 1, resi: '1conv', inChannels: 1, windowSize: 7, imgRange: 255 },
  { head: '', scale: 1, resi: '1conv', inChannels: 1, windowSize: 4, imgRange: 1 },
];

for (const sc of syntheticCases) {
  const label = `'${sc.head}' head x${sc.scale}, ${sc.resi}, ${sc.inChannels} channel(s), window ${sc.windowSize}`;
  test(`swinir synthetic: ${label}`, async () => {
    const sd = syntheticSwinIR(sc);
    const config = swinir.readConfig(sd);
    assert.equal(config.head.upsampler, sc.head);
    assert.equal(config.head.scale, sc.scale);
    assert.equal(config.resiConnection, sc.resi);
    assert.equal(config.inChannels, sc.inChannels);
    assert.equal(config.windowSize, sc.windowSize);
    assert.equal(config.imgRange, sc.imgRange);
    assert.equal(config.patchNorm, false);
    assert.deepEqual(config.depths, [2]);
    // 9x13 is a multiple of neither window, so padding and cropping are exercised too.
    const h = 9;
    const w = 13;
    // A grayscale network's graph takes and gives one channel, as spandrel's does.
    const c = sc.inChannels;
    const input: Map3 = { c, h, w, data: new Lcg().fill(c * h * w, 1).map((v) => v + 0.5) };
    const out = await runOnnx(swinir.build(sd, config), input.data, [1, c, h, w]);
    const reference = referenceNetwork(sd, sc, input);
    assert.deepEqual(out.dims, [1, c, h * sc.scale, w * sc.scale]);
    const actual = out.data as Float32Array;
    const rel = relativeL2(actual, reference.data);
    const maxAbs = maxAbsDiff(actual, reference.data);
    console.log(`synthetic ${label}: rel L2 ${rel.toExponential(3)}, max abs ${maxAbs.toExponential(3)}`);
    assert.ok(rel < 1e-5, `relative L2 ${rel}`);
    assert.ok(maxAbs < 1e-4, `max abs ${maxAbs}`);
  });
}

test('swinir: golden weights of every other family are not identified as SwinIR', () => {
  const own = new Set(['swinir_classical_x2', 'swinir_lightweight_x4']);
  const others = fs
    .readdirSync(path.join(FIXTURES_DIR, 'arch'))
    .filter((d) => !own.has(d) && fs.existsSync(path.join(FIXTURES_DIR, 'arch', d, `${d}.safetensors`)));
  assert.ok(others.length >= 5, `found ${others.length} other fixtures`);
  for (const name of others) {
    const sd = readSafetensors(fs.readFileSync(path.join(FIXTURES_DIR, 'arch', name, `${name}.safetensors`)), name);
    const identity = identify(sd);
    assert.ok(identity?.kind === 'converted' && identity.module.id !== 'swinir', name);
  }
});

// ---------------------------------------------------------------------------------------
// The window machinery on its own, with rectangular windows (which neither SwinIR nor
// HAT uses) so that a later family can rely on it: checked against direct ports of
// window_partition, calculate_mask and nn.Unfold.

async function runWindowGraph(
  height: number,
  width: number,
  channels: number,
  window: WindowShape,
  body: (ctx: GraphContext, grid: WindowGrid, x: string) => string,
  gridValues: Float32Array,
): Promise<ort.Tensor> {
  const g = new GraphBuilder('window_test');
  const ctx = new GraphContext(g, new Map());
  const x = g.input('grid', [1, 'h', 'w', channels]);
  g.output(body(ctx, new WindowGrid(ctx, x, window), x), 'result', ['a', 'b', 'c', 'd']);
  const session = await ort.InferenceSession.create(g.toBytes());
  const out = await session.run({ grid: new ort.Tensor('float32', gridValues, [1, height, width, channels]) });
  return out.result as ort.Tensor;
}

test('window grid: rectangular partition, reverse, shift mask and overlapping windows match PyTorch semantics', async () => {
  const [H, W, C] = [6, 12, 2];
  const window: WindowShape = { height: 2, width: 3 };
  const values = Float32Array.from({ length: H * W * C }, (_, i) => i);
  const at = (y: number, x: number, c: number): number => (y * W + x) * C + c;
  const [nr, nc, n] = [H / window.height, W / window.width, window.height * window.width];

  const windows = await runWindowGraph(H, W, C, window, (_ctx, grid, x) => grid.partition(x, C), values);
  assert.deepEqual(windows.dims, [1, nr * nc, n, C]);
  const expectedWindows = new Float32Array(values.length);
  for (let r = 0; r < nr; r++)
    for (let q = 0; q < nc; q++)
      for (let t = 0; t < n; t++)
        for (let c = 0; c < C; c++) {
          const y = r * window.height + Math.floor(t / window.width);
          const x = q * window.width + (t % window.width);
          expectedWindows[((r * nc + q) * n + t) * C + c] = values[at(y, x, c)] as number;
        }
  assert.deepEqual(Array.from(windows.data as Float32Array), Array.from(expectedWindows));

  const roundTrip = await runWindowGraph(
    H,
    W,
    C,
    window,
    (_ctx, grid, x) => grid.reverse(grid.partition(x, C), C),
    values,
  );
  assert.deepEqual(Array.from(roundTrip.data as Float32Array), Array.from(values));

  const shift = { rows: 1, cols: 2 };
  const mask = await runWindowGraph(H, W, C, window, (_ctx, grid) => grid.shiftMask(shift), values);
  assert.deepEqual(mask.dims, [nr * nc, 1, n, n]);
  const region = (p: number, length: number, extent: number, s: number): number =>
    p < length - extent ? 0 : p < length - s ? 1 : 2;
  const maskData = mask.data as Float32Array;
  for (let r = 0; r < nr; r++)
    for (let q = 0; q < nc; q++)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const label = (t: number): number =>
            region(r * window.height + Math.floor(t / window.width), H, window.height, shift.rows) * 3 +
            region(q * window.width + (t % window.width), W, window.width, shift.cols);
          const expected = label(i) === label(j) ? 0 : SHIFT_MASK_VALUE;
          assert.equal(maskData[((r * nc + q) * n + i) * n + j], expected, `window ${r},${q} pair ${i},${j}`);
        }

  const overlap: WindowShape = { height: 4, width: 5 };
  const m = overlap.height * overlap.width;
  const unfolded = await runWindowGraph(
    H,
    W,
    C,
    window,
    (_ctx, grid, x) => grid.overlappingWindows(x, C, overlap),
    values,
  );
  assert.deepEqual(unfolded.dims, [1, nr * nc, m, C]);
  const unfoldedData = unfolded.data as Float32Array;
  const [pr, pc] = [(overlap.height - window.height) / 2, (overlap.width - window.width) / 2];
  for (let r = 0; r < nr; r++)
    for (let q = 0; q < nc; q++)
      for (let t = 0; t < m; t++)
        for (let c = 0; c < C; c++) {
          const y = r * window.height + Math.floor(t / overlap.width) - pr;
          const x = q * window.width + (t % overlap.width) - pc;
          const expected = y >= 0 && y < H && x >= 0 && x < W ? (values[at(y, x, c)] as number) : 0;
          assert.equal(unfoldedData[((r * nc + q) * m + t) * C + c], expected);
        }
});
