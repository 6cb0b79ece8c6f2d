import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEADER_BYTES, readNativeHeader } from '../../scripts/packaging/native-header';
import { REPO_ROOT } from '../fixtures';

// onnxruntime-node's npm package carries every platform's build, so the real headers of
// all five targets are at hand on any machine.
const ORT_BIN = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');

function head(file: string): Uint8Array {
  const buf = Buffer.alloc(HEADER_BYTES);
  const fd = fs.openSync(file, 'r');
  const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
  fs.closeSync(fd);
  return buf.subarray(0, n);
}

test('real onnxruntime binaries: each header names its own platform', () => {
  const cases: [string, string, string][] = [
    ['linux/x64/libonnxruntime.so.1', 'elf-x86-64', 'ELF 64-bit x86-64'],
    ['linux/arm64/onnxruntime_binding.node', 'elf-aarch64', 'ELF 64-bit aarch64'],
    ['win32/x64/DirectML.dll', 'pe32+-x86-64', 'PE32+ x86-64 (0x8664)'],
    ['win32/arm64/onnxruntime.dll', 'pe32+-arm64', 'PE32+ ARM64 (0xAA64)'],
    ['darwin/arm64/libonnxruntime.1.dylib', 'macho-arm64', 'Mach-O 64-bit arm64'],
  ];
  for (const [file, machine, description] of cases) {
    const h = readNativeHeader(head(path.join(ORT_BIN, file)));
    assert.equal(h?.machine, machine, file);
    assert.equal(h?.description, description, file);
  }
});

/** A buffer with `bytes` written at `at` over zeros. */
function bytes(length: number, ...writes: [number, number[]][]): Uint8Array {
  const b = new Uint8Array(length);
  for (const [at, values] of writes) b.set(values, at);
  return b;
}

const ELF = [0x7f, 0x45, 0x4c, 0x46];

test('ELF: 32-bit ARM and big-endian files are named but belong to no target', () => {
  const arm32 = readNativeHeader(bytes(64, [0, [...ELF, 1, 1]], [18, [0x28, 0]]));
  assert.deepEqual(arm32, { format: 'ELF', description: 'ELF 32-bit arm', machine: undefined });
  const s390 = readNativeHeader(bytes(64, [0, [...ELF, 2, 2]], [18, [0, 0x16]]));
  assert.deepEqual(s390, { format: 'ELF', description: 'ELF 64-bit big-endian s390', machine: undefined });
  const riscv = readNativeHeader(bytes(64, [0, [...ELF, 2, 1]], [18, [0xf3, 0]]));
  assert.equal(riscv?.machine, undefined);
  assert.equal(riscv?.description, 'ELF 64-bit riscv');
});

test('PE: the machine field decides, and a 32-bit PE matches no target', () => {
  const pe = (machine: number, magic: number): Uint8Array =>
    bytes(
      512,
      [0, [0x4d, 0x5a]],
      [0x3c, [0x80, 0, 0, 0]],
      [0x80, [0x50, 0x45, 0, 0, machine & 0xff, machine >> 8]],
      [0x80 + 24, [magic & 0xff, magic >> 8]],
    );
  assert.equal(readNativeHeader(pe(0xaa64, 0x20b))?.machine, 'pe32+-arm64');
  assert.equal(readNativeHeader(pe(0x8664, 0x20b))?.machine, 'pe32+-x86-64');
  const i386 = readNativeHeader(pe(0x14c, 0x10b));
  assert.deepEqual(i386, { format: 'PE', description: 'PE32 i386 (0x014C)', machine: undefined });
  // An MZ file without a PE header (a DOS program, or text that starts with "MZ") is not native.
  assert.equal(readNativeHeader(bytes(512, [0, [0x4d, 0x5a]], [0x3c, [0x80, 0, 0, 0]])), undefined);
  // A PE signature beyond the bytes read is not taken on trust.
  assert.equal(readNativeHeader(bytes(64, [0, [0x4d, 0x5a]], [0x3c, [0, 0x20, 0, 0]])), undefined);
});

test('Mach-O: x86_64 and universal files match no target; Java class files are not Mach-O', () => {
  const intel = readNativeHeader(bytes(64, [0, [0xcf, 0xfa, 0xed, 0xfe, 0x07, 0, 0, 0x01]]));
  assert.deepEqual(intel, { format: 'Mach-O', description: 'Mach-O 64-bit x86_64', machine: undefined });
  const fat = readNativeHeader(
    bytes(64, [0, [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]], [8, [0x01, 0, 0, 0x07]], [28, [0x01, 0, 0, 0x0c]]),
  );
  assert.deepEqual(fat, { format: 'Mach-O', description: 'Mach-O universal (x86_64, arm64)', machine: undefined });
  const javaClass = bytes(64, [0, [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x34]]);
  assert.equal(readNativeHeader(javaClass), undefined);
});

test('text, JSON and empty files are not native', () => {
  assert.equal(readNativeHeader(new TextEncoder().encode('{"name":"sharp"}')), undefined);
  assert.equal(readNativeHeader(new Uint8Array(0)), undefined);
  assert.equal(readNativeHeader(new Uint8Array([0x7f, 0x45])), undefined);
});
