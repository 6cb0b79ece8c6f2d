// The platforms Upscale is packaged for, and what each package must carry. A VS Code
// platform-specific package (`vsce package --target T`) is installed only on T, so each
// one carries exactly T's native files: onnxruntime-node's binding and library (with
// DirectML and the DirectX shader compiler on Windows) and sharp's prebuilt binding with
// its libvips. darwin-x64 is absent: onnxruntime-node 1.30 ships no build for it.

export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'] as const;
export type Target = (typeof TARGETS)[number];

/** A native file's format and machine, as its header states them. */
export type Machine = 'elf-x86-64' | 'elf-aarch64' | 'pe32+-x86-64' | 'pe32+-arm64' | 'macho-arm64';

export interface TargetSpec {
  readonly target: Target;
  /** process.platform and process.arch on that target. */
  readonly os: 'linux' | 'darwin' | 'win32';
  readonly cpu: 'x64' | 'arm64';
  /** What the header of every native file in the package must say. */
  readonly machine: Machine;
  /** onnxruntime-node's files for this target, in its bin/napi-v6/<os>/<cpu>/. */
  readonly onnxruntime: readonly string[];
  /** sharp's per-platform npm packages (binding, and libvips where it is a package of its own). */
  readonly sharp: readonly string[];
}

const PLATFORMS: Readonly<Record<Target, Pick<TargetSpec, 'os' | 'cpu' | 'machine'>>> = {
  'linux-x64': { os: 'linux', cpu: 'x64', machine: 'elf-x86-64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', machine: 'elf-aarch64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64', machine: 'macho-arm64' },
  'win32-x64': { os: 'win32', cpu: 'x64', machine: 'pe32+-x86-64' },
  'win32-arm64': { os: 'win32', cpu: 'arm64', machine: 'pe32+-arm64' },
};

// macOS: the binding loads @rpath/libonnxruntime.1.dylib; npm unpacks the
// libonnxruntime.1.30.0.dylib beside it as a second 44 MB copy, which nothing loads.
const ONNXRUNTIME_FILES: Readonly<Record<TargetSpec['os'], readonly string[]>> = {
  linux: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
  darwin: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'],
  win32: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'],
};

export function targetSpec(target: Target): TargetSpec {
  const platform = PLATFORMS[target];
  // sharp's win32 packages carry libvips themselves; elsewhere it is a package of its own.
  const sharp =
    platform.os === 'win32' ? [`@img/sharp-${target}`] : [`@img/sharp-${target}`, `@img/sharp-libvips-${target}`];
  return { target, ...platform, onnxruntime: ONNXRUNTIME_FILES[platform.os], sharp };
}

export function isTarget(value: string): value is Target {
  return (TARGETS as readonly string[]).includes(value);
}

/** The package for the machine this runs on, or undefined where there is none (darwin-x64, and others). */
export function hostTarget(platform: string, arch: string): Target | undefined {
  const t = `${platform}-${arch}`;
  return isTarget(t) ? t : undefined;
}

/**
 * The targets named by `--target`: one target, a comma-separated list, or `all`. Without
 * `--target`, the host's own, as a developer packaging for their machine expects.
 */
export function parseTargets(value: string | undefined, host: Target | undefined): Target[] {
  const expected = `all, or one or more (comma-separated) of ${TARGETS.join(', ')}`;
  if (value === undefined) {
    if (host === undefined)
      throw new Error(`--target is required on this platform (no package for it); expected ${expected}`);
    return [host];
  }
  if (value === 'all') return [...TARGETS];
  const names = value.split(',').map((s) => s.trim());
  const targets: Target[] = [];
  for (const name of names) {
    if (!isTarget(name))
      throw new Error(
        `--target ${JSON.stringify(value)}: ${JSON.stringify(name)} is not a target; expected ${expected}`,
      );
    if (!targets.includes(name)) targets.push(name);
  }
  return targets;
}

/** The file name `npm run package` writes for a target. */
export function vsixName(name: string, version: string, target: Target): string {
  return `${name}-${version}-${target}.vsix`;
}

/** The target a package file name says, or undefined when it is not one of ours. */
export function targetOfVsix(fileName: string, name: string, version: string): Target | undefined {
  const prefix = `${name}-${version}-`;
  if (!fileName.startsWith(prefix) || !fileName.endsWith('.vsix')) return undefined;
  const t = fileName.slice(prefix.length, -'.vsix'.length);
  return isTarget(t) ? t : undefined;
}
