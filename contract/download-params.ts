// Parameter parsing for `models/download`: unknown JSON in, typed params out, or an
// InvalidParams error naming the field.
import { DaemonError } from './errors';
import type { ModelsDownloadParams } from './protocol';
import { onlyKnown, optionalBoolean, optionalString, paramsObject, requiredString } from './validate';

export function parseDownload(raw: unknown): ModelsDownloadParams {
  const m = 'models/download';
  const p = paramsObject(m, raw);
  onlyKnown(m, p, ['id', 'allowUnverified', 'keepSource', 'proxy']);
  const id = requiredString(m, p, 'id', 200);
  const allowUnverified = optionalBoolean(m, p, 'allowUnverified');
  const keepSource = optionalBoolean(m, p, 'keepSource');
  // VS Code's http.proxy is "" when unset: the same as no proxy.
  const proxy = p.proxy === '' ? undefined : optionalString(m, p, 'proxy', 2048);
  if (proxy !== undefined && proxy.trim() !== '') {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
    let ok = false;
    try {
      const u = new URL(withScheme);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok)
      throw new DaemonError(
        'InvalidParams',
        `${m}: 'proxy' is "${proxy.slice(0, 80)}"; expected an http:// or https:// proxy URL`,
      );
  }
  return {
    id,
    ...(allowUnverified !== undefined && { allowUnverified }),
    ...(keepSource !== undefined && { keepSource }),
    ...(proxy !== undefined && proxy.trim() !== '' && { proxy }),
  };
}
