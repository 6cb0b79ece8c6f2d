// The rates file: what one daemon measured, read by the next on the same machine only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ThroughputMemory, type ThroughputKey } from '../../daemon/engine/eta';
import { machineOf, ratesPath, readRates, writeRates } from '../../daemon/rates-file';

const KEY: ThroughputKey = { model: 'm', provider: 'cpu', precision: 'fp32', tileWidth: 128, tileHeight: 128 };

test('written rates are read back on the same machine; another machine, a damaged or missing file give none', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-rates-'));
  const file = ratesPath(path.join(dir, 'cache'));
  assert.equal(file, path.join(dir, 'cache', 'rates.json'));
  assert.equal((await readRates(file)).msPerTile(KEY), undefined, 'no file yet');

  const memory = new ThroughputMemory();
  memory.record(KEY, 321);
  await writeRates(file, memory);
  assert.equal((await readRates(file)).msPerTile(KEY), 321);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['rates.json'], 'no temporary file left');

  assert.match(machineOf(), /×/);
  assert.equal((await readRates(file, 'another machine')).msPerTile(KEY), undefined);

  fs.writeFileSync(file, '{"format":1,"machine":');
  assert.equal((await readRates(file)).msPerTile(KEY), undefined);
  fs.writeFileSync(file, JSON.stringify({ format: 1, machine: machineOf(), rates: { tiles: { x: 'fast' } } }));
  assert.equal((await readRates(file)).msPerTile(KEY), undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});
