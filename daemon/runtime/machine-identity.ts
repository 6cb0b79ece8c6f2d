// What `auto`'s remembered decision is keyed by: the adapters and drivers a GPU provider
// would find, and the CPU it was measured against. onnxruntime-node does not expose the
// adapter it picks, so the identity is read from where the drivers live: on Linux the PCI
// display devices (vendor:device, kernel driver), the Vulkan driver manifests the loader
// would read (and the size and date of each driver library), NVIDIA's driver version and
// the library cache; on Windows the date of the driver store; on macOS the OS release (Metal
// and Core ML ship with it). Installing, removing or updating a driver changes the key, and
// the next start measures again. Reading it is a few dozen stat() calls.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** Environment variables that change which driver or device a provider gets. */
const DRIVER_ENV = [
  'VK_DRIVER_FILES',
  'VK_ICD_FILENAMES',
  'VK_ADD_DRIVER_FILES',
  'VK_LOADER_DRIVERS_SELECT',
  'VK_LOADER_DRIVERS_DISABLE',
  'MESA_VK_DEVICE_SELECT',
  'DRI_PRIME',
  'LD_LIBRARY_PATH',
  'CUDA_VISIBLE_DEVICES',
];

export interface MachineIdentity {
  /** One line per fact, as remembered beside the decision (what a user would check). */
  readonly facts: readonly string[];
  /** A hash of the facts. */
  readonly key: string;
}

export function identityKey(facts: readonly string[]): string {
  return createHash('sha256').update(facts.join('\n')).digest('hex').slice(0, 32);
}

/** The size and date of a file, or "absent". */
export async function fileStamp(file: string): Promise<string> {
  try {
    const s = await fs.stat(file);
    return `${s.size} bytes, modified ${new Date(s.mtimeMs).toISOString()}`;
  } catch {
    return 'absent';
  }
}

async function readText(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return null;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** PCI display controllers (class 0x03xxxx): the GPUs, whatever their driver. */
async function linuxGpus(): Promise<string[]> {
  const root = '/sys/bus/pci/devices';
  const lines: string[] = [];
  for (const slot of await listDir(root)) {
    const dir = path.join(root, slot);
    const cls = await readText(path.join(dir, 'class'));
    if (!cls?.startsWith('0x03')) continue;
    const vendor = (await readText(path.join(dir, 'vendor')))?.replace(/^0x/, '') ?? '?';
    const device = (await readText(path.join(dir, 'device')))?.replace(/^0x/, '') ?? '?';
    const driver = await fs.readlink(path.join(dir, 'driver')).then(
      (l) => path.basename(l),
      () => 'no driver',
    );
    lines.push(`gpu ${slot} ${vendor}:${device} (${driver})`);
  }
  return lines;
}

/** The Vulkan driver manifests the loader would read, and the library each names. */
async function vulkanDrivers(env: NodeJS.ProcessEnv): Promise<string[]> {
  const explicit = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  let manifests: string[];
  if (explicit) manifests = explicit.split(':').filter((f) => f !== '');
  else {
    const dataHome = env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share');
    const dataDirs = (env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').filter((d) => d !== '');
    const dirs = ['/etc/xdg', '/etc', ...dataDirs, dataHome].map((d) => path.join(d, 'vulkan', 'icd.d'));
    manifests = [];
    for (const dir of dirs)
      for (const name of await listDir(dir)) if (name.endsWith('.json')) manifests.push(path.join(dir, name));
  }
  const lines: string[] = [];
  for (const manifest of manifests) {
    const text = await readText(manifest);
    let library = '?';
    try {
      const parsed = JSON.parse(text ?? '') as { ICD?: { library_path?: unknown } };
      if (typeof parsed.ICD?.library_path === 'string') library = parsed.ICD.library_path;
    } catch {
      // An unreadable manifest is a fact too.
    }
    const resolved = path.isAbsolute(library) ? library : path.join(path.dirname(manifest), library);
    lines.push(`vulkan driver ${manifest} -> ${library} (${await fileStamp(resolved)})`);
  }
  return lines;
}

/** Reads the identity of this machine's adapters and drivers, plus the caller's `extra` facts. */
export async function machineIdentity(
  extra: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<MachineIdentity> {
  const cpus = os.cpus();
  const facts = [
    `${process.platform}-${process.arch} ${os.release()}`,
    `cpu ${cpus[0]?.model ?? '?'} x${os.availableParallelism()}`,
    ...extra,
    ...DRIVER_ENV.filter((k) => env[k] !== undefined).map((k) => `env ${k}=${env[k] ?? ''}`),
  ];
  if (process.platform === 'linux') {
    facts.push(...(await linuxGpus()));
    facts.push(...(await vulkanDrivers(env)));
    const nvidia = await readText('/proc/driver/nvidia/version');
    if (nvidia) facts.push(`nvidia ${nvidia.split('\n')[0] ?? ''}`);
    facts.push(`library cache ${await fileStamp('/etc/ld.so.cache')}`);
  } else if (process.platform === 'win32') {
    const windir = env.SystemRoot ?? 'C:\\Windows';
    facts.push(`driver store ${await fileStamp(path.join(windir, 'System32', 'DriverStore', 'FileRepository'))}`);
  }
  return { facts, key: identityKey(facts) };
}
