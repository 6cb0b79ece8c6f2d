// `npm run test:desktop`: the extension inside a real desktop VS Code, through
// @vscode/test-electron. That needs a VS Code build; test-electron downloads one, which
// cannot work offline. So this uses a build that is already here (VSCODE_TEST_EXECUTABLE,
// or test-electron's cache in .vscode-test/) and otherwise says plainly that the tests did
// NOT run and exits with NOT_RUN, a failure status, so no one mistakes it for a pass.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

/** Exit status for "not run" (as automake's SKIP, but counted as a failure by npm). */
const NOT_RUN = 77;
const root = process.cwd();

function cachedBuild(): string | undefined {
  const cache = path.join(root, '.vscode-test');
  if (!fs.existsSync(cache)) return undefined;
  for (const entry of fs.readdirSync(cache)) {
    for (const exe of ['code', 'Code.exe', path.join('VSCode-linux-x64', 'code')]) {
      const candidate = path.join(cache, entry, exe);
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

async function main(): Promise<number> {
  const executable = process.env.VSCODE_TEST_EXECUTABLE ?? cachedBuild();
  if (!executable) {
    process.stderr.write(
      [
        'test:desktop NOT RUN: no VS Code build is available offline.',
        '  @vscode/test-electron downloads VS Code from update.code.visualstudio.com, which this machine cannot reach,',
        '  and none was found in VSCODE_TEST_EXECUTABLE or .vscode-test/.',
        '  To run it: set VSCODE_TEST_EXECUTABLE to a VS Code executable (or run once with network access).',
        `  Exit status ${NOT_RUN} means "not run"; it is not a pass.`,
        '',
      ].join('\n'),
    );
    return NOT_RUN;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    process.stderr.write('test:desktop: dist/extension.js is missing; run `npm run build` first\n');
    return 1;
  }
  await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
    launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`test:desktop FAILED: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
