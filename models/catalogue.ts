// Reading the catalogue of official releases: the one shipped beside this module, or the
// one $UPSCALE_CATALOGUE names. Its schema and validation are the contract's
// (contract/catalogue.ts); clients receive it through `models/catalogue`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OFFICIAL_HOSTS, parseCatalogue, type Catalogue } from '../contract/catalogue';

function readShippedCatalogue(): unknown {
  try {
    // Bundles (esbuild) inline the JSON here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./catalogue.json') as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  // tsc's output (out/models/) does not copy JSON: read the source beside it.
  const candidates = [
    path.join(__dirname, 'catalogue.json'),
    path.resolve(__dirname, '..', '..', 'models', 'catalogue.json'),
  ];
  for (const file of candidates) {
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  }
  throw new Error(`the model catalogue was not found (looked in ${candidates.join(', ')})`);
}

let shipped: Catalogue | undefined;

/** The catalogue shipped with Upscale, validated (once). */
export function loadCatalogue(): Catalogue {
  shipped ??= parseCatalogue(readShippedCatalogue());
  return shipped;
}

/**
 * The catalogue named by $UPSCALE_CATALOGUE (a JSON file; for tests and mirrors: loopback
 * http URLs are accepted besides the official hosts), else the shipped one.
 */
export function catalogueFromEnv(env: NodeJS.ProcessEnv = process.env): Catalogue {
  const file = env.UPSCALE_CATALOGUE;
  if (!file) return loadCatalogue();
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  return parseCatalogue(raw, { hosts: [...OFFICIAL_HOSTS, '127.0.0.1', 'localhost'], allowHttp: true });
}
