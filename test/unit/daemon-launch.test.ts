// How the extension starts its daemon on each system: the editor's own runtime run as Node,
// the script inside the extension, the models folder from the settings, and no console
// window. Each system's launch is built here from that system's facts, in its own spelling
// (path.win32 or path.posix); only the spawn itself runs on this machine.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import childProcess, { type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DaemonClient } from '../../extension/client';
import { DEFAULTS } from '../../extension/config';
import { daemonLaunch, type HostFacts } from '../../extension/daemon-launch';
import { RestartPolicy } from '../../extension/restart-policy';
import { STAND_IN_FRAMING } from '../stand-in-daemon';

test('daemon launch: Electron runs the script as Node; settings go to initialize', () => {
  const host: HostFacts = {
    extensionPath: '/ext',
    execPath: '/vscode/code',
    platform: 'linux',
    isElectron: true,
    env: { PATH: '/bin' },
    homedir: '/home/u',
  };
  const l = daemonLaunch(host, { ...DEFAULTS, modelsFolder: '~/models', executionProvider: 'cpu' });
  assert.equal(l.command, '/vscode/code');
  assert.deepEqual(l.args, ['/ext/dist/upscale.js', 'daemon']);
  assert.equal(l.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(l.env.PATH, '/bin');
  assert.deepEqual(l.initialize, {
    clientName: 'vscode-upscale',
    provider: 'cpu',
    maxOutputPixels: DEFAULTS.maxOutputPixels,
    modelsFolder: '/home/u/models',
  });
  const node = daemonLaunch(
    { ...host, isElectron: false, env: { ELECTRON_RUN_AS_NODE: '1' }, bundledModelsDir: '/ext/dist/models' },
    DEFAULTS,
  );
  assert.equal(node.env.ELECTRON_RUN_AS_NODE, undefined);
  assert.equal(node.env.UPSCALE_BUILTIN_DIR, '/ext/dist/models');
  // The cache (measured rates) stays the user's, not the extension's folder.
  assert.equal(node.env.UPSCALE_CACHE_DIR, undefined);
  assert.equal(node.initialize.modelsFolder, undefined);
  assert.equal(node.env.XDG_RUNTIME_DIR, undefined, 'no folder given: the environment as it is');
  // A cache the user set is kept.
  assert.equal(
    daemonLaunch({ ...host, env: { UPSCALE_CACHE_DIR: '/c' }, bundledModelsDir: '/ext/dist/models' }, DEFAULTS).env
      .UPSCALE_CACHE_DIR,
    '/c',
  );
  // A folder for XDG_RUNTIME_DIR, when the extension made one, reaches the daemon.
  assert.equal(
    daemonLaunch({ ...host, env: {}, runtimeDir: '/tmp/upscale-runtime-1000' }, DEFAULTS).env.XDG_RUNTIME_DIR,
    '/tmp/upscale-runtime-1000',
  );
});

test("each system's desktop editor runs the daemon on its own extension host binary, in that system's paths", () => {
  const hosts: readonly { host: HostFacts; script: string; models: Record<string, string> }[] = [
    {
      host: {
        platform: 'win32',
        execPath: 'C:\\Users\\u\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe',
        extensionPath: 'C:\\Users\\u\\.vscode\\extensions\\upscale-dev.upscale-0.1.0-win32-x64',
        homedir: 'C:\\Users\\u',
        isElectron: true,
        env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' },
        bundledModelsDir: 'C:\\Users\\u\\.vscode\\extensions\\upscale-dev.upscale-0.1.0-win32-x64\\dist\\models',
      },
      script: 'C:\\Users\\u\\.vscode\\extensions\\upscale-dev.upscale-0.1.0-win32-x64\\dist\\upscale.js',
      models: {
        '~\\models': 'C:\\Users\\u\\models',
        '~/models': 'C:\\Users\\u\\models',
        '~': 'C:\\Users\\u',
        'D:/Models/': 'D:\\Models',
        '\\\\nas\\share\\models': '\\\\nas\\share\\models',
      },
    },
    {
      host: {
        platform: 'darwin',
        execPath:
          '/Applications/Visual Studio Code.app/Contents/Frameworks/Code Helper (Plugin).app/Contents/MacOS/Code Helper (Plugin)',
        extensionPath: '/Users/u/.vscode/extensions/upscale-dev.upscale-0.1.0-darwin-arm64',
        homedir: '/Users/u',
        isElectron: true,
        env: {},
        bundledModelsDir: '/Users/u/.vscode/extensions/upscale-dev.upscale-0.1.0-darwin-arm64/dist/models',
      },
      script: '/Users/u/.vscode/extensions/upscale-dev.upscale-0.1.0-darwin-arm64/dist/upscale.js',
      models: { '~/models': '/Users/u/models', '/Volumes/Data/models/': '/Volumes/Data/models' },
    },
    {
      host: {
        platform: 'linux',
        execPath: '/usr/share/code/code',
        extensionPath: '/home/u/.vscode/extensions/upscale-dev.upscale-0.1.0-linux-x64',
        homedir: '/home/u',
        isElectron: true,
        env: {},
        bundledModelsDir: '/home/u/.vscode/extensions/upscale-dev.upscale-0.1.0-linux-x64/dist/models',
      },
      script: '/home/u/.vscode/extensions/upscale-dev.upscale-0.1.0-linux-x64/dist/upscale.js',
      models: { '~/models': '/home/u/models', '/srv/models/../models': '/srv/models' },
    },
  ];
  for (const { host, script, models } of hosts) {
    const l = daemonLaunch(host, DEFAULTS);
    assert.equal(l.command, host.execPath, `${host.platform}: the extension host's own binary`);
    assert.deepEqual(l.args, [script, 'daemon'], host.platform);
    assert.equal(l.env.ELECTRON_RUN_AS_NODE, '1', host.platform);
    // The packaged default model is found beside the script, in the system's spelling.
    assert.equal(l.env.UPSCALE_BUILTIN_DIR, host.bundledModelsDir, host.platform);
    assert.equal(l.env.UPSCALE_CACHE_DIR, undefined, `${host.platform}: the user's cache, not the extension's folder`);
    for (const [setting, folder] of Object.entries(models)) {
      const launched = daemonLaunch(host, { ...DEFAULTS, modelsFolder: setting });
      assert.equal(launched.initialize.modelsFolder, folder, `${host.platform}: modelsFolder ${setting}`);
    }
  }
});

/** A stand-in daemon that answers `initialize`, dies on the first job, and exits at once when run with --clean. */
function dyingDaemon(dir: string): string {
  const file = path.join(dir, 'dying.js');
  fs.writeFileSync(
    file,
    `
    if (process.argv.includes('--clean')) process.exit(0);
    ${STAND_IN_FRAMING}
    onMessage((msg) => {
      if (msg.method !== 'initialize') process.exit(3);
      initialized(msg);
    });
  `,
  );
  return file;
}

test('the daemon and its clean-up after a crash are spawned without a console window (windowsHide)', async (t) => {
  const spawned: { args: readonly string[]; options: SpawnOptions }[] = [];
  const original = childProcess.spawn;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-launch-'));
  t.after(() => {
    mock.restoreAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // The module object itself (a default import), whose spawn the code under test looks up at each call.
  mock.method(childProcess, 'spawn', (command: string, args: readonly string[], options: SpawnOptions) => {
    spawned.push({ args, options });
    return original(command, args, options);
  });
  const script = dyingDaemon(dir);
  const client = new DaemonClient({
    launch: () => ({ command: process.execPath, args: [script], env: process.env, initialize: {} }),
    log: () => undefined,
    policy: new RestartPolicy({ maxCrashes: 1, windowMs: 60_000, baseDelayMs: 10, maxDelayMs: 10 }),
  });
  await client.start();
  await assert.rejects(client.upscale({ input: '/x/a.png' }), /the Upscale daemon .* while upscaling \/x\/a\.png/);
  await client.dispose();
  assert.deepEqual(
    spawned.map((s) => [s.args.at(-1), s.options.windowsHide]),
    [
      [script, true],
      ['--clean', true],
    ],
  );
  assert.deepEqual(spawned[0]?.options.stdio, ['pipe', 'pipe', 'pipe']);
});
