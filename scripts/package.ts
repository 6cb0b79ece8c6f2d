// `npm run package`: builds the extension, puts the default model and the PNG icon into
// dist/, and runs vsce for linux-x64. `--sync-manifest` instead writes the manifest
// entries the extension owns (extension/contributions.ts) into package.json, changing no
// other key. Everything runs offline: vsce reads the dependency tree from node_modules.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MODEL_ID } from '../models/builtin';
import { builtinModelsDir } from '../models/paths';
import { manifestEntries } from '../extension/contributions';

// npm runs scripts in the package root; run it from there by hand too.
const root = process.cwd();
const manifestPath = path.join(root, 'package.json');
const TARGET = 'linux-x64';
const ICON_SVG = path.join(root, 'media', 'icon.svg');
const ICON_PNG = 'dist/icon.png';

/** Manifest keys that belong to the extension; anything else in package.json is left alone. */
export function extensionManifestKeys(): Record<string, unknown> {
  return {
    ...manifestEntries(),
    icon: ICON_PNG,
    categories: ['Machine Learning', 'Visualization', 'Other'],
    keywords: ['upscale', 'super-resolution', 'image', 'real-esrgan', 'esrgan', 'swinir', 'onnx', 'ai'],
    repository: { type: 'git', url: 'https://github.com/upscale-dev/upscale.git' },
    galleryBanner: { color: '#1e1e2e', theme: 'dark' },
  };
}

const SCRIPTS: Record<string, string> = {
  package: 'tsc -p . && node out/scripts/package.js',
  'test:desktop': 'npm run build && node out/test/desktop/run.js',
};

function syncManifest(): void {
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  Object.assign(manifest, extensionManifestKeys());
  manifest.scripts = { ...(manifest.scripts as Record<string, string>), ...SCRIPTS };
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(
    `updated ${Object.keys(extensionManifestKeys()).join(', ')} and scripts ${Object.keys(SCRIPTS).join(', ')} in package.json\n`,
  );
}

function run(command: string, args: readonly string[]): void {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  execFileSync(command, [...args], { cwd: root, stdio: 'inherit' });
}

function copyDefaultModel(): void {
  const from = builtinModelsDir();
  const to = path.join(root, 'dist', 'models');
  fs.mkdirSync(to, { recursive: true });
  for (const ext of ['.onnx', '.json']) {
    const file = path.join(from, DEFAULT_MODEL_ID + ext);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run setup-models\` first`);
    fs.copyFileSync(file, path.join(to, DEFAULT_MODEL_ID + ext));
  }
  process.stdout.write(`copied ${DEFAULT_MODEL_ID} into dist/models\n`);
}

async function renderIcon(): Promise<void> {
  await sharp(fs.readFileSync(ICON_SVG), { density: 144 }).resize(256, 256).png().toFile(path.join(root, ICON_PNG));
  process.stdout.write(`rendered ${ICON_PNG}\n`);
}

/** Entries that must never be in the .vsix: AGPL code, and binaries for other platforms. */
const FORBIDDEN = [
  /upscayl/i,
  /\/(darwin|win32|freebsd)[-/]/i,
  /linux[-/]arm/i,
  /linuxmusl/i,
  /\.(dll|dylib)$/i,
  /\.map$/,
];

/**
 * Checks the package the way a user would get it: unzip it, look for forbidden entries,
 * and upscale a small image with the packaged daemon and model alone (a fresh HOME, so
 * nothing from this machine's cache can help).
 */
async function verify(vsix: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-vsix-'));
  execFileSync('unzip', ['-q', vsix, '-d', dir]);
  const entries: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else entries.push(path.relative(dir, full));
    }
  };
  walk(dir);
  const bad = entries.filter((e) => FORBIDDEN.some((re) => re.test(e)));
  if (bad.length > 0) throw new Error(`the package contains entries it must not: ${bad.slice(0, 10).join(', ')}`);
  const ext = path.join(dir, 'extension');
  const input = path.join(dir, 'check.png');
  await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .png()
    .toFile(input);
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    UPSCALE_CACHE_DIR: path.join(ext, 'dist'),
    UPSCALE_BUILTIN_DIR: path.join(ext, 'dist', 'models'),
  };
  const out = execFileSync(process.execPath, [path.join(ext, 'dist', 'upscale.js'), input, '-s', '2'], {
    env,
    encoding: 'utf8',
  });
  const meta = await sharp(path.join(dir, 'check@2x.png')).metadata();
  if (meta.width !== 48 || meta.height !== 32)
    throw new Error(`the packaged daemon wrote ${meta.width}x${meta.height}, expected 48x32`);
  process.stdout.write(
    `verified ${path.basename(vsix)}: ${entries.length} files, none forbidden; packaged daemon: ${out.trim()}\n`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (
    !fs.existsSync(manifestPath) ||
    (JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { name?: string }).name !== 'upscale'
  ) {
    throw new Error(`run this from the Upscale repository root (no Upscale package.json in ${root})`);
  }
  if (process.argv.includes('--sync-manifest')) {
    syncManifest();
    return;
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { name: string; version: string };
  run('node', ['esbuild.mjs']);
  copyDefaultModel();
  await renderIcon();
  const out = `${manifest.name}-${manifest.version}-${TARGET}.vsix`;
  run(process.execPath, [
    path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
    'package',
    '--target',
    TARGET,
    '--out',
    out,
  ]);
  process.stdout.write(`wrote ${out} (${(fs.statSync(path.join(root, out)).size / 1e6).toFixed(1)} MB)\n`);
  await verify(path.join(root, out));
}

main().catch((e: unknown) => {
  process.stderr.write(`package: ${(e as Error).message}\n`);
  process.exit(1);
});
