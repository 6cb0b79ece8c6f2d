// What the download tests share: temporary models folders and their listing, catalogue
// entries for fixture files (validated like the shipped catalogue), and the CLI run as a
// user runs it. The servers stay in each test: they imitate different hosts.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCatalogue, type Catalogue, type CatalogueEntry } from '../contract/catalogue';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One temporary folder per test file, with fresh folders inside it. */
export class TempFolders {
  readonly root: string;
  private count = 0;

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** A new, empty folder (a models folder, a builtin folder) under root. */
  fresh(): string {
    const dir = path.join(this.root, `models-${++this.count}`);
    fs.mkdirSync(dir);
    return dir;
  }

  /** A file path under root that no other call returns. */
  file(name: string): string {
    return path.join(this.root, `${++this.count}-${name}`);
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Every file under dir, relative, including dot folders. */
export function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

/**
 * A catalogue entry like the shipped ones for a fixture's bytes: verified by their hash, or
 * unverified for null. `where` says where it is fetched from (url, or drive and manualUrl).
 */
export function fixtureEntry(id: string, bytes: Uint8Array | null, where: Partial<CatalogueEntry>): CatalogueEntry {
  return {
    id,
    family: 'real-esrgan',
    variant: `test ${id}`,
    scale: 2,
    fileName: `${id}.pth`,
    url: null,
    sizeBytes: bytes?.length ?? null,
    sha256: bytes ? sha256(bytes) : null,
    hashSource: bytes ? 'computed by the test from the fixture' : null,
    verified: bytes !== null,
    license: { spdx: 'BSD-3-Clause', commercialUse: true, source: 'https://github.com/example/LICENSE' },
    paper: { title: 'A test paper', url: 'https://arxiv.org/abs/0000.00000' },
    credit: 'Test Authors',
    description: 'A fixture served by the test.',
    ...where,
  };
}

/** The entries as catalogue JSON, each family labelled with its own id. */
export function fixtureCatalogueJson(entries: readonly CatalogueEntry[]): string {
  const families = Object.fromEntries(entries.map((e) => [e.family, e.family]));
  return JSON.stringify({ version: 1, families, models: entries });
}

/** The entries as a catalogue, validated like the shipped one (official hosts only). */
export function fixtureCatalogue(...entries: CatalogueEntry[]): Catalogue {
  return parseCatalogue(JSON.parse(fixtureCatalogueJson(entries)));
}

export const ENTRY_JS = path.join(process.cwd(), 'out', 'daemon', 'upscale.js');

/** `upscale ARGS` as a user runs it, with `env` over this process's environment. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ENTRY_JS, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
