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
  const lines = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          output: string;
          width: number;
          height: number;
          passes: number;
          provider: string;
          seconds: number;
        },
    );
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

test('-o NAME.ext decides the format: a JPEG (CMYK) input written as -o out.png is a PNG', async () => {
  await sharp(path.join(dir, 'a.png')).toColourspace('cmyk').jpeg().toFile(path.join(dir, 'cmyk.jpg'));
  const r = upscale(['cmyk.jpg', '-o', 'cmyk-out.png', '-s', '2']);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(path.join(dir, 'cmyk-out.png')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 40, 28]);
  const bare = upscale(['a.png', '-o', 'bare', '--format', 'webp', '-s', '2']);
  assert.equal(bare.status, 0, bare.stderr);
  assert.equal((await sharp(path.join(dir, 'bare')).metadata()).format, 'webp');
});

test('a name whose extension is not a writable format, or that disagrees with --format, is refused before any work', () => {
  const before = fs.readdirSync(dir).sort();
  const bmp = upscale(['a.png', '-o', 'out.bmp']);
  assert.equal(bmp.status, 1);
  assert.match(
    bmp.stderr,
    /out\.bmp: '\.bmp' is not a format Upscale writes; the output extensions are \.png \.jpg \.jpeg \.webp \.tif \.tiff \.avif/,
  );
  const clash = upscale(['a.png', '-o', 'out.png', '--format', 'jpg']);
  assert.equal(clash.status, 1);
  assert.match(
    clash.stderr,
    /out\.png: is named as PNG \(\.png\) but the output format asked for \(--format\) is JPEG/,
  );
  const noExt = upscale(['a.png', '-o', 'result']);
  assert.equal(noExt.status, 1);
  assert.match(noExt.stderr, /result: has no extension, so its format is unknown/);
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'nothing written');
});

test('-o onto the input is refused, --overwrite or not, through a symbolic or a hard link too', () => {
  fs.copyFileSync(path.join(dir, 'a.png'), path.join(dir, 'self.png'));
  fs.symlinkSync('self.png', path.join(dir, 'self-link.png'));
  fs.linkSync(path.join(dir, 'self.png'), path.join(dir, 'self-hard.png'));
  const original = fs.readFileSync(path.join(dir, 'self.png'));
  const before = fs.readdirSync(dir).sort();
  for (const target of ['self.png', './self.png', 'self-link.png', 'self-hard.png']) {
    for (const flags of [[], ['--overwrite']]) {
      const r = upscale(['self.png', '-o', target, '-s', '2', ...flags]);
      assert.equal(r.status, 1, `${target} ${flags.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /self(-link|-hard)?\.png: is the input image/);
    }
  }
  assert.deepEqual(fs.readFileSync(path.join(dir, 'self.png')), original);
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'no "self (2).png" or anything else');
});

test('-o FILE that exists: refused without --overwrite (exit 1, named, nothing written), replaced with it; chosen names still get (2)', async () => {
  fs.writeFileSync(path.join(dir, 'taken.png'), 'old');
  const before = fs.readdirSync(dir).sort();
  const r = upscale(['a.png', '-o', 'taken.png', '-s', '2']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /upscale: error: .*taken\.png: already exists; nothing was written/);
  assert.equal(fs.readFileSync(path.join(dir, 'taken.png'), 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
  const forced = upscale(['a.png', '-o', 'taken.png', '-s', '2', '--overwrite']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal((await sharp(path.join(dir, 'taken.png')).metadata()).width, 40);
  // With --sidecar the record's name is part of the promise.
  fs.writeFileSync(path.join(dir, 'recorded.png.json'), 'old record');
  const before2 = fs.readdirSync(dir).sort();
  const recorded = upscale(['a.png', '-o', 'recorded.png', '-s', '2', '--sidecar']);
  assert.equal(recorded.status, 1);
  assert.match(recorded.stderr, /recorded\.png\.json: already exists; nothing was written/);
  assert.deepEqual(fs.readdirSync(dir).sort(), before2);
  assert.equal(fs.readFileSync(path.join(dir, 'recorded.png.json'), 'utf8'), 'old record');
  // A name from the template is the program's choice: a clash gets the next free name.
  fs.writeFileSync(path.join(dir, 'a@5x.png'), 'old');
  const chosen = upscale(['a.png', '-s', '5', '--json']);
  assert.equal(chosen.status, 0, chosen.stderr);
  assert.equal((JSON.parse(chosen.stdout) as { output: string }).output, path.join(dir, 'a@5x (2).png'));
});

test('models list, import and convert', () => {
  const list = upscale(['models', 'list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  const ids = (JSON.parse(list.stdout) as Array<{ id: string }>).map((m) => m.id);
  assert.ok(ids.includes('realesr-general-x4v3') && ids.includes('realesrgan-x4plus'));
  const imported = upscale([
    'models',
    'import',
    path.join(FIXTURES_DIR, 'arch', 'rrdbnet_x2', 'rrdbnet_x2.pth'),
    '--json',
  ]);
  assert.equal(imported.status, 0, imported.stderr);
  const model = JSON.parse(imported.stdout) as { id: string; scale: number };
  assert.equal(model.scale, 2);
  assert.ok(fs.existsSync(path.join(dir, 'models', `${model.id}.onnx`)));
  const withIt = upscale(['b.png', '-m', model.id, '--json']);
  assert.equal(withIt.status, 0, withIt.stderr);
  assert.equal((JSON.parse(withIt.stdout) as { width: number }).width, 20);
  const out = path.join(dir, 'hat.onnx');
  const converted = upscale([
    'models',
    'convert',
    path.join(FIXTURES_DIR, 'arch', 'hat_x4', 'hat_x4.safetensors'),
    out,
  ]);
  assert.equal(converted.status, 0, converted.stderr);
  assert.ok(fs.statSync(out).size > 1000);
});
