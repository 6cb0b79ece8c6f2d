// Bundles the shipped entry points. Native modules (onnxruntime-node, sharp) stay external:
// they load their platform binaries from node_modules at run time (in a package, from
// dist/node_modules: scripts/packaging/layout.ts). dist/bundled-packages.json lists the npm
// packages whose code the bundles contain, so packaging can ship their licences.
import * as esbuild from 'esbuild';
import { existsSync, writeFileSync } from 'node:fs';

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'sharp', 'vscode'],
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { upscale: 'daemon/upscale.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // The PNG writer's thread, which the daemon starts from beside its own file (daemon/image/png-stream.ts).
  { ...node, entryPoints: { 'png-worker': 'daemon/image/png-worker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist' },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: true,
    logLevel: 'warning',
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
  },
];

// Entry points appear as the product grows; build the ones that exist.
const results = await Promise.all(
  builds
    .filter((b) => Object.values(b.entryPoints).every((e) => existsSync(e)))
    .map((b) => esbuild.build({ ...b, metafile: true })),
);

/** `node_modules/@scope/name/...` or `node_modules/name/...` → the package name (the innermost node_modules). */
function packageOf(input) {
  const parts = input.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i === -1) return undefined;
  const first = parts[i + 1];
  return first?.startsWith('@') ? `${first}/${parts[i + 2]}` : first;
}
const bundled = new Set(
  results.flatMap((r) => Object.keys(r.metafile.inputs).map(packageOf)).filter((p) => p !== undefined),
);
writeFileSync('dist/bundled-packages.json', `${JSON.stringify([...bundled].sort(), null, 2)}\n`);
