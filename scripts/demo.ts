// `npm run demo`: rasterises the bundled sample and upscales it with the default model
// through the real CLI and daemon, printing where the result is and how long it took.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const outDir = path.join(REPO_ROOT, 'demo-output');
  fs.mkdirSync(outDir, { recursive: true });
  const sample = path.join(outDir, 'lighthouse.png');
  await sharp(path.join(REPO_ROOT, 'samples', 'lighthouse.svg'))
    .png()
    .toFile(sample);
  const cli = path.join(REPO_ROOT, 'out', 'daemon', 'upscale.js');
  const started = performance.now();
  const run = spawnSync(process.execPath, [cli, sample, '-o', outDir, '--overwrite'], { stdio: 'inherit' });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) {
    process.stderr.write(`demo: the upscale failed (exit ${run.status ?? run.signal})\n`);
    process.exit(1);
  }
  process.stdout.write(`demo: input ${sample}\n`);
  process.stdout.write(`demo: result ${path.join(outDir, 'lighthouse@4x.png')}\n`);
  process.stdout.write(`demo: ${seconds.toFixed(2)} s in all, including starting the daemon and loading the model\n`);
}

void main();
