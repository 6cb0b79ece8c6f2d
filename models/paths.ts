// Where models live on disk. Built-in models are converted once at setup into a cache
// outside the repository; users' own models live in a models folder of their choosing.
import * as os from 'node:os';
import * as path from 'node:path';

/** Root of Upscale's cache: $UPSCALE_CACHE_DIR, else $XDG_CACHE_HOME/upscale, else ~/.cache/upscale. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UPSCALE_CACHE_DIR) return path.resolve(env.UPSCALE_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'upscale');
}

/** Converted built-in models (ONNX + metadata): $UPSCALE_BUILTIN_DIR (the extension's packaged models), else the cache. */
export function builtinModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UPSCALE_BUILTIN_DIR) return path.resolve(env.UPSCALE_BUILTIN_DIR);
  return path.join(cacheRoot(env), 'models');
}

/** The user's models folder: $UPSCALE_MODELS_DIR, else $XDG_DATA_HOME/upscale/models, else ~/.local/share/upscale/models. */
export function userModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UPSCALE_MODELS_DIR) return path.resolve(env.UPSCALE_MODELS_DIR);
  const base = env.XDG_DATA_HOME ? path.resolve(env.XDG_DATA_HOME) : path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'upscale', 'models');
}
