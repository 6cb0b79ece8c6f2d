// Bundles the shipped entry points. Native modules (onnxruntime-node, sharp) stay external:
// they load their platform binaries from node_modules at run time.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

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
await Promise.all(
  builds.filter((b) => Object.values(b.entryPoints).every((e) => existsSync(e))).map((b) => esbuild.build(b)),
);
