// Where models live on disk. Built-in models are converted once at setup into a cache
// outside the repository; users' own models live in a models folder of their choosing,
// by default in each operating system's place for an application's data:
//
//            user's models                                    cache (the built-in models)
//   Windows  %LOCALAPPDATA%\upscale\models                    %LOCALAPPDATA%\upscale\cache
//   macOS    ~/Library/Application Support/upscale/models     ~/Library/Caches/upscale
//   Linux    $XDG_DATA_HOME/upscale/models                    $XDG_CACHE_HOME/upscale
//            (~/.local/share/upscale/models)                  (~/.cache/upscale)
//
// $UPSCALE_MODELS_DIR and $UPSCALE_CACHE_DIR replace them on every system. Each function
// takes the machine's facts, so every system's answer is tested on any one.
import * as os from 'node:os';
import * as path from 'node:path';
import { pathsFor } from '../contract/paths';

/** What the folders depend on. */
export interface Machine {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly homedir: string;
}

function thisMachine(): Machine {
  return { env: process.env, platform: process.platform, homedir: os.homedir() };
}

/** An environment variable naming a base folder, if it is set to an absolute path (the XDG rule: a relative one is ignored). */
function baseFolder(m: Machine, variable: string): string | undefined {
  const value = m.env[variable];
  return value && pathsFor(m.platform).isAbsolute(value) ? value : undefined;
}

/** %LOCALAPPDATA%\upscale: data and cache that stay on this machine (not in the roaming profile). */
function windowsAppFolder(m: Machine): string {
  const p = path.win32;
  return p.join(baseFolder(m, 'LOCALAPPDATA') ?? p.join(m.homedir, 'AppData', 'Local'), 'upscale');
}

/** Root of Upscale's cache: $UPSCALE_CACHE_DIR, else the system's cache folder (see the top of this file). */
export function cacheRoot(m: Machine = thisMachine()): string {
  const p = pathsFor(m.platform);
  if (m.env.UPSCALE_CACHE_DIR) return p.resolve(m.env.UPSCALE_CACHE_DIR);
  if (m.platform === 'win32') return p.join(windowsAppFolder(m), 'cache');
  if (m.platform === 'darwin') return p.join(m.homedir, 'Library', 'Caches', 'upscale');
  return p.join(baseFolder(m, 'XDG_CACHE_HOME') ?? p.join(m.homedir, '.cache'), 'upscale');
}

/** Converted built-in models (ONNX + metadata): $UPSCALE_BUILTIN_DIR (the extension's packaged models), else the cache. */
export function builtinModelsDir(m: Machine = thisMachine()): string {
  const p = pathsFor(m.platform);
  if (m.env.UPSCALE_BUILTIN_DIR) return p.resolve(m.env.UPSCALE_BUILTIN_DIR);
  return p.join(cacheRoot(m), 'models');
}

/** The user's models folder: $UPSCALE_MODELS_DIR, else the system's place for application data (see the top of this file). */
export function userModelsDir(m: Machine = thisMachine()): string {
  const p = pathsFor(m.platform);
  if (m.env.UPSCALE_MODELS_DIR) return p.resolve(m.env.UPSCALE_MODELS_DIR);
  if (m.platform === 'win32') return p.join(windowsAppFolder(m), 'models');
  if (m.platform === 'darwin') return p.join(m.homedir, 'Library', 'Application Support', 'upscale', 'models');
  return p.join(baseFolder(m, 'XDG_DATA_HOME') ?? p.join(m.homedir, '.local', 'share'), 'upscale', 'models');
}
