// What a native binary's first bytes say about the machine it runs on: ELF (Linux),
// PE/COFF (Windows) and Mach-O (macOS), read from the headers' own fields, not from file
// names. Pure, so the package checker's verdicts are unit-tested on real and crafted headers.
import type { Machine } from './targets';

/** Bytes read from the start of a file: enough for every header field used here. */
export const HEADER_BYTES = 4096;

export interface NativeHeader {
  readonly format: 'ELF' | 'PE' | 'Mach-O';
  /** What the header says, for people: `ELF 64-bit x86-64`, `PE32+ ARM64 (0xAA64)`, … */
  readonly description: string;
  /** The machine, where it is one a package may carry; undefined for any other (32-bit, universal, …). */
  readonly machine: Machine | undefined;
}

const ELF_MACHINES: Readonly<Record<number, string>> = {
  0x03: 'i386',
  0x08: 'mips',
  0x14: 'ppc',
  0x15: 'ppc64',
  0x16: 's390',
  0x28: 'arm',
  0x3e: 'x86-64',
  0xb7: 'aarch64',
  0xf3: 'riscv',
};

const PE_MACHINES: Readonly<Record<number, string>> = {
  0x014c: 'i386',
  0x01c4: 'ARMNT',
  0x8664: 'x86-64',
  0xaa64: 'ARM64',
};

const CPU_ARCH_ABI64 = 0x01000000;
const MACHO_CPUS: Readonly<Record<number, string>> = {
  7: 'i386',
  12: 'arm',
  [7 | CPU_ARCH_ABI64]: 'x86_64',
  [12 | CPU_ARCH_ABI64]: 'arm64',
};

const hex = (n: number, digits: number): string => `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;

function u16(b: Uint8Array, at: number, littleEndian: boolean): number | undefined {
  if (at + 2 > b.length) return undefined;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, littleEndian);
}

function u32(b: Uint8Array, at: number, littleEndian: boolean): number | undefined {
  if (at + 4 > b.length) return undefined;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, littleEndian);
}

function startsWith(b: Uint8Array, magic: readonly number[], at = 0): boolean {
  return magic.every((m, i) => b[at + i] === m);
}

function readElf(b: Uint8Array): NativeHeader {
  const bits = b[4] === 2 ? 64 : b[4] === 1 ? 32 : undefined;
  const littleEndian = b[5] !== 2;
  const m = u16(b, 18, littleEndian);
  if (bits === undefined || m === undefined)
    return { format: 'ELF', description: 'ELF (truncated header)', machine: undefined };
  const name = ELF_MACHINES[m] ?? `machine ${hex(m, 4)}`;
  const machine =
    bits === 64 && littleEndian ? (m === 0x3e ? 'elf-x86-64' : m === 0xb7 ? 'elf-aarch64' : undefined) : undefined;
  return { format: 'ELF', description: `ELF ${bits}-bit ${littleEndian ? '' : 'big-endian '}${name}`, machine };
}

function readPe(b: Uint8Array): NativeHeader | undefined {
  const at = u32(b, 0x3c, true);
  if (at === undefined || !startsWith(b, [0x50, 0x45, 0, 0], at)) return undefined; // an MZ-only (DOS) file
  const m = u16(b, at + 4, true);
  const magic = u16(b, at + 24, true);
  if (m === undefined || magic === undefined)
    return { format: 'PE', description: 'PE (truncated header)', machine: undefined };
  const kind = magic === 0x20b ? 'PE32+' : magic === 0x10b ? 'PE32' : `PE (optional header ${hex(magic, 4)})`;
  const name = PE_MACHINES[m] ?? 'machine';
  const machine =
    kind === 'PE32+' ? (m === 0x8664 ? 'pe32+-x86-64' : m === 0xaa64 ? 'pe32+-arm64' : undefined) : undefined;
  return { format: 'PE', description: `${kind} ${name} (${hex(m, 4)})`, machine };
}

function readMachO(b: Uint8Array): NativeHeader | undefined {
  // Thin: the magic in the file's own byte order (little-endian on every Mac still sold).
  const le = u32(b, 0, true);
  if (le === 0xfeedfacf || le === 0xfeedface) {
    const cpu = u32(b, 4, true);
    if (cpu === undefined) return { format: 'Mach-O', description: 'Mach-O (truncated header)', machine: undefined };
    const name = MACHO_CPUS[cpu] ?? `cputype ${hex(cpu, 8)}`;
    const bits = le === 0xfeedfacf ? 64 : 32;
    return {
      format: 'Mach-O',
      description: `Mach-O ${bits}-bit ${name}`,
      machine: bits === 64 && name === 'arm64' ? 'macho-arm64' : undefined,
    };
  }
  // Universal ("fat"): big-endian header and slice table. Java class files share the
  // magic; their version field is far above any slice count.
  const fat = u32(b, 0, false);
  if (fat === 0xcafebabe || fat === 0xcafebabf) {
    const n = u32(b, 4, false);
    if (n === undefined || n === 0 || n > 30) return undefined;
    const stride = fat === 0xcafebabe ? 20 : 32;
    const cpus: string[] = [];
    for (let i = 0; i < n; i++) {
      const cpu = u32(b, 8 + i * stride, false);
      cpus.push(cpu === undefined ? '?' : (MACHO_CPUS[cpu] ?? hex(cpu, 8)));
    }
    return { format: 'Mach-O', description: `Mach-O universal (${cpus.join(', ')})`, machine: undefined };
  }
  return undefined;
}

/** The header of a native binary, or undefined when the bytes are not one. */
export function readNativeHeader(bytes: Uint8Array): NativeHeader | undefined {
  if (startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46])) return readElf(bytes);
  if (startsWith(bytes, [0x4d, 0x5a])) return readPe(bytes);
  return readMachO(bytes);
}

/** How a person reads each machine a package may carry. */
export function describeMachine(machine: Machine): string {
  switch (machine) {
    case 'elf-x86-64':
      return 'ELF 64-bit x86-64';
    case 'elf-aarch64':
      return 'ELF 64-bit aarch64';
    case 'pe32+-x86-64':
      return 'PE32+ x86-64 (0x8664)';
    case 'pe32+-arm64':
      return 'PE32+ ARM64 (0xAA64)';
    case 'macho-arm64':
      return 'Mach-O 64-bit arm64';
  }
}
