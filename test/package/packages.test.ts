// Each of the five packages, as a user downloads it: unzipped, every native file's header
// names the package's own platform, the native files are exactly that platform's, and the
// default model and the licence notices are there. Run after `npm run package -- --target all`
// (`npm run test:package` does both).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MODEL_ID } from '../../models/builtin';
import { formatReport } from '../../scripts/packaging/inspect';
import { TARGETS, targetSpec, vsixName } from '../../scripts/packaging/targets';
import { checkVsix } from '../../scripts/packaging/vsix';
import { REPO_ROOT } from '../fixtures';

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

for (const target of TARGETS) {
  test(`${target}: only ${target}'s native files, the default model and the notices`, (t) => {
    const vsix = path.join(REPO_ROOT, vsixName(manifest.name, manifest.version, target));
    const spec = targetSpec(target);
    const report = checkVsix(vsix, spec, DEFAULT_MODEL_ID);
    for (const line of formatReport(report, fs.statSync(vsix).size).split('\n')) t.diagnostic(line);
    assert.deepEqual(report.problems, []);
    // onnxruntime's files, and at least sharp's binding and libvips.
    assert.ok(report.natives.length >= spec.onnxruntime.length + 2, `${report.natives.length} native files`);
  });
}
