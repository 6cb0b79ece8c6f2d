// Runs inside the VS Code extension host (loaded by @vscode/test-electron): the extension
// activates on its command, registers every command, and upscales a real image with the
// real daemon and the default model.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as vscode from 'vscode';
import { COMMAND_IDS } from '../../../extension/contributions';

/** A 16x16 opaque PNG (a red/blue split), small enough to inline. */
function writePng(file: string): void {
  const w = 16;
  const h = 16;
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++) row.set(x < w / 2 ? [220, 40, 40] : [40, 40, 220], 1 + x * 3);
    rows.push(row);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  fs.writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension('upscale-dev.upscale');
  assert.ok(extension, 'the extension is installed');
  assert.equal(extension.isActive, false, 'nothing activates it before a command');
  const commands = await vscode.commands.getCommands(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-desktop-'));
  const input = path.join(dir, 'tiny.png');
  writePng(input);
  await vscode.commands.executeCommand(COMMAND_IDS.upscaleImage, vscode.Uri.file(input));
  assert.equal(extension.isActive, true);
  const registered = await vscode.commands.getCommands(true);
  for (const id of Object.values(COMMAND_IDS))
    assert.ok(registered.includes(id) || commands.includes(id), `${id} is registered`);
  const out = path.join(dir, 'tiny@4x.png');
  assert.ok(fs.existsSync(out), `${out} was written`);
}
