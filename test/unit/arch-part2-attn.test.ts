// Swin2SR, GRL, CRAFT, DCTLSA and DiffBIR's SwinIR beyond their golden outputs: every
// hyper-parameter spandrel read for the fixtures and held-out cases is the module's too; the
// official GRL checkpoints' key prefixes convert as the bare keys do; and what spandrel would
// load but could not run (or would run misread) is refused with the reason.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR, REPO_ROOT, readF32, runOnnx } from '../fixtures';
import { detectArchitecture } from '../../models/architectures/detect';
import { readSafetensors } from '../../models/readers/safetensors';
import type { StateDict, Tensor } from '../../models/weights/state-dict';

const SPANDREL_DIR = path.join(FIXTURES_DIR, 'spandrel');
const HELD_OUT_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'held-out');
const ARCHITECTURES = ['swin2sr', 'grl', 'craft', 'dctlsa'];

function load(dir: string, name: string): StateDict {
  const file = path.join(dir, name, `${name}.safetensors`);
  return readSafetensors(fs.readFileSync(file), file);
}

function caseJson(
  dir: string,
  name: string,
): { config: Record<string, unknown>; cases: { input: string; input_shape: number[] }[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, name, 'case.json'), 'utf8')) as ReturnType<typeof caseJson>;
}

/** This change's cases: the shared fixtures of its architectures and its held-out folders. */
function cases(): [string, string][] {
  const mine = (name: string): boolean =>
    ARCHITECTURES.some((a) => name.startsWith(`${a}_`)) || name.startsWith('swinir_diffbir');
  return [
    ...fs
      .readdirSync(SPANDREL_DIR)
      .filter(mine)
      .map((n): [string, string] => [SPANDREL_DIR, n]),
    ...fs
      .readdirSync(HELD_OUT_DIR)
      .filter(mine)
      .map((n): [string, string] => [HELD_OUT_DIR, n]),
  ];
}

test('every hyper-parameter spandrel was given or read back is the one the module reads', () => {
  const checked: string[] = [];
  for (const [dir, name] of cases()) {
    const { config } = caseJson(dir, name);
    const { info } = detectArchitecture(load(dir, name), name);
    for (const [key, value] of Object.entries(info.params)) {
      if (!(key in config)) continue;
      const expected = config[key];
      assert.deepEqual(typeof value === 'object' ? [...value] : value, expected, `${name}: ${key}`);
      checked.push(`${name}.${key}`);
    }
  }
  assert.ok(checked.length > 150, `${checked.length} hyper-parameters compared`);
});

function renamed(sd: StateDict, rename: (key: string) => string): StateDict {
  return new Map([...sd].map(([k, t]) => [rename(k), t]));
}

test("GRL checkpoints keyed under 'model.' or, beside a discriminator, 'model_g.' convert as the bare keys do", async () => {
  const bare = load(SPANDREL_DIR, 'grl_x1');
  const {
    cases: [golden],
  } = caseJson(SPANDREL_DIR, 'grl_x1');
  assert.ok(golden);
  const input = readF32(path.join(SPANDREL_DIR, 'grl_x1', golden.input));
  const run = async (sd: StateDict): Promise<Float32Array> => {
    const { module, config } = detectArchitecture(sd, 'grl.pth');
    return (await runOnnx(module.build(sd, config), input, golden.input_shape)).data as Float32Array;
  };
  const reference = await run(bare);
  const discriminator: [string, Tensor] = ['model_d.conv_first.weight', { shape: [1], data: new Float32Array(1) }];
  for (const sd of [
    renamed(bare, (k) => `model.${k}`),
    new Map([...renamed(bare, (k) => `model_g.${k}`), discriminator]),
  ]) {
    assert.deepEqual(await run(sd), reference);
  }
});

function withTensor(sd: StateDict, key: string, shape: number[]): StateDict {
  const size = shape.reduce((a, b) => a * b, 1);
  return new Map([...sd, [key, { shape, data: new Float32Array(size) }]]);
}

function refused(sd: StateDict, file: string, reason: RegExp): void {
  assert.throws(
    () => detectArchitecture(sd, file),
    (e: Error) => {
      assert.match(e.message, new RegExp(`^${file}: the weights look like \\S+ but do not fit it: `));
      assert.match(e.message, reason);
      return true;
    },
  );
}

test('DCTLSA whose width its five fixed heads do not divide is refused, saying so', () => {
  refused(
    withTensor(load(SPANDREL_DIR, 'dctlsa_x4'), 'fea_conv.weight', [12, 3, 3, 3]),
    'dctlsa.pth',
    /nf 12 is not a multiple of the 5 attention heads spandrel builds DCTLSA with/,
  );
});

test('CRAFT whose position buffers are of the transposed window spandrel assumes is refused, naming both', () => {
  const sd = load(SPANDREL_DIR, 'craft_x4');
  const swapped = renamed(sd, (k) =>
    k.endsWith('_h') ? k.replace(/_h$/, '_v') : k.endsWith('_v') ? k.replace(/_v$/, '_h') : k,
  );
  refused(
    swapped,
    'craft.pth',
    /'relative_position_index_h'.*a 4×16 window \(spandrel reads CRAFT's windows as 4×16 and 16×4\)/,
  );
});

test('GRL with one patch-merging anchor stage and no tables is refused: it halves, spandrel assumes 4', () => {
  const sd = new Map([...load(SPANDREL_DIR, 'grl_x1')].filter(([k]) => !k.endsWith('anchor.body.0.reduction.bias')));
  refused(sd, 'grl.pth', /one patch-merging anchor stage halves the size, but the anchor factor is 4/);
});

test('Swin2SR with patches larger than a pixel is refused: its forward cannot run them', () => {
  refused(
    withTensor(load(SPANDREL_DIR, 'swin2sr_x1'), 'patch_embed.proj.weight', [12, 12, 2, 2]),
    'swin2sr.pth',
    /patch_size 2: .* no such model runs/,
  );
});
