// Which restricted Upscale settings a workspace's settings.json names. Pure: a text scan,
// because the file may hold comments and trailing commas that JSON.parse refuses.
import { RESTRICTED_SETTINGS, SECTION } from './config';

export function restrictedKeysIn(settingsText: string): string[] {
  return RESTRICTED_SETTINGS.map((k) => `${SECTION}.${k}`).filter((key) =>
    new RegExp(`"${key.replace('.', '\\.')}"\\s*:`).test(settingsText),
  );
}
