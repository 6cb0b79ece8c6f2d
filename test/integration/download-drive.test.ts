// Catalogue entries on Google Drive, downloaded from a local server on 127.0.0.1 that
// imitates Drive's download endpoint (never the internet): a small file served directly, the
// confirm page's form, the older cookie token, a cut connection resumed through the confirm
// step, and the refusals (quota, access, missing file, a page served as the file, a wrong
// hash). Each test checks what the models folder holds afterwards: the model, or nothing.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../fixtures';
import { ACCESS_PAGE, confirmFormPage, MISSING_PAGE, QUOTA_PAGE, warningPage } from '../drive-pages';
import {
  fixtureCatalogue,
  fixtureCatalogueJson,
  fixtureEntry,
  listing,
  runCli,
  sha256,
  TempFolders,
} from '../downloads';
import type { CatalogueEntry } from '../../contract/catalogue';
import { downloadModel } from '../../models/download';
import { DownloadError } from '../../models/http';

const ARCH = path.join(FIXTURES_DIR, 'arch');
const DAT = fs.readFileSync(path.join(ARCH, 'dat_x2', 'dat_x2.pth'));
const HAT = fs.readFileSync(path.join(ARCH, 'hat_x4', 'hat_x4.pth'));
const SRVGG = fs.readFileSync(path.join(ARCH, 'srvgg_x4', 'srvgg_x4.pth'));
const MANUAL = 'https://drive.google.com/drive/folders/1iBdf_-LVZuz_PAbFtuxSKd_11RL1YKxM';
const temp = new TempFolders('upscale-drive-');
after(() => temp.remove());
const freshDir = () => temp.fresh();

// ---------------------------------------------------------------------------------------
// The imitation of Drive: behaviour by file id

type Behaviour =
  | {
      readonly kind: 'direct' | 'form' | 'cookie' | 'cut' | 'quota' | 'disguised' | 'elsewhere';
      readonly bytes: Buffer;
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'private' };
const FILES = new Map<string, Behaviour>([
  ['smallFileServedDirectly0001', { kind: 'direct', bytes: SRVGG }],
  ['largeFileWithConfirmForm001', { kind: 'form', bytes: DAT }],
  ['largeFileWithCookieToken001', { kind: 'cookie', bytes: HAT }],
  ['largeFileRedirectedElsewhere', { kind: 'elsewhere', bytes: SRVGG }],
  ['largeFileCutOnceThenResumed', { kind: 'cut', bytes: SRVGG }],
  ['fileOverItsDownloadQuota001', { kind: 'quota', bytes: DAT }],
  ['fileThatIsNoLongerShared001', { kind: 'private' }],
  ['fileThatWasRemovedFromDrive', { kind: 'missing' }],
  ['pageServedAsOctetStream0001', { kind: 'disguised', bytes: DAT }],
  ['cliDownloadThroughTheForm01', { kind: 'form', bytes: SRVGG }],
  ['cliDownloadOverItsQuota0001', { kind: 'quota', bytes: SRVGG }],
]);
const uuidOf = (id: string) => `uuid-${sha256(Buffer.from(id)).slice(0, 12)}`;
const tokenOf = (id: string) => `tok_${id.slice(0, 6)}`;

interface Seen {
  readonly path: string;
  readonly query: Record<string, string>;
  readonly cookie: string | undefined;
  readonly range: string | undefined;
}
const requests: Seen[] = [];
const cut = new Set<string>();
let server: http.Server;
let base = '';
/** Another origin (another port) that the confirmed download of 'elsewhere' redirects to. */
let elsewhere = '';

function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, bytes: Buffer, id: string): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="${id}.pth"`,
    'Content-Length': bytes.length - start,
  };
  if (range) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` });
  else res.writeHead(200, headers);
  res.end(bytes.subarray(start));
}

function page(res: http.ServerResponse, status: number, html: string, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...extra }).end(html);
}

function drive(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', base);
  const query = Object.fromEntries(url.searchParams);
  requests.push({ path: url.pathname, query, cookie: req.headers.cookie, range: req.headers.range });
  const id = query.id ?? '';
  const file = FILES.get(id);
  if (url.pathname !== '/download' || !file || file.kind === 'missing') return page(res, 404, MISSING_PAGE);
  if (file.kind === 'private') return page(res, 403, ACCESS_PAGE);
  if (file.kind === 'disguised') {
    res
      .writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${id}.pth"`,
      })
      .end(QUOTA_PAGE);
    return;
  }
  if (file.kind === 'direct') return sendBytes(req, res, file.bytes, id);
  if (file.kind === 'cookie' || file.kind === 'elsewhere') {
    const cookie = `download_warning_13058876669334088843_${id}`;
    if (query.confirm === tokenOf(id) && req.headers.cookie?.includes(`${cookie}=${tokenOf(id)}`)) {
      if (file.kind === 'elsewhere')
        return void res.writeHead(302, { Location: `${elsewhere}/download?id=${id}&served=elsewhere` }).end();
      return sendBytes(req, res, file.bytes, id);
    }
    return page(res, 200, warningPage(id), {
      'Set-Cookie': [`NID=511=x; path=/; HttpOnly`, `${cookie}=${tokenOf(id)}; Path=/; HttpOnly`],
    });
  }
  // The form: confirm=t and this file's uuid; the bytes, or the quota page, come only then.
  const confirmed = query.confirm === 't' && query.uuid === uuidOf(id);
  if (!confirmed)
    return page(res, 200, confirmFormPage({ action: `${base}/download`, id, uuid: uuidOf(id), fileName: `${id}.pth` }));
  if (file.kind === 'quota') return page(res, 403, QUOTA_PAGE);
  if (file.kind === 'cut' && !cut.has(id)) {
    cut.add(id);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.bytes.length });
    res.write(file.bytes.subarray(0, Math.floor(file.bytes.length / 2)), () =>
      setTimeout(() => res.socket?.destroy(), 20),
    );
    return;
  }
  sendBytes(req, res, file.bytes, id);
}

let other: http.Server;

before(async () => {
  server = http.createServer(drive);
  other = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', elsewhere);
    requests.push({
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      cookie: req.headers.cookie,
      range: req.headers.range,
    });
    sendBytes(req, res, SRVGG, url.searchParams.get('id') ?? '');
  });
  for (const s of [server, other]) await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  elsewhere = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
});
after(() => {
  for (const s of [server, other]) {
    s.closeAllConnections();
    s.close();
  }
});

// ---------------------------------------------------------------------------------------
// Catalogue entries like the shipped HAT and DAT ones

function entry(
  id: string,
  driveId: string,
  bytes: Buffer | null,
  overrides: Partial<CatalogueEntry> = {},
): CatalogueEntry {
  const drive = { id: driveId, idSource: 'owner/repo@0123456789012345678901234567890123456789ab:models.json' };
  return fixtureEntry(id, bytes, { family: 'dat', drive, manualUrl: MANUAL, ...overrides });
}

function download(e: CatalogueEntry, dir: string, more: { allowUnverified?: boolean } = {}) {
  return downloadModel(e.id, {
    modelsDir: dir,
    catalogue: fixtureCatalogue(e),
    driveBaseUrl: base,
    env: {},
    retryDelayMs: 10,
    ...more,
  });
}

const mine = (driveId: string) => requests.filter((r) => r.query.id === driveId);

/** The refusal: a DownloadError of this kind whose message names the file and gives the manual route; nothing left. */
async function assertRefused(e: CatalogueEntry, kind: DownloadError['kind'], words: RegExp): Promise<void> {
  const dir = freshDir();
  await assert.rejects(download(e, dir), (err: unknown) => {
    assert.ok(err instanceof DownloadError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, words);
    assert.ok(err.message.includes(e.fileName), `names ${e.fileName}: ${err.message}`);
    assert.ok(err.message.includes(MANUAL), `gives the manual page: ${err.message}`);
    assert.ok(err.message.includes(`upscale models import ${e.fileName}`), `and how to import it: ${err.message}`);
    return true;
  });
  assert.deepEqual(listing(dir), [], 'no model, no .part, no download area');
}

// ---------------------------------------------------------------------------------------

test('a small file comes straight back: one request to /download?id=ID&export=download, registered', async () => {
  const dir = freshDir();
  const e = entry('test-drive-direct', 'smallFileServedDirectly0001', SRVGG, { family: 'real-esrgan', scale: 4 });
  const r = await download(e, dir);
  assert.equal(r.model.id, e.id);
  assert.equal(r.model.scale, 4);
  assert.equal(r.verified, true);
  assert.deepEqual(
    mine('smallFileServedDirectly0001').map((q) => [q.path, q.query]),
    [['/download', { id: 'smallFileServedDirectly0001', export: 'download' }]],
  );
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

test('a large file: the confirm page, then its form (confirm and uuid) brings the bytes: verified, converted, registered', async () => {
  const dir = freshDir();
  const e = entry('test-drive-form', 'largeFileWithConfirmForm001', DAT);
  const r = await download(e, dir);
  assert.equal(r.model.family, 'dat');
  assert.equal(r.model.scale, 2);
  assert.equal(r.sha256, sha256(DAT));
  assert.equal(r.verified, true);
  const seen = mine('largeFileWithConfirmForm001');
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[0]?.query, { id: 'largeFileWithConfirmForm001', export: 'download' });
  assert.deepEqual(
    seen[1]?.query,
    {
      id: 'largeFileWithConfirmForm001',
      export: 'download',
      confirm: 't',
      uuid: uuidOf('largeFileWithConfirmForm001'),
    },
    "the form's inputs",
  );
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

test("the older flow: the download_warning cookie's token as confirm=, and the cookie sent back", async () => {
  const dir = freshDir();
  const e = entry('test-drive-cookie', 'largeFileWithCookieToken001', HAT, { family: 'hat', scale: 4 });
  const r = await download(e, dir);
  assert.equal(r.model.family, 'hat');
  const seen = mine('largeFileWithCookieToken001');
  assert.equal(seen.length, 2);
  assert.equal(seen[0]?.cookie, undefined);
  assert.equal(seen[1]?.query.confirm, tokenOf('largeFileWithCookieToken001'));
  assert.match(seen[1]?.cookie ?? '', /download_warning_13058876669334088843_largeFileWithCookieToken001=tok_largeF/);
  assert.match(seen[1]?.cookie ?? '', /NID=511=x/);
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

test("Drive's cookie goes back to Drive only: not along a redirect to another origin", async () => {
  const dir = freshDir();
  const e = entry('test-drive-elsewhere', 'largeFileRedirectedElsewhere', SRVGG, { family: 'real-esrgan', scale: 4 });
  await download(e, dir);
  const seen = mine('largeFileRedirectedElsewhere');
  assert.equal(seen.length, 3);
  assert.match(seen[1]?.cookie ?? '', /download_warning_/, 'the confirm request to Drive carries it');
  assert.equal(seen[2]?.query.served, 'elsewhere');
  assert.equal(seen[2]?.cookie, undefined, 'the other origin does not get it');
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

test('a cut connection is resumed through the confirm step: the retry asks again and sends Range with the form', async () => {
  const dir = freshDir();
  const e = entry('test-drive-cut', 'largeFileCutOnceThenResumed', SRVGG, { family: 'real-esrgan', scale: 4 });
  const r = await download(e, dir);
  assert.ok(r.resumedBytes > 0, 'resumed');
  assert.equal(r.sha256, sha256(SRVGG));
  const seen = mine('largeFileCutOnceThenResumed');
  assert.deepEqual(
    seen.map((q) => q.query.confirm ?? '-'),
    ['-', 't', '-', 't'],
  );
  assert.equal(seen[1]?.range, undefined);
  assert.match(seen[3]?.range ?? '', /^bytes=[1-9]\d*-$/);
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

test('over its quota: a clear error with "quota", the Drive page and the import command; nothing in the models folder or temp', async () => {
  const tmp = temp.fresh();
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    assert.equal(os.tmpdir(), tmp);
    await assertRefused(
      entry('test-drive-quota', 'fileOverItsDownloadQuota001', DAT),
      'quota',
      /^Google Drive refuses to serve test-drive-quota\.pth now: its download quota is exceeded\. Try again later, or download test-drive-quota\.pth by hand from /,
    );
    assert.deepEqual(fs.readdirSync(tmp), [], 'nothing written to the temporary folder');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  assert.equal(mine('fileOverItsDownloadQuota001').length, 2, 'the quota page came after the confirm step');
});

test('no longer shared (403, "You need access"): a permission error with the manual route', async () => {
  await assertRefused(
    entry('test-drive-private', 'fileThatIsNoLongerShared001', DAT),
    'permission',
    /refuses to serve .*sign in or for access \(HTTP 403\)/,
  );
});

test('a file removed from Drive (404): says it is not on Google Drive, with the manual route', async () => {
  await assertRefused(
    entry('test-drive-missing', 'fileThatWasRemovedFromDrive', DAT),
    'http',
    /is not on Google Drive \(file fileThatWasRemovedFromDrive: HTTP 404/,
  );
});

test('a web page served as application/octet-stream is not saved as the model', async () => {
  await assertRefused(
    entry('test-drive-disguised', 'pageServedAsOctetStream0001', DAT),
    'http',
    /answered with a web page instead of test-drive-disguised\.pth; nothing was saved/,
  );
});

test('a file whose SHA-256 is not the published one is refused after the confirm step, and removed', async () => {
  const dir = freshDir();
  const e = entry('test-drive-badhash', 'largeFileWithConfirmForm001', DAT, { sha256: 'b'.repeat(64) });
  await assert.rejects(
    download(e, dir),
    (err: unknown) =>
      err instanceof DownloadError &&
      err.kind === 'hash' &&
      /SHA-256 [0-9a-f]{64}, but b{64} was published/.test(err.message),
  );
  assert.deepEqual(listing(dir), []);
});

test('a Drive entry without a published hash is unverified: refused without allowUnverified, before any request', async () => {
  const dir = freshDir();
  const e = entry('test-drive-unverified', 'smallFileServedDirectly0001', null, { family: 'real-esrgan', scale: 4 });
  requests.length = 0;
  await assert.rejects(
    download(e, dir),
    (err: unknown) => err instanceof DownloadError && err.kind === 'unverified' && /allowUnverified/.test(err.message),
  );
  assert.equal(requests.length, 0);
  const r = await download(e, dir, { allowUnverified: true });
  assert.equal(r.verified, false);
  assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
});

// ---------------------------------------------------------------------------------------
// Through the CLI and the daemon ($UPSCALE_CATALOGUE and $UPSCALE_DRIVE_BASE_URL)

test('CLI: models download goes through the confirm form; a quota refusal exits 1 with the manual route; catalogue says Google Drive', async () => {
  const ok = entry('test-cli-drive', 'cliDownloadThroughTheForm01', SRVGG, { family: 'real-esrgan', scale: 4 });
  const quota = entry('test-cli-quota', 'cliDownloadOverItsQuota0001', SRVGG, { family: 'real-esrgan', scale: 4 });
  const file = temp.file('catalogue.json');
  fs.writeFileSync(file, fixtureCatalogueJson([ok, quota]));
  const dir = freshDir();
  const env = {
    UPSCALE_CATALOGUE: file,
    UPSCALE_DRIVE_BASE_URL: base,
    UPSCALE_MODELS_DIR: dir,
    UPSCALE_BUILTIN_DIR: freshDir(),
    HTTPS_PROXY: '',
    HTTP_PROXY: '',
  };

  const r = await runCli(['models', 'download', ok.id, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { model: { id: string }; verified: boolean; sha256: string };
  assert.equal(result.model.id, ok.id);
  assert.equal(result.verified, true);
  assert.equal(result.sha256, sha256(SRVGG));
  assert.deepEqual(
    mine('cliDownloadThroughTheForm01').map((q) => q.query.confirm ?? '-'),
    ['-', 't'],
  );

  const refused = await runCli(['models', 'download', quota.id], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Google Drive refuses to serve test-cli-quota\.pth now: its download quota is exceeded/);
  assert.ok(refused.stderr.includes(MANUAL), refused.stderr);
  assert.ok(refused.stderr.includes('upscale models import test-cli-quota.pth'), refused.stderr);
  assert.deepEqual(listing(dir), [`${ok.id}.json`, `${ok.id}.onnx`]);

  const listed = await runCli(['models', 'catalogue'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /test-cli-drive .* verified, from Google Drive/);
  // The shipped catalogue: HAT-L and DAT x2/x3/x4 from Google Drive, the others still by hand.
  const shipped = await runCli(['models', 'catalogue'], { UPSCALE_CATALOGUE: '' });
  for (const id of ['hat-l-srx4-imagenet-pretrain', 'dat-x2', 'dat-x3', 'dat-x4'])
    assert.match(shipped.stdout, new RegExp(`${id} .* verified, from Google Drive`));
  assert.match(shipped.stdout, /dat-light-x4 .* manual: https:\/\/drive\.google\.com\/drive\/folders\//);
  assert.match(shipped.stdout, /realesrgan-x2plus .* verified, from github\.com/);
});
