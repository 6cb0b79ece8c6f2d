// The linux-arm64 package really runs: its own daemon and model, under an arm64 Node in
// qemu-user (scripts/packaging/qemu.ts), upscale a crop of a photograph to the exact size
// asked for, and its pixels agree with the linux-x64 package's on the same input to 1/255.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { cacheRoot } from '../../models/paths';
import { HOST_NODE, upscaleWithPackage, type NodeRuntime } from '../../scripts/packaging/packaged-daemon';
import { qemuArm64Node } from '../../scripts/packaging/qemu';
import { vsixName, type Target } from '../../scripts/packaging/targets';
import { unpackVsix } from '../../scripts/packaging/vsix';
import { REPO_ROOT } from '../fixtures';
import { photo } from '../photos';

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

/** Upscales `input` ×4 with a package's own daemon; returns the output's raw pixels. */
async function runPackage(target: Target, runtime: NodeRuntime, input: string, work: string) {
  const unpacked = unpackVsix(path.join(REPO_ROOT, vsixName(manifest.name, manifest.version, target)));
  try {
    const output = path.join(work, `${target}.png`);
    const started = Date.now();
    const result = await upscaleWithPackage(unpacked.extension, runtime, { input, output, scale: 4 }, unpacked.dir);
    const seconds = (Date.now() - started) / 1000;
    const raw = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    return { result, raw, seconds };
  } finally {
    unpacked.remove();
  }
}

test('linux-arm64 package under qemu: exact dimensions, pixels within 1/255 of linux-x64', async (t) => {
  // Emulated floating point is slow (about 90 s for this 16×12 crop on a 2-core machine), so
  // the crop is small; it is a real photograph so that the model's every layer matters.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-qemu-'));
  try {
    const input = path.join(work, 'baboon-16x12.png');
    await sharp(photo('baboon.jpg')).extract({ left: 200, top: 100, width: 16, height: 12 }).png().toFile(input);
    const arm64 = qemuArm64Node(path.join(cacheRoot(), 'qemu-arm64'));
    const emulated = await runPackage('linux-arm64', arm64, input, work);
    const native = await runPackage('linux-x64', HOST_NODE, input, work);
    for (const [label, run] of [
      [arm64.label, emulated],
      [HOST_NODE.label, native],
    ] as const) {
      t.diagnostic(
        `${label}: ${run.result.width}x${run.result.height} with ${run.result.model} in ${run.seconds.toFixed(1)} s`,
      );
    }

    assert.equal(emulated.result.width, 64);
    assert.equal(emulated.result.height, 48);
    assert.deepEqual(
      [emulated.raw.info.width, emulated.raw.info.height, emulated.raw.info.channels],
      [native.raw.info.width, native.raw.info.height, native.raw.info.channels],
    );
    let maxDiff = 0;
    let differing = 0;
    emulated.raw.data.forEach((v, i) => {
      const d = Math.abs(v - (native.raw.data[i] ?? -255));
      if (d > 0) differing++;
      maxDiff = Math.max(maxDiff, d);
    });
    t.diagnostic(`max difference ${maxDiff}/255; ${differing} of ${emulated.raw.data.length} values differ`);
    assert.ok(maxDiff <= 1, `max difference ${maxDiff}/255`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
