// How the extension starts its daemon on each system: the editor's own runtime run as Node,
// the script inside the extension, and the models folder from the settings. Each system's
// launch is built here from that system's facts, in its own spelling (path.win32 or
// path.posix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../extension/config';
import { daemonLaunch, type HostFacts } from '../../extension/daemon-launch';

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
  assert.equal(node.env.UPSCALE_CACHE_DIR, '/ext/dist');
  assert.equal(node.initialize.modelsFolder, undefined);
  // A cache the user set is kept.
  assert.equal(
    daemonLaunch({ ...host, env: { UPSCALE_CACHE_DIR: '/c' }, bundledModelsDir: '/ext/dist/models' }, DEFAULTS).env
      .UPSCALE_CACHE_DIR,
    '/c',
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
    assert.equal(l.env.UPSCALE_CACHE_DIR, script.slice(0, -'upscale.js'.length - 1), host.platform);
    for (const [setting, folder] of Object.entries(models)) {
      const launched = daemonLaunch(host, { ...DEFAULTS, modelsFolder: setting });
      assert.equal(launched.initialize.modelsFolder, folder, `${host.platform}: modelsFolder ${setting}`);
    }
  }
});
