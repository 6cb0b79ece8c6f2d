// `npm run package [-- --target T|all]`: builds the extension once, puts the default model
// and the PNG icon into dist/, then for each target lays out a staging folder with that
// platform's native files (scripts/packaging/stage.ts), runs vsce there
// (`vsce package --target T`), and checks the package as a user gets it. Without
// --target, the host's own package. `--sync-manifest` instead writes the manifest entries
// the extension owns (extension/contributions.ts) into package.json, changing no other key.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MODEL_ID } from '../models/builtin';
import { builtinModelsDir } from '../models/paths';
import { manifestEntries } from '../extension/contributions';
import { formatReport } from './packaging/inspect';
import { HOST_NODE, upscaleWithPackage } from './packaging/packaged-daemon';
import { stagePackage } from './packaging/stage';
import { hostTarget, parseTargets, targetSpec, vsixName, type Target } from './packaging/targets';
import { checkVsix, unpackVsix } from './packaging/vsix';

// npm runs scripts in the package root; run it from there by hand too.
const root = process.cwd();
const manifestPath = path.join(root, 'package.json');
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

function run(command: string, args: readonly string[], cwd: string = root): void {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  execFileSync(command, [...args], { cwd, stdio: 'inherit' });
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

/** Stages one target's files and runs vsce on them; returns the .vsix written into the repository root. */
function buildPackage(target: Target, manifest: { name: string; version: string }): string {
  const out = path.join(root, vsixName(manifest.name, manifest.version, target));
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `upscale-stage-${target}-`));
  try {
    stagePackage(root, targetSpec(target), DEFAULT_MODEL_ID, stage);
    // --no-dependencies: the staging folder already holds exactly what ships (its
    // dist/node_modules included); vsce's own dependency scan would read the repository's.
    run(
      process.execPath,
      [
        path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
        'package',
        '--no-dependencies',
        '--target',
        target,
        '--out',
        out,
      ],
      stage,
    );
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

/**
 * The host's package upscales a small image with its own daemon and model alone (a fresh
 * HOME and models folder, so nothing from this machine's cache can help).
 */
async function smokeTest(vsix: string): Promise<void> {
  const unpacked = unpackVsix(vsix);
  try {
    const input = path.join(unpacked.dir, 'check.png');
    await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 200, g: 80, b: 40 } } })
      .png()
      .toFile(input);
    const output = path.join(unpacked.dir, 'check@2x.png');
    const result = await upscaleWithPackage(unpacked.extension, HOST_NODE, { input, output, scale: 2 }, unpacked.dir);
    const meta = await sharp(output).metadata();
    if (meta.width !== 48 || meta.height !== 32) {
      throw new Error(`the packaged daemon wrote ${meta.width}x${meta.height}, expected 48x32`);
    }
    process.stdout.write(
      `${path.basename(vsix)}: its daemon upscaled 24x16 to 48x32 with ${result.model} under ${HOST_NODE.label}\n`,
    );
  } finally {
    unpacked.remove();
  }
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i === -1) return process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
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
  const host = hostTarget(process.platform, process.arch);
  const targets = parseTargets(argValue('--target'), host);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { name: string; version: string };
  run('node', ['esbuild.mjs']);
  copyDefaultModel();
  await renderIcon();
  const built = targets.map((t) => ({ target: t, vsix: buildPackage(t, manifest) }));
  let failed = false;
  for (const { target, vsix } of built) {
    const report = checkVsix(vsix, targetSpec(target), DEFAULT_MODEL_ID);
    process.stdout.write(`${formatReport(report, fs.statSync(vsix).size)}\n`);
    failed ||= report.problems.length > 0;
  }
  if (failed) throw new Error('a package is wrong (PROBLEM lines above)');
  const own = built.find((b) => b.target === host);
  if (own !== undefined) await smokeTest(own.vsix);
}

main().catch((e: unknown) => {
  process.stderr.write(`package: ${(e as Error).message}\n`);
  process.exit(1);
});
