// A .vsix as a user gets it: unzipped with the system's unzip into a fresh folder, and
// its extension's files listed with their sizes and first bytes for the checker.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HEADER_BYTES } from './native-header';
import { inspectPackage, type PackageEntry, type PackageReport } from './inspect';
import type { TargetSpec } from './targets';

export interface Unpacked {
  /** The folder the .vsix was unzipped into. */
  readonly dir: string;
  /** The extension's folder inside it (what VS Code installs). */
  readonly extension: string;
  remove(): void;
}

export function unpackVsix(vsix: string): Unpacked {
  if (!fs.existsSync(vsix)) throw new Error(`${vsix}: no such package (run \`npm run package -- --target all\`)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-vsix-'));
  execFileSync('unzip', ['-q', vsix, '-d', dir]);
  return {
    dir,
    extension: path.join(dir, 'extension'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function readHead(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file under `root`, with paths relative to it in `/` form. */
export function listEntries(root: string): PackageEntry[] {
  const entries: PackageEntry[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else
        entries.push({
          path: path.relative(root, full).split(path.sep).join('/'),
          size: fs.statSync(full).size,
          head: readHead(full),
        });
    }
  };
  walk(root);
  return entries;
}

/** Unzips a package and inspects it; the unzipped copy is removed afterwards. */
export function checkVsix(vsix: string, spec: TargetSpec, defaultModelId: string): PackageReport {
  const unpacked = unpackVsix(vsix);
  try {
    return inspectPackage(spec, listEntries(unpacked.extension), defaultModelId);
  } finally {
    unpacked.remove();
  }
}
