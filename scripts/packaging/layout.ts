// Where things sit inside a package (paths relative to the extension's folder, which a
// .vsix stores under `extension/`). The bundles in dist/ are built with onnxruntime-node
// and sharp left external, so Node resolves those from dist/node_modules: a folder of our
// own rather than the top-level node_modules that vsce fills from `npm ls`, so that each
// package carries one platform's binaries and nothing else from the dependency tree.
import type { TargetSpec } from './targets';

export const MODULES_DIR = 'dist/node_modules';

export const NOTICES_FILE = 'THIRD-PARTY-NOTICES.md';
export const LICENSES_DIR = 'licenses';
/** Licences of the npm packages bundled into dist/*.js, one folder per package. */
export const BUNDLED_LICENCES_DIR = `${LICENSES_DIR}/bundled`;

/** onnxruntime-node's folder of native files for a target. */
export function onnxruntimeBinDir(spec: TargetSpec): string {
  return `${MODULES_DIR}/onnxruntime-node/bin/napi-v6/${spec.os}/${spec.cpu}`;
}

/**
 * Files every package must carry besides the native ones (the default model's files are
 * added by the caller), by the names vsce gives them in the .vsix.
 */
export const REQUIRED_FILES: readonly string[] = [
  'package.json',
  'readme.md',
  'LICENSE.txt',
  'changelog.md',
  NOTICES_FILE,
  `${LICENSES_DIR}/onnxruntime-LICENSE.txt`,
  `${LICENSES_DIR}/onnxruntime-ThirdPartyNotices.txt`,
  `${LICENSES_DIR}/LGPL-3.0.txt`,
  `${LICENSES_DIR}/GPL-3.0.txt`,
  `${BUNDLED_LICENCES_DIR}/json-rpc-2.0/LICENSE`,
  'dist/extension.js',
  'dist/upscale.js',
  'dist/png-worker.js',
  'dist/webview.js',
  'dist/icon.png',
  `${MODULES_DIR}/onnxruntime-node/package.json`,
  `${MODULES_DIR}/onnxruntime-common/package.json`,
  `${MODULES_DIR}/sharp/package.json`,
  `${MODULES_DIR}/sharp/LICENSE`,
];
