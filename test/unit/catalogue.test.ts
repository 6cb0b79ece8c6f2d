// The shipped catalogue of official releases validates against its typed schema, and the
// validator refuses what it must; plus the downloader's pure helpers (proxies, ranges, URLs)
// and the Download Model command's pick items and messages.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CatalogueError,
  findEntry,
  formatSize,
  groupByFamily,
  isDownloadable,
  isOfficialUrl,
  manualRoute,
  parseCatalogue,
  sourceName,
  type CatalogueEntry,
} from '../../contract/catalogue';
import { loadCatalogue } from '../../models/catalogue';
import { BUILTIN_MODELS } from '../../models/builtin';
import { parseDownload } from '../../contract/params';
import { parseContentRange, sourceUrl } from '../../models/download';
import { bypassesProxy, proxyFor } from '../../models/http';
import {
  confirmationFor,
  downloadFailureActions,
  downloadFailureMessage,
  downloadPickItems,
  downloadProgressMessage,
} from '../../extension/download-model';

const RAW = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'models', 'catalogue.json'), 'utf8')) as {
  version: number;
  families: Record<string, string>;
  models: Record<string, unknown>[];
};
const FAMILIES = RAW.families;
const FIELDS = [
  'id',
  'family',
  'variant',
  'scale',
  'fileName',
  'url',
  'sizeBytes',
  'sha256',
  'hashSource',
  'verified',
  'license',
  'paper',
  'credit',
  'description',
];

test('the shipped catalogue validates, and loadCatalogue reads it', () => {
  const parsed = parseCatalogue(RAW);
  assert.ok(parsed.models.length >= 12);
  assert.deepEqual(
    loadCatalogue().models.map((m) => m.id),
    parsed.models.map((m) => m.id),
  );
});

test('every entry has every field, official https URLs, and a hash or an honest null', () => {
  for (const m of RAW.models) {
    for (const f of FIELDS) assert.ok(f in m, `${String(m.id)} has ${f}`);
    const e = m as unknown as CatalogueEntry;
    if (e.url !== null) {
      const u = new URL(e.url);
      assert.equal(u.protocol, 'https:', e.id);
      assert.ok(['github.com', 'huggingface.co'].includes(u.hostname), `${e.id}: ${u.hostname}`);
      assert.ok(e.url.endsWith(`/${e.fileName}`), `${e.id}: the URL names the release file`);
    } else {
      assert.ok(e.manualUrl?.startsWith('https://'), `${e.id}: a manual URL`);
    }
    if (e.sha256 === null) {
      assert.equal(e.verified, false, e.id);
      assert.equal(e.hashSource, null, e.id);
    } else {
      assert.match(e.sha256, /^[0-9a-f]{64}$/, e.id);
      assert.ok(e.hashSource && e.hashSource.length > 10, `${e.id}: says where its hash came from`);
    }
    assert.match(e.license.spdx, /^[A-Za-z0-9.+-]+$/);
    assert.equal(typeof e.license.commercialUse, 'boolean');
    assert.ok(e.paper.url.startsWith('https://') && e.paper.title.length > 10);
    assert.ok(!e.description.includes('\n') && e.description.length > 10);
  }
});

test('the catalogue carries the releases issue 11 asks for', () => {
  const files = new Set(RAW.models.map((m) => m.fileName));
  for (const f of [
    'RealESRGAN_x4plus.pth',
    'RealESRGAN_x2plus.pth',
    'RealESRGAN_x4plus_anime_6B.pth',
    'realesr-general-x4v3.pth',
    '001_classicalSR_DF2K_s64w8_SwinIR-M_x2.pth',
    '001_classicalSR_DF2K_s64w8_SwinIR-M_x4.pth',
    '002_lightweightSR_DIV2K_s64w8_SwinIR-S_x4.pth',
    '003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth',
    'HAT_SRx4_ImageNet-pretrain.pth',
    'HAT-L_SRx4_ImageNet-pretrain.pth',
    'DAT_x2.pth',
    'DAT_x3.pth',
    'DAT_x4.pth',
    'DAT_light_x4.pth',
  ])
    assert.ok(files.has(f), f);
  const families = groupByFamily(loadCatalogue().models).map((g) => g.family);
  assert.deepEqual(families, ['real-esrgan', 'swinir', 'hat', 'dat', 'omnisr', 'rgt', 'drct', 'atd', 'span']);
  // Real-ESRGAN's and SwinIR's official releases are GitHub release assets with published hashes.
  for (const e of loadCatalogue().models.filter((m) => m.family === 'real-esrgan' || m.family === 'swinir')) {
    assert.ok(e.url?.startsWith('https://github.com/') && e.url.includes('/releases/download/'), e.id);
    assert.equal(e.verified, true, e.id);
  }
});

test("the catalogue carries the authors' releases of OmniSR, RGT, DRCT, ATD and SPAN, each with its published hash", () => {
  const byFamily = new Map(groupByFamily(loadCatalogue().models).map((g) => [g.family, g.entries]));
  for (const [family, count] of [
    ['omnisr', 3],
    ['rgt', 2],
    ['drct', 1],
    ['atd', 1],
    ['span', 2],
  ] as const) {
    const entries = byFamily.get(family) ?? [];
    assert.equal(entries.length, count, family);
    for (const e of entries) {
      assert.equal(e.verified, true, e.id);
      assert.ok(e.sizeBytes !== null && e.sizeBytes > 1e6, e.id);
      // SPAN's authors share one Drive link for both files, so those are fetched by hand.
      assert.equal(e.drive === undefined, family === 'span', e.id);
    }
  }
});

function valid(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(RAW.models[0] as Record<string, unknown>), ...overrides };
}
function problemsOf(models: unknown[]): string[] {
  try {
    parseCatalogue({ version: 1, families: FAMILIES, models });
    return [];
  } catch (e) {
    assert.ok(e instanceof CatalogueError);
    return [...e.problems];
  }
}

test('the validator refuses missing fields, foreign hosts, http, bad hashes and guessed verification', () => {
  assert.deepEqual(problemsOf([valid()]), []);
  const noDescription = valid();
  delete noDescription.description;
  assert.match(problemsOf([noDescription]).join('\n'), /"description"/);
  assert.match(
    problemsOf([valid({ url: 'https://example.com/x.pth' })]).join('\n'),
    /must be https on github\.com or huggingface\.co/,
  );
  assert.match(problemsOf([valid({ url: 'http://github.com/x.pth' })]).join('\n'), /must be https/);
  assert.match(problemsOf([valid({ url: 'https://github.com.evil.example/x.pth' })]).join('\n'), /must be https on/);
  assert.match(problemsOf([valid({ sha256: 'ABC' })]).join('\n'), /64 lowercase hex/);
  assert.match(
    problemsOf([valid({ id: 'a..b' })]).join('\n'),
    /"id" 'a\.\.b' must be .* without '\.\.'/,
    'the importer refuses such an id, so the catalogue does too',
  );
  assert.match(problemsOf([valid({ sha256: null, hashSource: null, verified: true })]).join('\n'), /"verified": false/);
  assert.match(problemsOf([valid({ hashSource: null })]).join('\n'), /hashSource/);
  assert.match(problemsOf([valid({ url: null })]).join('\n'), /manualUrl/);
  assert.match(
    problemsOf([valid({ license: { spdx: 'BSD-3-Clause', source: 'https://x.org' } })]).join('\n'),
    /commercialUse/,
  );
  assert.match(problemsOf([valid({ scale: 2.5 })]).join('\n'), /scale/);
  assert.match(problemsOf([valid(), valid()]).join('\n'), /duplicate id/);
  assert.match(problemsOf([valid({ fileName: '../x.pth' })]).join('\n'), /plain file name/);
  assert.throws(() => parseCatalogue({ version: 2, families: FAMILIES, models: [] }), /version/);
  assert.throws(() => parseCatalogue({ version: 1, models: [] }), /"families" must be an object/);
  assert.throws(() => parseCatalogue({ version: 1, families: { dat: '' }, models: [] }), /"families.dat" must be/);
  assert.throws(
    () => parseCatalogue({ version: 1, families: { dat: 'DAT' }, models: [valid()] }),
    /"family" 'real-esrgan' is not one of the catalogue's "families" \(dat\)/,
  );
  assert.ok(isOfficialUrl('https://huggingface.co/org/repo/resolve/main/x.pth'));
  assert.ok(!isOfficialUrl('https://github.com@evil.example/x'));
});

test('HAT and DAT: the entries whose Drive file id was published download from Google Drive; the rest stay manual', () => {
  const cat = loadCatalogue();
  const drive = cat.models
    .filter((m) => m.drive !== undefined && (m.family === 'hat' || m.family === 'dat'))
    .map((m) => m.id);
  assert.deepEqual(drive, ['hat-l-srx4-imagenet-pretrain', 'dat-x2', 'dat-x3', 'dat-x4']);
  for (const e of cat.models.filter((m) => m.family === 'hat' || m.family === 'dat')) {
    assert.equal(e.url, null, e.id);
    assert.ok(
      e.manualUrl?.startsWith('https://drive.google.com/drive/folders/'),
      `${e.id}: the authors' folder stays, for a refusal`,
    );
    if (e.drive) {
      assert.match(e.drive.idSource, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}:\S+/, `${e.id}: says where the id was published`);
      assert.equal(isDownloadable(e), true, e.id);
      assert.equal(sourceName(e), 'Google Drive');
    } else {
      assert.equal(isDownloadable(e), false, e.id);
      assert.equal(sourceName(e), null);
    }
  }
  // All four Drive entries have a published hash, so each download is checked.
  for (const id of drive) assert.equal(findEntry(cat, id).verified, true, id);
  assert.equal(findEntry(cat, 'dat-x4').drive?.id, '1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg');
  assert.equal(sourceName(findEntry(cat, 'realesrgan-x2plus')), 'github.com');
  assert.equal(
    manualRoute(findEntry(cat, 'dat-x4')),
    'download DAT_x4.pth by hand from https://drive.google.com/drive/folders/1iBdf_-LVZuz_PAbFtuxSKd_11RL1YKxM and run: upscale models import DAT_x4.pth (in VS Code: Upscale: Import Model…)',
  );
});

test('the validator checks "drive": an object with a file id and where it was published, instead of "url", with a manual page', () => {
  const drive = {
    id: '1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg',
    idSource: 'owner/repo@0123456789012345678901234567890123456789ab:x.json',
  };
  const onDrive = (d: unknown, more: Record<string, unknown> = {}) =>
    valid({ url: null, manualUrl: 'https://drive.google.com/drive/folders/x', drive: d, ...more });
  assert.deepEqual(problemsOf([onDrive(drive)]), []);
  assert.match(problemsOf([valid({ drive })]).join('\n'), /"url" or "drive", not both/);
  assert.match(
    problemsOf([onDrive('1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg')]).join('\n'),
    /"drive" must be an object with "id" and "idSource"/,
  );
  assert.match(
    problemsOf([onDrive({ ...drive, id: 'short' })]).join('\n'),
    /"drive\.id" must be a Google Drive file id/,
  );
  assert.match(
    problemsOf([
      onDrive({ ...drive, id: 'https://drive.google.com/file/d/1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg/view' }),
    ]).join('\n'),
    /"drive\.id"/,
  );
  assert.match(
    problemsOf([onDrive({ id: drive.id })]).join('\n'),
    /"drive\.idSource" must say where the file id was published/,
  );
  assert.match(problemsOf([onDrive({ ...drive, url: 'https://x' })]).join('\n'), /"drive\.url" is not a known field/);
  assert.match(
    problemsOf([onDrive(drive, { manualUrl: undefined })]).join('\n'),
    /manualUrl/,
    'the manual route for a refusal is required',
  );
});

test('no catalogue id is a built-in model id (importModel refuses those)', () => {
  const builtin = new Set(BUILTIN_MODELS.map((m) => m.id));
  for (const e of loadCatalogue().models) assert.ok(!builtin.has(e.id), e.id);
});

test('findEntry names the known ids; formatSize', () => {
  assert.throws(() => findEntry(loadCatalogue(), 'nope'), /known: realesrgan-/);
  assert.equal(formatSize(67040989), '67.0 MB');
  assert.equal(formatSize(null), 'size unknown');
});

// ---------------------------------------------------------------------------------------
// Downloader helpers

test('proxyFor: explicit first, then HTTPS_PROXY/HTTP_PROXY by scheme; NO_PROXY and loopback bypass', () => {
  const gh = new URL('https://github.com/a');
  const plain = new URL('http://example.org/a');
  assert.equal(proxyFor(gh, {}), null);
  assert.equal(proxyFor(gh, { HTTPS_PROXY: 'http://proxy:3128' })?.href, 'http://proxy:3128/');
  assert.equal(proxyFor(gh, { https_proxy: 'proxy:8080' })?.href, 'http://proxy:8080/');
  assert.equal(proxyFor(plain, { HTTPS_PROXY: 'http://p:1' }), null);
  assert.equal(proxyFor(plain, { HTTP_PROXY: 'http://p:2' })?.port, '2');
  assert.equal(proxyFor(gh, { HTTPS_PROXY: 'http://p:1' }, 'http://editor:9')?.host, 'editor:9');
  assert.equal(proxyFor(gh, { HTTPS_PROXY: 'http://p:1', NO_PROXY: '.github.com' }), null);
  assert.equal(proxyFor(gh, { HTTPS_PROXY: 'http://p:1', no_proxy: 'example.org, github.com' }), null);
  assert.equal(proxyFor(gh, { HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }), null);
  assert.ok(proxyFor(gh, { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'hub.com' }));
  assert.ok(bypassesProxy(new URL('http://127.0.0.1:8080/'), undefined));
  assert.ok(bypassesProxy(new URL('https://x.github.com/'), 'github.com:443'));
  assert.ok(!bypassesProxy(new URL('https://x.github.com/'), 'github.com:8443'));
  assert.throws(() => proxyFor(gh, { HTTPS_PROXY: 'socks5://p:1' }), /not a usable URL/);
});

test('parseContentRange and sourceUrl', () => {
  assert.deepEqual(parseContentRange('bytes 100-199/200'), { start: 100, end: 199, total: 200 });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: null });
  assert.equal(parseContentRange('items 0-1/2'), null);
  const e = {
    ...(RAW.models[0] as unknown as CatalogueEntry),
    url: 'https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth',
  };
  assert.equal(sourceUrl(e).href, e.url);
  assert.equal(
    sourceUrl(e, 'http://127.0.0.1:9/mirror').href,
    'http://127.0.0.1:9/mirror/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth',
  );
});

// ---------------------------------------------------------------------------------------
// The Download Model command's pure part

test('pick items: grouped by family with separators; size, scale, license, description; installed and manual marked', () => {
  const cat = loadCatalogue();
  const items = downloadPickItems(cat, new Set(['swinir-m-classical-x2']));
  const separators = items.filter((i) => i.kind === 'separator').map((i) => i.label);
  assert.deepEqual(separators, ['Real-ESRGAN', 'SwinIR', 'HAT', 'DAT', 'OmniSR', 'RGT', 'DRCT', 'ATD', 'SPAN']);
  const x4plus = items.find((i) => i.entry?.id === 'realesrgan-x4plus-official');
  assert.ok(x4plus);
  assert.match(x4plus.description ?? '', /x4/);
  assert.match(x4plus.description ?? '', /67\.0 MB/);
  assert.match(x4plus.description ?? '', /BSD-3-Clause/);
  assert.match(x4plus.detail ?? '', /Photos/);
  assert.match(items.find((i) => i.entry?.id === 'swinir-m-classical-x2')?.label ?? '', /installed/i);
  const light = items.find((i) => i.entry?.id === 'dat-light-x4');
  assert.match(light?.description ?? '', /unverified/);
  assert.match(light?.description ?? '', /manual download/);
  assert.match(light?.label ?? '', /link-external/);
  const dat = items.find((i) => i.entry?.id === 'dat-x4');
  assert.match(dat?.description ?? '', /Google Drive/);
  assert.doesNotMatch(dat?.description ?? '', /manual download|unverified/);
  assert.match(dat?.label ?? '', /cloud-download/);
});

test('confirmation: needed for non-commercial licenses and unverified entries, not for the rest', () => {
  const base = loadCatalogue().models[0] as CatalogueEntry;
  assert.equal(confirmationFor(base), null);
  const nc = confirmationFor({ ...base, license: { ...base.license, spdx: 'CC-BY-NC-4.0', commercialUse: false } });
  assert.match(nc?.message ?? '', /non-commercial/i);
  assert.match(nc?.message ?? '', /CC-BY-NC-4.0/);
  const unverified = confirmationFor({ ...base, sha256: null, hashSource: null, verified: false });
  assert.match(unverified?.message ?? '', /no published SHA-256/);
  assert.equal(unverified?.allowUnverified, true);
  const dat = findEntry(loadCatalogue(), 'dat-x4');
  assert.equal(confirmationFor(dat), null);
  const unverifiedDrive = confirmationFor({ ...dat, sha256: null, hashSource: null, verified: false });
  assert.match(unverifiedDrive?.detail ?? '', /fetched from Google Drive \(file 1pEhXmg--IWHaZOwHUFdh7TEJqt2qeuYg\)/);
});

test('messages: progress in MB; offline or blocked says the URL and Import Model', () => {
  const base = loadCatalogue().models[0] as CatalogueEntry;
  assert.equal(
    downloadProgressMessage({ id: base.id, phase: 'downloading', bytesDone: 5e6, bytesTotal: 67040989, url: '' }),
    '5.0 of 67.0 MB',
  );
  assert.match(
    downloadProgressMessage({ id: base.id, phase: 'verifying', bytesDone: 1, bytesTotal: 1, url: '' }),
    /Checking/,
  );
  const offline = downloadFailureMessage(base, 'getaddrinfo ENOTFOUND github.com');
  assert.ok(offline.includes(base.url as string));
  assert.match(offline, /Import Model/);
  assert.deepEqual(downloadFailureActions(base), ['Copy URL', 'Import Model…']);
});

test('messages: a Drive refusal keeps its manual route and offers the Drive page to open', () => {
  const dat = findEntry(loadCatalogue(), 'dat-x4');
  const quota = `Google Drive refuses to serve DAT_x4.pth now: its download quota is exceeded. Try again later, or ${manualRoute(dat)}`;
  assert.equal(
    downloadFailureMessage(dat, quota),
    `Could not download DAT x4: ${quota}`,
    'the route is not said twice',
  );
  assert.ok(downloadFailureMessage(dat, 'socket hang up').includes(dat.manualUrl as string));
  assert.deepEqual(downloadFailureActions(dat), ['Open Download Page', 'Import Model…']);
});

test('models/download params: id required; booleans and an http(s) proxy; unknown fields refused', () => {
  assert.deepEqual(
    parseDownload({ id: 'dat-x4', allowUnverified: true, keepSource: false, proxy: 'proxy.local:3128' }),
    { id: 'dat-x4', allowUnverified: true, keepSource: false, proxy: 'proxy.local:3128' },
  );
  assert.deepEqual(parseDownload({ id: 'x', proxy: '' }), { id: 'x' });
  assert.throws(() => parseDownload({}), /'id'/);
  assert.throws(() => parseDownload({ id: 'x', keepSource: 'yes' }), /'keepSource'/);
  assert.throws(() => parseDownload({ id: 'x', proxy: 'socks5://p:1' }), /'proxy'/);
  assert.throws(() => parseDownload({ id: 'x', url: 'https://evil' }), /unknown field 'url'/);
});
