import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockedPackage } from '../../scripts/packaging/stage';
import { TARGETS, hostTarget, parseTargets, targetOfVsix, targetSpec, vsixName } from '../../scripts/packaging/targets';
import { REPO_ROOT } from '../fixtures';

test('--target: absent means the host, all means the five, a list keeps its order once', () => {
  assert.deepEqual(parseTargets(undefined, 'linux-x64'), ['linux-x64']);
  assert.deepEqual(parseTargets('all', 'linux-x64'), [
    'linux-x64',
    'linux-arm64',
    'darwin-arm64',
    'win32-x64',
    'win32-arm64',
  ]);
  assert.deepEqual(parseTargets('win32-arm64, linux-arm64,win32-arm64', undefined), ['win32-arm64', 'linux-arm64']);
});

test('--target: an unknown name, or no --target on a platform without a package, is refused by name', () => {
  assert.throws(
    () => parseTargets('linux-x64,darwin-x64', 'linux-x64'),
    /--target "linux-x64,darwin-x64": "darwin-x64" is not a target; expected all, or one or more \(comma-separated\) of linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64/,
  );
  assert.throws(() => parseTargets(undefined, undefined), /--target is required on this platform/);
  assert.equal(hostTarget('darwin', 'x64'), undefined);
  assert.equal(hostTarget('linux', 'arm64'), 'linux-arm64');
});

test('package names: written and read back for every target; other files are not ours', () => {
  for (const t of TARGETS) assert.equal(targetOfVsix(vsixName('upscale', '1.2.3', t), 'upscale', '1.2.3'), t);
  assert.equal(targetOfVsix('upscale-1.2.3-darwin-x64.vsix', 'upscale', '1.2.3'), undefined);
  assert.equal(targetOfVsix('upscale-1.2.2-linux-x64.vsix', 'upscale', '1.2.3'), undefined);
});

test('every target names onnxruntime files that onnxruntime-node really ships for it', () => {
  for (const t of TARGETS) {
    const spec = targetSpec(t);
    const dir = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', spec.os, spec.cpu);
    for (const f of spec.onnxruntime) assert.ok(fs.existsSync(path.join(dir, f)), `${t}: ${dir}/${f}`);
  }
});

test("sharp's per-platform packages are pinned by package-lock.json, with their hashes", () => {
  const lock: unknown = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  const sharpVersion = (
    JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'sharp', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  for (const t of TARGETS) {
    const binding = targetSpec(t).sharp[0];
    assert.ok(binding !== undefined, t);
    const locked = lockedPackage(lock, binding);
    assert.equal(locked.version, sharpVersion, binding);
    assert.match(locked.integrity, /^sha512-[A-Za-z0-9+/]+=*$/, binding);
  }
  assert.throws(
    () => lockedPackage(lock, '@img/sharp-darwin-x128'),
    /package-lock\.json has no version and integrity for @img\/sharp-darwin-x128/,
  );
});
