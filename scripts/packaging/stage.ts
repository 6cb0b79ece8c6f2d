// Lays out one target's package in a staging folder: the extension's own files, the
// JavaScript of the two native modules and their run-time dependencies, onnxruntime-node's
// files for that target, and sharp's per-platform packages. Those last come from the npm
// registry (or npm's cache) at packaging time, pinned and checked against
// package-lock.json, since `npm ci` installs only the host's; nothing is fetched at run time.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLED_LICENCES_DIR, LICENSES_DIR, MODULES_DIR, NOTICES_FILE, onnxruntimeBinDir } from './layout';
import type { TargetSpec } from './targets';

/** The extension's own files, from the repository root (dist/ is built before staging). */
const OWN_FILES: readonly string[] = [
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  NOTICES_FILE,
  '.vscodeignore',
];
const OWN_DIRS: readonly string[] = [LICENSES_DIR, 'media'];
const DIST = /^(extension|upscale|png-worker|webview)\.js$|\.css$|^icon\.png$/;

/** The JavaScript that the bundles load at run time, and which of each package's files ship. */
const JS_MODULES: Readonly<Record<string, (file: string) => boolean>> = {
  'onnxruntime-node': (f) => f === 'package.json' || /^dist\/[^/]+\.js$/.test(f),
  // (its dist/cjs/package.json says "type": "commonjs"; without it Node reads the files as ESM)
  'onnxruntime-common': (f) => f === 'package.json' || /^dist\/cjs\/(.+\.js|package\.json)$/.test(f),
  sharp: (f) => f === 'package.json' || f === 'LICENSE' || /^dist\/[^/]+\.cjs$/.test(f),
  '@img/colour': (f) => !f.endsWith('.d.ts'),
  'detect-libc': (f) => !f.endsWith('.d.ts'),
  semver: () => true,
};

function copyFile(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** Copies the files under `from` (paths relative to it, `/`-separated) that `keep` accepts. */
function copyTree(from: string, to: string, keep: (file: string) => boolean = () => true): void {
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(r);
      } else if (keep(r)) copyFile(path.join(from, r), path.join(to, r));
    }
  };
  walk('');
}

/**
 * The licence file of every npm package whose code esbuild put into the bundles (esbuild.mjs
 * lists them), as `<package>/LICENSE…`: MIT and BSD ask for their notice in every copy.
 */
function copyBundledLicences(modules: string, list: string, into: string): void {
  const names = JSON.parse(fs.readFileSync(list, 'utf8')) as string[];
  for (const name of names) {
    const dir = path.join(modules, name);
    const licence = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    if (licence === undefined) throw new Error(`${dir}: no licence file, and its code is in the bundles`);
    copyFile(path.join(dir, licence), path.join(into, name, licence));
  }
}

interface LockedPackage {
  readonly version: string;
  readonly integrity: string;
}

/** A package's pinned version and hash, as package-lock.json records it (npm records every platform's optional packages). */
export function lockedPackage(lock: unknown, name: string): LockedPackage {
  const packages = (lock as { packages?: Record<string, { version?: unknown; integrity?: unknown }> }).packages;
  const entry = packages?.[`node_modules/${name}`];
  if (typeof entry?.version !== 'string' || typeof entry.integrity !== 'string') {
    throw new Error(`package-lock.json has no version and integrity for ${name}: run \`npm install\` to record it`);
  }
  return { version: entry.version, integrity: entry.integrity };
}

/**
 * Brings `name@version` from the npm registry (or npm's cache: `--prefer-offline`) as its
 * tarball, checks it against the lockfile's hash, and unpacks it into `into`.
 */
function fetchLockedPackage(name: string, locked: LockedPackage, into: string, scratch: string): void {
  const out = execFileSync(
    'npm',
    ['pack', `${name}@${locked.version}`, '--prefer-offline', '--json', '--pack-destination', scratch],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [info] = JSON.parse(out) as { filename?: string }[];
  if (info?.filename === undefined) throw new Error(`npm pack ${name}@${locked.version} named no tarball`);
  const tarball = path.join(scratch, info.filename);
  const [algorithm, expected] = locked.integrity.split('-', 2);
  if (algorithm === undefined || expected === undefined)
    throw new Error(`${name}: unreadable integrity ${locked.integrity}`);
  const actual = createHash(algorithm).update(fs.readFileSync(tarball)).digest('base64');
  if (actual !== expected) {
    throw new Error(
      `${name}@${locked.version}: the tarball's ${algorithm} is ${actual}, package-lock.json says ${expected}`,
    );
  }
  fs.mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', into, '--strip-components=1']);
  fs.rmSync(tarball);
}

/** Fills `stage` (an empty folder) with the package for `spec`; `root` is the repository. */
export function stagePackage(root: string, spec: TargetSpec, defaultModelId: string, stage: string): void {
  for (const f of OWN_FILES) copyFile(path.join(root, f), path.join(stage, f));
  for (const d of OWN_DIRS) copyTree(path.join(root, d), path.join(stage, d));
  for (const f of fs.readdirSync(path.join(root, 'dist'))) {
    if (DIST.test(f)) copyFile(path.join(root, 'dist', f), path.join(stage, 'dist', f));
  }
  for (const ext of ['.onnx', '.json']) {
    const f = `dist/models/${defaultModelId}${ext}`;
    copyFile(path.join(root, f), path.join(stage, f));
  }

  const modules = path.join(root, 'node_modules');
  copyBundledLicences(
    modules,
    path.join(root, 'dist', 'bundled-packages.json'),
    path.join(stage, BUNDLED_LICENCES_DIR),
  );
  for (const [name, keep] of Object.entries(JS_MODULES)) {
    copyTree(path.join(modules, name), path.join(stage, MODULES_DIR, name), keep);
  }
  const ortFrom = path.join(modules, 'onnxruntime-node', 'bin', 'napi-v6', spec.os, spec.cpu);
  for (const f of spec.onnxruntime) copyFile(path.join(ortFrom, f), path.join(stage, onnxruntimeBinDir(spec), f));

  const lock: unknown = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-npm-pack-'));
  try {
    for (const name of spec.sharp) {
      fetchLockedPackage(name, lockedPackage(lock, name), path.join(stage, MODULES_DIR, name), scratch);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
