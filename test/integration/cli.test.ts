// The `upscale` command line, run as a user runs it: real process, real daemon child.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { DAEMON_ENTRY, tempDir, writeTestImage } from './daemon-harness';
import { FIXTURES_DIR } from '../fixtures';

let dir: string;
const env = () => ({ ...process.env, UPSCALE_MODELS_DIR: path.join(dir, 'models') });

function upscale(args: string[]) {
  return spawnSync(process.execPath, [DAEMON_ENTRY, ...args], { encoding: 'utf8', env: env(), cwd: dir });
}

before(async () => {
  dir = tempDir('cli');
  await writeTestImage(path.join(dir, 'a.png'), 20, 14);
  await writeTestImage(path.join(dir, 'b.png'), 10, 10);
});

test('--json prints one object per result and the files exist with the right size', () => {
  const r = upscale(['a.png', 'b.png', '-s', '2', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { output: string; width: number; height: number; passes: number; provider: string; seconds: number });
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]?.width, lines[0]?.height, lines[0]?.passes, lines[0]?.provider], [40, 28, 1, 'cpu']);
  assert.equal(lines[0]?.output, path.join(dir, 'a@2x.png'));
  assert.ok(typeof lines[0]?.seconds === 'number');
  assert.ok(fs.existsSync(path.join(dir, 'b@2x.png')));
});

test('-o DIR, --width, --format', async () => {
  fs.mkdirSync(path.join(dir, 'out'));
  const r = upscale(['a.png', '-o', 'out', '--width', '60', '--format', 'webp']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*out\/a@3x\.webp \(20x14 -> 60x42/);
  const meta = await sharp(path.join(dir, 'out', 'a@3x.webp')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 60, 42]);
});

test('failures exit non-zero with the error on stderr, and other inputs still run', () => {
  const r = upscale(['missing.png', 'b.png', '-s', '3']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /upscale: error: .*missing\.png: no such file/);
  assert.ok(fs.existsSync(path.join(dir, 'b@3x.png')));
  const usage = upscale(['a.png', '--tile', 'big']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--tile is 'big'; expected an integer/);
});

test('models list, import and convert', () => {
  const list = upscale(['models', 'list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  const ids = (JSON.parse(list.stdout) as Array<{ id: string }>).map((m) => m.id);
  assert.ok(ids.includes('realesr-general-x4v3') && ids.includes('realesrgan-x4plus'));
  const imported = upscale(['models', 'import', path.join(FIXTURES_DIR, 'arch', 'rrdbnet_x2', 'rrdbnet_x2.pth'), '--json']);
  assert.equal(imported.status, 0, imported.stderr);
  const model = JSON.parse(imported.stdout) as { id: string; scale: number };
  assert.equal(model.scale, 2);
  assert.ok(fs.existsSync(path.join(dir, 'models', `${model.id}.onnx`)));
  const withIt = upscale(['b.png', '-m', model.id, '--json']);
  assert.equal(withIt.status, 0, withIt.stderr);
  assert.equal((JSON.parse(withIt.stdout) as { width: number }).width, 20);
  const out = path.join(dir, 'hat.onnx');
  const converted = upscale(['models', 'convert', path.join(FIXTURES_DIR, 'arch', 'hat_x4', 'hat_x4.safetensors'), out]);
  assert.equal(converted.status, 0, converted.stderr);
  assert.ok(fs.statSync(out).size > 1000);
});
