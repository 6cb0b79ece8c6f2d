// The models and cache folders in each system's conventions (models/paths.ts), from each
// system's facts: %LOCALAPPDATA% on Windows, ~/Library on macOS, XDG on Linux.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModelsDir, cacheRoot, userModelsDir, type Machine } from '../../models/paths';

const windows = (env: NodeJS.ProcessEnv = {}): Machine => ({ platform: 'win32', homedir: 'C:\\Users\\Ana', env });
const mac = (env: NodeJS.ProcessEnv = {}): Machine => ({ platform: 'darwin', homedir: '/Users/ana', env });
const linux = (env: NodeJS.ProcessEnv = {}): Machine => ({ platform: 'linux', homedir: '/home/ana', env });

test('Windows: under %LOCALAPPDATA%, which stays on the machine (models are large)', () => {
  const m = windows({
    LOCALAPPDATA: 'D:\\Profiles\\Ana\\AppData\\Local',
    APPDATA: 'D:\\Profiles\\Ana\\AppData\\Roaming',
  });
  assert.equal(userModelsDir(m), 'D:\\Profiles\\Ana\\AppData\\Local\\upscale\\models');
  assert.equal(cacheRoot(m), 'D:\\Profiles\\Ana\\AppData\\Local\\upscale\\cache');
  assert.equal(builtinModelsDir(m), 'D:\\Profiles\\Ana\\AppData\\Local\\upscale\\cache\\models');
  // Without the variable (a bare service account): its usual place in the profile.
  assert.equal(userModelsDir(windows()), 'C:\\Users\\Ana\\AppData\\Local\\upscale\\models');
  assert.equal(cacheRoot(windows({ LOCALAPPDATA: 'relative\\dir' })), 'C:\\Users\\Ana\\AppData\\Local\\upscale\\cache');
  // XDG variables are Linux's, not Windows'.
  assert.equal(cacheRoot(windows({ XDG_CACHE_HOME: 'C:\\xdg' })), 'C:\\Users\\Ana\\AppData\\Local\\upscale\\cache');
});

test('macOS: models in ~/Library/Application Support, the cache in ~/Library/Caches', () => {
  assert.equal(userModelsDir(mac()), '/Users/ana/Library/Application Support/upscale/models');
  assert.equal(cacheRoot(mac()), '/Users/ana/Library/Caches/upscale');
  assert.equal(builtinModelsDir(mac()), '/Users/ana/Library/Caches/upscale/models');
  assert.equal(userModelsDir(mac({ XDG_DATA_HOME: '/x' })), '/Users/ana/Library/Application Support/upscale/models');
});

test('Linux: XDG, with its defaults, and a relative XDG path ignored as the specification says', () => {
  assert.equal(userModelsDir(linux()), '/home/ana/.local/share/upscale/models');
  assert.equal(cacheRoot(linux()), '/home/ana/.cache/upscale');
  assert.equal(userModelsDir(linux({ XDG_DATA_HOME: '/data/ana' })), '/data/ana/upscale/models');
  assert.equal(cacheRoot(linux({ XDG_CACHE_HOME: '/var/cache/ana' })), '/var/cache/ana/upscale');
  assert.equal(cacheRoot(linux({ XDG_CACHE_HOME: 'cache' })), '/home/ana/.cache/upscale');
});

test("Upscale's own variables win on every system", () => {
  for (const [m, root] of [
    [windows, 'E:\\upscale'],
    [mac, '/opt/upscale'],
    [linux, '/opt/upscale'],
  ] as const) {
    const sep = m === windows ? '\\' : '/';
    const env = {
      UPSCALE_CACHE_DIR: `${root}${sep}cache`,
      UPSCALE_MODELS_DIR: `${root}${sep}models`,
      LOCALAPPDATA: 'C:\\L',
      XDG_CACHE_HOME: '/x',
    };
    assert.equal(cacheRoot(m(env)), `${root}${sep}cache`);
    assert.equal(builtinModelsDir(m(env)), `${root}${sep}cache${sep}models`);
    assert.equal(userModelsDir(m(env)), `${root}${sep}models`);
    assert.equal(builtinModelsDir(m({ ...env, UPSCALE_BUILTIN_DIR: `${root}${sep}ext` })), `${root}${sep}ext`);
  }
});
