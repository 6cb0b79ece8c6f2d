import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, assertMatchesGolden, type GoldenCase } from '../fixtures';
import { readSafetensors } from '../../models/readers/safetensors';
import { readPthBytes } from '../../models/readers/pth';
import type { StateDict } from '../../models/weights/state-dict';
import { dat } from '../../models/architectures/dat';
import {
  isShiftedBlock,
  positionBiasDim,
  readDatConfig,
  windowFromRelativeIndex,
  windowFromRpeBiases,
} from '../../models/architectures/dat/config';
import { relativeOffsets } from '../../models/architectures/dat/position-bias';
import { describeConfig } from '../../models/architectures/detect';
import { satisfies } from '../../models/weights/keys';
import { swinRelativePositionIndex } from '../../models/nn/window-attention';

/** DAT's relative-position index is Swin's for its (rectangular) window, as numbers. */
const relativePositionIndex = (h: number, w: number): number[] => [
  ...swinRelativePositionIndex({ height: h, width: w }),
];

const CASE_DIR = path.join(FIXTURES_DIR, 'arch', 'dat_x2');

interface CaseJson {
  readonly config: {
    readonly upscale: number;
    readonly in_chans: number;
    readonly img_size: number;
    readonly img_range: number;
    readonly split_size: readonly number[];
    readonly depth: readonly number[];
    readonly embed_dim: number;
    readonly num_heads: readonly number[];
    readonly expansion_factor: number;
    readonly resi_connection: string;
    readonly upsampler: string;
  };
  readonly cases: readonly GoldenCase[];
}

function loadCase(): { meta: CaseJson; sd: StateDict } {
  const meta = JSON.parse(fs.readFileSync(path.join(CASE_DIR, 'case.json'), 'utf8')) as CaseJson;
  const sd = readSafetensors(fs.readFileSync(path.join(CASE_DIR, 'dat_x2.safetensors')), 'dat_x2.safetensors');
  return { meta, sd };
}

function without(sd: StateDict, drop: (key: string) => boolean): StateDict {
  return new Map([...sd].filter(([k]) => !drop(k)));
}

test('dat: detection reads every hyper-parameter of the fixture', () => {
  const { meta, sd } = loadCase();
  const cfg = dat.readConfig(sd);
  const info = describeConfig(dat, cfg);
  const expected = meta.config;
  assert.equal(cfg.head.scale, expected.upscale);
  assert.equal(info.scale, expected.upscale);
  assert.equal(cfg.embedDim, expected.embed_dim);
  assert.deepEqual(cfg.depths, expected.depth);
  assert.deepEqual(cfg.numHeads, expected.num_heads);
  assert.deepEqual(cfg.splitSize, expected.split_size);
  assert.equal(cfg.expansionFactor, expected.expansion_factor);
  assert.equal(cfg.resiConnection, expected.resi_connection);
  assert.equal(cfg.head.upsampler, expected.upsampler);
  assert.equal(cfg.imgRange, expected.img_range);
  assert.equal(cfg.imgSize, expected.img_size);
  assert.equal(cfg.qkvBias, true);
  assert.equal(info.family, 'dat');
});

for (const [i, label] of [
  [0, '16x16'],
  [1, '14x18 (padded inside attention)'],
] as const) {
  test(`dat: ONNX output matches upstream, case ${label}`, async () => {
    const { meta, sd } = loadCase();
    await assertMatchesGolden(dat.build(sd, dat.readConfig(sd)), CASE_DIR, meta.cases[i] as GoldenCase, 'dat_x2');
  });
}

test('dat: the .pth checkpoint gives the same state dict, configuration and output', async () => {
  const { meta, sd } = loadCase();
  const fromPth = readPthBytes(fs.readFileSync(path.join(CASE_DIR, 'dat_x2.pth')), 'dat_x2.pth');
  assert.deepEqual([...fromPth.keys()], [...sd.keys()]);
  for (const [key, t] of sd) {
    const other = fromPth.get(key);
    assert.ok(other, key);
    assert.deepEqual(other.shape, t.shape, key);
    assert.deepEqual(other.data, t.data, key);
  }
  const config = dat.readConfig(fromPth);
  assert.deepEqual(config, dat.readConfig(sd));
  await assertMatchesGolden(dat.build(fromPth, config), CASE_DIR, meta.cases[1] as GoldenCase, 'dat_x2 (.pth)');
});

test("dat: a foreign state dict does not have DAT's keys", () => {
  const foreign: StateDict = new Map([
    ['conv_first.weight', { shape: [16, 3, 3, 3], data: new Float32Array(16 * 27) }],
    ['body.0.rdb1.conv1.weight', { shape: [8, 16, 3, 3], data: new Float32Array(8 * 16 * 9) }],
    ['layers.0.residual_group.blocks.0.norm1.weight', { shape: [16], data: new Float32Array(16) }],
  ]);
  assert.equal(satisfies(foreign, dat.keys), false);
  assert.equal(satisfies(new Map(), dat.keys), false);
});

test('dat: a missing block tensor is named in the error', () => {
  const { sd } = loadCase();
  const key = 'layers.1.blocks.1.attn.channel_interaction.4.weight';
  assert.throws(
    () => dat.readConfig(without(sd, (k) => k === key)),
    (err: Error) => {
      assert.match(err.message, /layers\.1\.blocks\.1\.attn\.channel_interaction\.4\.weight/);
      assert.match(err.message, /\[64, 8, 1, 1\]/);
      return true;
    },
  );
  const ffnKey = 'layers.0.blocks.0.ffn.sg.conv.weight';
  assert.throws(() => dat.readConfig(without(sd, (k) => k === ffnKey)), new RegExp(ffnKey.replace(/\./g, '\\.')));
});

test('dat: a wrongly shaped tensor is reported with found and expected shapes', () => {
  const { sd } = loadCase();
  const broken = new Map(sd);
  broken.set('layers.1.blocks.0.attn.attns.1.pos.pos3.2.weight', { shape: [3, 2], data: new Float32Array(6) });
  assert.throws(
    () => dat.readConfig(broken),
    /'layers\.1\.blocks\.0\.attn\.attns\.1\.pos\.pos3\.2\.weight' has shape \[3, 2\], expected \[2, 2\]/,
  );
});

test('dat: a stored position buffer that disagrees with split_size is rejected', () => {
  const { sd } = loadCase();
  const key = 'layers.1.blocks.0.attn.attns.1.relative_position_index';
  const stored = sd.get(key);
  assert.ok(stored);
  const altered = BigInt64Array.from(stored.data as BigInt64Array);
  altered[5] = 0n;
  const broken = new Map(sd);
  broken.set(key, { shape: stored.shape, data: altered });
  assert.throws(
    () => dat.readConfig(broken),
    /relative_position_index' holds 0 at flat index 5, expected \d+ for a 4x2 window/,
  );
});

test('dat: split_size falls back to relative_position_index, then to an override', () => {
  const { sd } = loadCase();
  const noRpe = without(sd, (k) => k.endsWith('.rpe_biases'));
  assert.deepEqual(dat.readConfig(noRpe).splitSize, [2, 4]);
  const noBuffers = without(noRpe, (k) => k.endsWith('.relative_position_index'));
  assert.throws(() => dat.readConfig(noBuffers), /split_size/);
  assert.deepEqual(readDatConfig(noBuffers, { splitSize: [2, 4] }).splitSize, [2, 4]);
  assert.throws(() => readDatConfig(sd, { splitSize: [4, 2] }), /stored position buffers say \[2, 4\]/);
});

test('dat: window shapes are read back from regenerated buffers, both orientations', () => {
  for (const [h, w] of [
    [8, 32],
    [32, 8],
    [8, 16],
    [2, 4],
    [4, 2],
    [1, 5],
    [5, 1],
  ] as const) {
    const offsets = relativeOffsets(h, w);
    const rpe = { shape: [offsets.length / 2, 2], data: Float32Array.from(offsets) };
    assert.deepEqual(windowFromRpeBiases(rpe, 'rpe'), [h, w]);
    // A one-token-wide window's index is the same in both orientations.
    if (h === 1 || w === 1) continue;
    const index = relativePositionIndex(h, w);
    const n = h * w;
    const idx = { shape: [n, n], data: BigInt64Array.from(index.map((v) => BigInt(v))) };
    assert.deepEqual(windowFromRelativeIndex(idx, 'index'), [h, w]);
  }
});

test('dat: regenerated position buffers equal the stored ones', () => {
  const { sd } = loadCase();
  const prefix = 'layers.0.blocks.0.attn.attns';
  for (const [branch, h, w] of [
    [0, 2, 4],
    [1, 4, 2],
  ] as const) {
    const rpe = sd.get(`${prefix}.${branch}.rpe_biases`);
    const index = sd.get(`${prefix}.${branch}.relative_position_index`);
    assert.ok(rpe && index);
    assert.deepEqual([...rpe.data].map(Number), [...relativeOffsets(h, w)]);
    assert.deepEqual([...index.data].map(Number), relativePositionIndex(h, w));
  }
});

test('dat: shift schedule and position-bias width follow upstream', () => {
  // Group 0 shifts blocks 2, 6, 10...; group 1 shifts 0, 4, 8...
  assert.deepEqual(
    [0, 2, 4, 6].map((b) => isShiftedBlock(0, b)),
    [false, true, false, true],
  );
  assert.deepEqual(
    [0, 2, 4, 6].map((b) => isShiftedBlock(1, b)),
    [true, false, true, false],
  );
  assert.equal(positionBiasDim(64), 2);
  assert.equal(positionBiasDim(180), 5);
  assert.equal(positionBiasDim(60), 1);
});
