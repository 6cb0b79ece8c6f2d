// The WebGPU path on Mesa's lavapipe (software Vulkan), the only Vulkan driver the daemon
// sees (scripts/lavapipe.sh, run by .ci/run): results match the CPU's, fp16 reports itself
// and meets its bar, a job cancels, a refused adapter gets Dawn's reason and the daemon
// lives on, `auto` does not take the software adapter (and remembers that), and a named
// provider that cannot run is refused before any work. Lavapipe is 15-40× slower than the
// CPU provider, so the images are tiny.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { DaemonError } from '../../contract/errors';
import { Requests } from '../../contract/methods';
import type { UpscaleResult } from '../../contract/protocol';
import type { UpscaleParams } from '../../contract/request';
import { builtinModelsDir } from '../../models/paths';
import { psnrRgb } from '../../bench/metrics';
import { readRaster } from '../../bench/images';
import { DAEMON_ENTRY, startDaemon, tempDir, type TestDaemon } from './daemon-harness';
import { lavapipe } from '../lavapipe';
import { photo } from '../photos';
import { FIXTURES_DIR } from '../fixtures';

let dir: string;
let small: string;
let larger: string;
const daemons: TestDaemon[] = [];

before(async () => {
  dir = tempDir('webgpu');
  small = path.join(dir, 'baboon-32x24.png');
  larger = path.join(dir, 'fruits-64x48.png');
  await sharp(photo('baboon.jpg')).extract({ left: 240, top: 180, width: 32, height: 24 }).png().toFile(small);
  await sharp(photo('fruits.jpg')).extract({ left: 200, top: 150, width: 64, height: 48 }).png().toFile(larger);
});

after(async () => {
  for (const d of daemons) await d.stop();
});

function daemonWith(env: NodeJS.ProcessEnv): TestDaemon {
  const d = startDaemon(env);
  daemons.push(d);
  return d;
}

/** Runs the CLI with lavapipe's environment (plus `env`) in the test folder. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [DAEMON_ENTRY, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, UPSCALE_MODELS_DIR: path.join(dir, 'models'), ...lavapipe().env, ...env },
  });
}

async function upscale(d: TestDaemon, name: string, params: Omit<UpscaleParams, 'output'>): Promise<UpscaleResult> {
  return d.connection.request(Requests.upscale, { ...params, output: path.join(dir, name), overwrite: true });
}

async function psnr(a: string, b: string): Promise<number> {
  return psnrRgb(await readRaster(a), await readRaster(b));
}

test('--provider webgpu runs on WebGPU and matches the CPU, whole image and tiled (fp32, at least 50 dB)', async () => {
  const gpu = daemonWith(lavapipe().env);
  const cpu = daemonWith({});
  const init = await gpu.connection.request(Requests.initialize, { provider: 'webgpu' });
  assert.equal(init.activeProvider, 'webgpu');
  assert.match(init.providerReason, /webgpu was requested/);
  await cpu.connection.request(Requests.initialize, { provider: 'cpu' });
  for (const [label, input, tiling, tiled] of [
    ['whole', small, { tile: 0 }, false],
    ['tiled', larger, { tile: 32, overlap: 8 }, true],
  ] as const) {
    const onGpu = await upscale(gpu, `${label}-webgpu.png`, { input, precision: 'fp32', ...tiling });
    const onCpu = await upscale(cpu, `${label}-cpu.png`, { input, ...tiling });
    assert.deepEqual([onGpu.provider, onGpu.precision], ['webgpu', 'fp32']);
    assert.equal(onCpu.provider, 'cpu');
    const tiles = onGpu.plan?.passes[0]?.tiles ?? 0;
    assert.ok(tiled ? tiles > 1 : tiles === 1, `${label}: ${tiles} tiles`);
    const db = await psnr(onGpu.outputPath, onCpu.outputPath);
    console.log(`webgpu (lavapipe) vs cpu, ${label}, fp32: ${db.toFixed(1)} dB`);
    assert.ok(db >= 50, `${label}: ${db} dB`);
  }
});

test('--precision fp16 --provider webgpu reports fp16 and stays within the fp16 bar of the CPU (45 dB)', async () => {
  const cpuOut = path.join(dir, 'fp16-ref-cpu.png');
  const cpuRun = cli(['baboon-32x24.png', '--provider', 'cpu', '-o', cpuOut, '--json']);
  assert.equal(cpuRun.status, 0, cpuRun.stderr);
  const r = cli(['baboon-32x24.png', '--provider', 'webgpu', '--precision', 'fp16', '-o', 'fp16.png', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim()) as { provider: string; precision: string; output: string };
  assert.deepEqual([line.provider, line.precision], ['webgpu', 'fp16']);
  const db = await psnr(line.output, cpuOut);
  console.log(`webgpu (lavapipe) fp16 vs cpu fp32, whole: ${db.toFixed(1)} dB`);
  assert.ok(db >= 45, `${db} dB`);
  assert.ok(
    fs.existsSync(path.join(builtinModelsDir(), '.fp16', 'realesr-general-x4v3.onnx')),
    'the fp16 model is kept',
  );
});

test('a WebGPU job cancels mid-way, leaves no output, and the daemon takes the next job', async () => {
  const gpu = daemonWith(lavapipe().env);
  await gpu.connection.request(Requests.initialize, { provider: 'webgpu' });
  const output = path.join(dir, 'cancelled.png');
  const job = gpu.connection.start(Requests.upscale, {
    input: larger,
    output,
    tile: 32,
    overlap: 8,
    precision: 'fp32',
  });
  for (let i = 0; i < 3000 && !gpu.progress.some((p) => p.stage === 'infer' && p.done >= 1); i++)
    await new Promise((r) => setTimeout(r, 10));
  const seen = gpu.progress.filter((p) => p.stage === 'infer');
  assert.ok(
    seen.some((p) => p.done >= 1 && p.done < p.total),
    'cancelled after a tile, before the last',
  );
  gpu.connection.cancel(job.id);
  await assert.rejects(job.result, (e: unknown) => e instanceof DaemonError && e.errorName === 'Cancelled');
  assert.equal(fs.existsSync(output), false);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('cancelled')),
    [],
    'no partial file either',
  );
  const next = await upscale(gpu, 'after-cancel.png', { input: small, tile: 0 });
  assert.equal(next.provider, 'webgpu');
});

test("an adapter Dawn refuses (Debian 12 lavapipe) is refused with Dawn's reason, and the daemon lives on", async () => {
  const refused = lavapipe().refusedIcd;
  const d = daemonWith({ ...lavapipe().env, VK_DRIVER_FILES: refused, VK_ICD_FILENAMES: refused });
  await assert.rejects(d.connection.request(Requests.initialize, { provider: 'webgpu' }), (e: unknown) => {
    assert.ok(e instanceof DaemonError, String(e));
    assert.equal(e.errorName, 'ProviderUnavailable');
    assert.match(e.message, /provider 'webgpu' cannot run here: .*shaderUniform\*ArrayDynamicIndexing required/);
    return true;
  });
  // Jobs are refused the same way (never quietly run elsewhere)...
  await assert.rejects(
    d.connection.request(Requests.upscale, { input: small, output: path.join(dir, 'refused.png') }),
    (e: unknown) => e instanceof DaemonError && e.errorName === 'ProviderUnavailable',
  );
  assert.equal(fs.existsSync(path.join(dir, 'refused.png')), false);
  // ...until the client asks for something that runs.
  const init = await d.connection.request(Requests.initialize, { provider: 'cpu' });
  assert.equal(init.activeProvider, 'cpu');
  const r = await upscale(d, 'after-refusal.png', { input: small });
  assert.equal(r.provider, 'cpu');
});

test('auto with only lavapipe chooses the CPU, says why, keeps library noise out of the log, and remembers', async () => {
  const env = {
    ...lavapipe().env,
    UPSCALE_CACHE_DIR: tempDir('auto-cache'),
    UPSCALE_BUILTIN_DIR: builtinModelsDir(),
  };
  const first = daemonWith(env);
  const init = await first.connection.request(Requests.initialize, {});
  assert.equal(init.activeProvider, 'cpu');
  const webgpu = init.providers.find((p) => p.provider === 'webgpu');
  assert.equal(webgpu?.available, true, 'lavapipe runs');
  assert.match(webgpu?.reason ?? '', /slower than the CPU .*software adapter/);
  assert.match(init.providerReason, /^auto: no GPU provider beat the CPU: webgpu ran the probe [\d.]+× slower/);
  const r = await upscale(first, 'auto.png', { input: small });
  assert.deepEqual([r.provider, r.precision], ['cpu', 'fp32']);
  await first.stop();
  const lines = first.stderr
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const loud = lines.filter((l) => !/^\[upscale (info|debug)\] /.test(l));
  assert.deepEqual(loud, [], 'nothing but info and debug lines on a healthy start');
  assert.ok(
    lines.some((l) => l.startsWith('[upscale debug] probe (webgpu): Warning:')),
    'Dawn is heard at debug',
  );
  const summary = lines.filter((l) => l.startsWith('[upscale info] providers: '));
  assert.equal(summary.length, 1, 'one line says which providers exist and which runs');
  assert.match(summary[0] ?? '', /this build has cpu, webgpu .*running on cpu: .*\[measured in [\d.]+ s\]/);

  const second = daemonWith(env);
  const again = await second.connection.request(Requests.initialize, {});
  assert.equal(again.activeProvider, 'cpu');
  assert.equal(again.providerReason, init.providerReason);
  await second.stop();
  assert.match(second.stderr.join(''), /\[upscale info\] providers: .*\[remembered from \S+ for this machine/);
  assert.doesNotMatch(second.stderr.join(''), /probe \(webgpu\)/, 'nothing probed the second time');
});

test('--provider cuda without its files is refused with the command that installs them; nothing is written', () => {
  const r = cli(['baboon-32x24.png', '--provider', 'cuda', '-o', 'cuda.png']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /upscale: error: provider 'cuda' cannot run here: its files are not installed/);
  assert.match(r.stderr, /`ONNXRUNTIME_NODE_INSTALL=1 node \S+onnxruntime-node\/script\/install\.js`/);
  assert.match(r.stderr, /CUDA 13 and cuDNN 9/);
  assert.equal(fs.existsSync(path.join(dir, 'cuda.png')), false);
});

test('dml and coreml are refused on Linux, naming this build; nothing is written', () => {
  for (const provider of ['dml', 'coreml']) {
    const r = cli(['baboon-32x24.png', '--provider', provider, '-o', `${provider}.png`]);
    assert.equal(r.status, 1, provider);
    assert.match(
      r.stderr,
      new RegExp(
        `provider '${provider}' cannot run here: this platform's onnxruntime-node build \\(linux-x64\\) has no ${provider} provider`,
      ),
    );
    assert.equal(fs.existsSync(path.join(dir, `${provider}.png`)), false);
  }
});

test('--provider webgpu with no Vulkan driver exits non-zero, names the provider and writes nothing', () => {
  const r = cli(['baboon-32x24.png', '--provider', 'webgpu', '-o', 'nodriver.png'], {
    VK_DRIVER_FILES: path.join(dir, 'no-such-driver.json'),
    VK_ICD_FILENAMES: path.join(dir, 'no-such-driver.json'),
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /provider 'webgpu' cannot run here: .*Found no drivers/);
  assert.equal(r.stdout, '');
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('nodriver')),
    [],
  );
});

test('an explicit fp16 that cannot run is refused, naming precision and why, never run in fp32: on the CPU, and for SwinIR on WebGPU', () => {
  const swinir = path.join(FIXTURES_DIR, 'arch', 'swinir_lightweight_x4', 'swinir_lightweight_x4.safetensors');
  const imported = cli(['models', 'import', swinir, '--json']);
  assert.equal(imported.status, 0, imported.stderr);
  const { id } = JSON.parse(imported.stdout) as { id: string };
  for (const [label, args, why] of [
    ['cpu', ['--provider', 'cpu'], /precision 'fp16' cannot run: the cpu provider runs fp32 only/],
    [
      'swinir',
      ['--provider', 'webgpu', '-m', id],
      /precision 'fp16' cannot run: its architecture does not support fp16 \(model swinir_lightweight_x4 on webgpu\)/,
    ],
  ] as const) {
    const out = `fp16-refused-${label}.png`;
    const r = cli(['baboon-32x24.png', ...args, '--precision', 'fp16', '-o', out, '--json']);
    assert.equal(r.status, 1, `${label}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.equal(r.stdout, '');
    assert.equal(fs.existsSync(path.join(dir, out)), false);
  }
});
