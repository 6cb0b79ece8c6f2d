// The model downloader against a local HTTP server on 127.0.0.1 (never the internet): the
// fixture models are served under catalogue-like entries, and each test checks what ends up
// in the models folder: the registered model, or nothing at all.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../fixtures';
import {
  ENTRY_JS,
  fixtureCatalogue as catalogue,
  fixtureCatalogueJson,
  fixtureEntry,
  listing,
  runCli,
  sha256,
  TempFolders,
} from '../downloads';
import type { CatalogueEntry } from '../../contract/catalogue';
import { DOWNLOAD_AREA, downloadModel } from '../../models/download';
import type { DownloadProgress } from '../../contract/protocol';
import { connectTunnel, DownloadError } from '../../models/http';
import { scanModels } from '../../models/registry';
import { spawnDaemon } from '../../contract/rpc/connection';
import { Requests, Notifications } from '../../contract/methods';
import { DaemonError } from '../../contract/errors';

const ARCH = path.join(FIXTURES_DIR, 'arch');
const FILES: Record<string, string> = {
  'rrdbnet_x2.pth': path.join(ARCH, 'rrdbnet_x2', 'rrdbnet_x2.pth'),
  'srvgg_x4.pth': path.join(ARCH, 'srvgg_x4', 'srvgg_x4.pth'),
  'swinir_lightweight_x4.safetensors': path.join(ARCH, 'swinir_lightweight_x4', 'swinir_lightweight_x4.safetensors'),
};
const temp = new TempFolders('upscale-download-');
after(() => temp.remove());
const freshDir = () => temp.fresh();

// ---------------------------------------------------------------------------------------
// The server

interface Seen {
  readonly url: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
}
const requests: Seen[] = [];
const cutOnce = new Set<string>();
const slowResponses: http.ServerResponse[] = [];
let server: http.Server;
let base = '';

function serveFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  name: string,
  mode: 'ok' | 'cut' | 'slow' | 'norange',
): void {
  const file = FILES[name];
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  const bytes = fs.readFileSync(file);
  const etag = `"${sha256(bytes).slice(0, 16)}"`;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRangeOk = req.headers['if-range'] === undefined || req.headers['if-range'] === etag;
  if (mode === 'cut' && !cutOnce.has(name)) {
    // First request: announce the whole file, send part of it, then drop the connection.
    cutOnce.add(name);
    res.writeHead(200, { 'Content-Length': bytes.length, ETag: etag });
    res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (mode === 'slow') {
    slowResponses.push(res);
    res.writeHead(200, { 'Content-Length': bytes.length, ETag: etag });
    let at = 0;
    const tick = setInterval(() => {
      if (res.destroyed || at >= bytes.length) {
        clearInterval(tick);
        return;
      }
      res.write(bytes.subarray(at, at + 1024));
      at += 1024;
    }, 50);
    res.on('close', () => clearInterval(tick));
    return;
  }
  if (range && mode !== 'norange' && ifRangeOk) {
    const start = Number(range[1]);
    if (start >= bytes.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'Content-Length': bytes.length - start,
      'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      ETag: etag,
    });
    res.end(bytes.subarray(start));
    return;
  }
  res.writeHead(200, { 'Content-Length': bytes.length, ETag: etag });
  res.end(bytes);
}

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      url: url.pathname,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
    });
    const [, mode, ...rest] = url.pathname.split('/');
    const name = rest[rest.length - 1] ?? '';
    if (mode === 'redirect') {
      res.writeHead(302, { Location: `/ok/${rest.join('/')}` }).end();
      return;
    }
    if (mode === 'loop') {
      res.writeHead(302, { Location: url.pathname }).end();
      return;
    }
    if (mode === 'ok' || mode === 'cut' || mode === 'slow' || mode === 'norange') serveFile(req, res, name, mode);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(() => {
  for (const r of slowResponses) r.destroy();
  server.closeAllConnections();
  server.close();
});

// ---------------------------------------------------------------------------------------
// A catalogue whose entries look like the real ones, served from the local server

// Validated like the shipped catalogue (official hosts only); baseUrl points them at the server.
function entry(id: string, fileName: string, overrides: Partial<CatalogueEntry> = {}): CatalogueEntry {
  const bytes = fs.readFileSync(FILES[fileName] as string);
  return fixtureEntry(id, bytes, {
    variant: `test ${fileName}`,
    fileName,
    url: `https://github.com/example/releases/download/v1/${fileName}`,
    ...overrides,
  });
}

const noProxyEnv: NodeJS.ProcessEnv = {};

test('download OK: fetched, verified, converted and registered with license and credit; source removed', async () => {
  const dir = freshDir();
  const progress: DownloadProgress[] = [];
  const cat = catalogue(entry('test-rrdb-x2', 'rrdbnet_x2.pth'));
  const r = await downloadModel('test-rrdb-x2', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/ok/`,
    env: noProxyEnv,
    onProgress: (p) => progress.push(p),
  });
  assert.equal(r.model.id, 'test-rrdb-x2');
  assert.equal(r.model.scale, 2);
  assert.equal(r.model.license, 'BSD-3-Clause');
  assert.match(r.model.credit, /Test Authors/);
  assert.equal(r.verified, true);
  assert.equal(r.sha256, cat.models[0]?.sha256);
  const { models } = await scanModels(path.join(dir, 'no-builtins'), dir);
  const registered = models.find((m) => m.id === 'test-rrdb-x2');
  assert.ok(registered, 'the registry lists the model');
  assert.equal(registered.license, 'BSD-3-Clause');
  assert.match(registered.credit, /Test Authors \(rrdbnet_x2\.pth/);
  assert.deepEqual(listing(dir), ['test-rrdb-x2.json', 'test-rrdb-x2.onnx'], 'no .part, no source, no download area');
  // Asked again: the folder already holds this very release, so nothing is fetched.
  requests.length = 0;
  const again = await downloadModel('test-rrdb-x2', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/ok/`,
    env: noProxyEnv,
  });
  assert.equal(again.alreadyInstalled, true);
  assert.equal(again.model.id, 'test-rrdb-x2');
  assert.equal(requests.length, 0);
  assert.deepEqual(listing(dir), ['test-rrdb-x2.json', 'test-rrdb-x2.onnx']);
  const phases = new Set(progress.map((p) => p.phase));
  for (const phase of ['connecting', 'downloading', 'verifying', 'converting', 'done'] as const)
    assert.ok(phases.has(phase), phase);
  const last = progress.filter((p) => p.phase === 'downloading').at(-1);
  assert.equal(last?.bytesDone, last?.bytesTotal);
  assert.equal(last?.bytesTotal, fs.statSync(FILES['rrdbnet_x2.pth'] as string).size);
});

test('keepSource keeps the release file in sources/', async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-srvgg-x4', 'srvgg_x4.pth', { scale: 4 }));
  const r = await downloadModel('test-srvgg-x4', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/ok`,
    env: noProxyEnv,
    keepSource: true,
  });
  assert.equal(r.sourcePath, path.join(dir, 'sources', 'srvgg_x4.pth'));
  assert.equal(sha256(fs.readFileSync(r.sourcePath)), cat.models[0]?.sha256);
  assert.deepEqual(listing(dir), [
    'sources',
    path.join('sources', 'srvgg_x4.pth'),
    'test-srvgg-x4.json',
    'test-srvgg-x4.onnx',
  ]);
});

test('resume after a cut connection: the second request carries Range and the file hashes right', async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-cut', 'rrdbnet_x2.pth'));
  requests.length = 0;
  const r = await downloadModel('test-cut', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/cut/`,
    env: noProxyEnv,
    retryDelayMs: 10,
  });
  const mine = requests.filter((q) => q.url.startsWith('/cut/'));
  assert.ok(mine.length >= 2, `expected a retry, saw ${mine.length} request(s)`);
  assert.equal(mine[0]?.range, undefined);
  assert.match(mine[1]?.range ?? '', /^bytes=[1-9]\d*-$/, 'the retry asks for the rest');
  assert.ok(mine[1]?.ifRange, 'and says which file it is resuming (If-Range)');
  assert.ok(r.resumedBytes > 0);
  assert.equal(r.sha256, cat.models[0]?.sha256);
  assert.deepEqual(listing(dir), ['test-cut.json', 'test-cut.onnx']);
});

test('a .part left by an earlier attempt is resumed with Range (206), and a server that ignores Range (200) starts over', async () => {
  const bytes = fs.readFileSync(FILES['rrdbnet_x2.pth'] as string);
  for (const [mode, expectResumed] of [
    ['ok', true],
    ['norange', false],
  ] as const) {
    const dir = freshDir();
    const e = entry(`test-part-${mode}`, 'rrdbnet_x2.pth');
    const cat = catalogue(e);
    // What an interrupted earlier run leaves: a .part and its sidecar.
    const area = path.join(dir, DOWNLOAD_AREA);
    fs.mkdirSync(area);
    const part = path.join(area, `${e.id}-${e.fileName}.part`);
    fs.writeFileSync(part, bytes.subarray(0, 100_000));
    fs.writeFileSync(
      `${part}.json`,
      JSON.stringify({ url: `${base}/${mode}/example/releases/download/v1/rrdbnet_x2.pth`, sha256: e.sha256 }),
    );
    requests.length = 0;
    const r = await downloadModel(e.id, {
      modelsDir: dir,
      catalogue: cat,
      baseUrl: `${base}/${mode}/`,
      env: noProxyEnv,
    });
    assert.equal(requests[0]?.range, 'bytes=100000-');
    assert.equal(r.resumedBytes > 0, expectResumed, mode);
    assert.equal(r.sha256, e.sha256);
    assert.deepEqual(listing(dir), [`${e.id}.json`, `${e.id}.onnx`]);
  }
});

test('a wrong hash is refused: nothing registered, no files left', async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-badhash', 'rrdbnet_x2.pth', { sha256: 'a'.repeat(64) }));
  await assert.rejects(
    downloadModel('test-badhash', { modelsDir: dir, catalogue: cat, baseUrl: `${base}/ok/`, env: noProxyEnv }),
    (e: unknown) =>
      e instanceof DownloadError &&
      e.kind === 'hash' &&
      /SHA-256 [0-9a-f]{64}, but a{64} was published/.test(e.message) &&
      /refused/.test(e.message),
  );
  assert.deepEqual(listing(dir), []);
  assert.equal((await scanModels(path.join(dir, 'none'), dir)).models.length, 0);
});

test('a 404 fails with the URL in the message and a way to import by hand', async () => {
  const dir = freshDir();
  const cat = catalogue(
    entry('test-404', 'rrdbnet_x2.pth', { url: 'https://github.com/example/releases/download/v1/missing.pth' }),
  );
  await assert.rejects(
    downloadModel('test-404', { modelsDir: dir, catalogue: cat, baseUrl: `${base}/ok/`, env: noProxyEnv }),
    (e: unknown) =>
      e instanceof DownloadError &&
      e.kind === 'http' &&
      e.message.includes(`${base}/ok/example/releases/download/v1/missing.pth`) &&
      /404/.test(e.message) &&
      /Import Model/.test(e.message),
  );
  assert.deepEqual(listing(dir), []);
});

test('offline (nothing listening): a clear error with the URL and Import Model, after retries; no files left', async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-offline', 'rrdbnet_x2.pth'));
  await assert.rejects(
    downloadModel('test-offline', {
      modelsDir: dir,
      catalogue: cat,
      baseUrl: 'http://127.0.0.1:1/',
      env: noProxyEnv,
      retryDelayMs: 1,
    }),
    (e: unknown) =>
      e instanceof DownloadError &&
      e.kind === 'network' &&
      e.message.includes('http://127.0.0.1:1/example/releases/download/v1/rrdbnet_x2.pth') &&
      e.message.includes('https://github.com/example/releases/download/v1/rrdbnet_x2.pth') &&
      /Import Model/.test(e.message) &&
      /4 attempts/.test(e.message),
  );
  assert.deepEqual(listing(dir), []);
});

test('a slow download can be cancelled: it stops and leaves no files', { timeout: 30_000 }, async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-slow', 'rrdbnet_x2.pth'));
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    downloadModel('test-slow', {
      modelsDir: dir,
      catalogue: cat,
      baseUrl: `${base}/slow/`,
      env: noProxyEnv,
      signal: controller.signal,
      onProgress: (p) => {
        seen = p.bytesDone;
        if (p.bytesDone >= 4096) controller.abort();
      },
    }),
    (e: unknown) => e instanceof DownloadError && e.kind === 'cancelled',
  );
  assert.ok(seen >= 4096);
  // Stopped early: far from the whole file, and the connection is closed, not left to trickle on.
  assert.ok(seen < fs.statSync(FILES['rrdbnet_x2.pth'] as string).size / 2, `${seen} bytes seen`);
  const response = slowResponses.at(-1);
  assert.ok(response);
  if (!response.destroyed) await new Promise((resolve) => response.once('close', resolve));
  assert.ok(response.destroyed);
  assert.deepEqual(listing(dir), []);
});

test('a redirect (302 to another path) is followed; a redirect loop stops after 5', async () => {
  const dir = freshDir();
  const cat = catalogue(entry('test-redirect', 'srvgg_x4.pth', { scale: 4 }));
  requests.length = 0;
  const r = await downloadModel('test-redirect', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/redirect/`,
    env: noProxyEnv,
  });
  assert.equal(r.model.id, 'test-redirect');
  assert.deepEqual(
    requests.map((q) => q.url.split('/')[1]),
    ['redirect', 'ok'],
  );

  const dir2 = freshDir();
  const cat2 = catalogue(entry('test-loop', 'srvgg_x4.pth', { scale: 4 }));
  requests.length = 0;
  await assert.rejects(
    downloadModel('test-loop', { modelsDir: dir2, catalogue: cat2, baseUrl: `${base}/loop/`, env: noProxyEnv }),
    (e: unknown) => e instanceof DownloadError && /more than 5 redirects/.test(e.message),
  );
  assert.equal(requests.length, 6);
  assert.deepEqual(listing(dir2), []);
});

test('unverified entries need allowUnverified; manual-only entries say where to get the file', async () => {
  const dir = freshDir();
  const cat = catalogue(
    entry('test-unverified', 'swinir_lightweight_x4.safetensors', {
      family: 'swinir',
      scale: 4,
      sha256: null,
      hashSource: null,
      verified: false,
    }),
    entry('test-manual', 'rrdbnet_x2.pth', { url: null, manualUrl: 'https://drive.google.com/drive/folders/example' }),
  );
  await assert.rejects(
    downloadModel('test-unverified', { modelsDir: dir, catalogue: cat, baseUrl: `${base}/ok/`, env: noProxyEnv }),
    (e: unknown) => e instanceof DownloadError && e.kind === 'unverified' && /allowUnverified/.test(e.message),
  );
  assert.deepEqual(listing(dir), []);
  const r = await downloadModel('test-unverified', {
    modelsDir: dir,
    catalogue: cat,
    baseUrl: `${base}/ok/`,
    env: noProxyEnv,
    allowUnverified: true,
  });
  assert.equal(r.verified, false);
  assert.equal(r.model.scale, 4);
  await assert.rejects(
    downloadModel('test-manual', { modelsDir: dir, catalogue: cat, baseUrl: `${base}/ok/`, env: noProxyEnv }),
    (e: unknown) =>
      e instanceof DownloadError &&
      e.kind === 'manual' &&
      e.message.includes('https://drive.google.com/drive/folders/example'),
  );
});

test('through an HTTP proxy from HTTP_PROXY (the explicit proxy param wins over the environment)', async () => {
  const proxied: string[] = [];
  const proxy = http.createServer((req, res) => {
    proxied.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, path: target.pathname, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  try {
    // The server is on loopback, which bypasses proxies; reach it by another name for loopback.
    const viaName = base.replace('127.0.0.1', 'upscale-test.invalid');
    const dir = freshDir();
    const cat = catalogue(entry('test-proxy', 'srvgg_x4.pth', { scale: 4 }));
    const r = await downloadModel('test-proxy', {
      modelsDir: dir,
      catalogue: cat,
      baseUrl: `${viaName}/ok/`,
      env: { HTTP_PROXY: 'http://127.0.0.1:1' },
      proxy: proxyUrl,
    });
    assert.equal(r.model.id, 'test-proxy');
    assert.equal(proxied.length, 1);
    assert.ok(proxied[0]?.startsWith('http://upscale-test.invalid:'), 'absolute-form request target');
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});

// ---------------------------------------------------------------------------------------
// Through the daemon and the CLI ($UPSCALE_CATALOGUE points them at the local server)

function localCatalogueFile(entries: CatalogueEntry[]): string {
  const file = temp.file('catalogue.json');
  fs.writeFileSync(file, fixtureCatalogueJson(entries));
  return file;
}

test('CLI: upscale models download ID registers the model; models catalogue lists the shipped entries', async () => {
  const dir = freshDir();
  const builtin = freshDir();
  const e = entry('test-cli', 'srvgg_x4.pth', { scale: 4, url: `${base}/redirect/releases/srvgg_x4.pth` });
  const env = {
    UPSCALE_CATALOGUE: localCatalogueFile([e]),
    UPSCALE_MODELS_DIR: dir,
    UPSCALE_BUILTIN_DIR: builtin,
    HTTPS_PROXY: '',
    HTTP_PROXY: '',
  };
  const r = await runCli(['models', 'download', 'test-cli', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { model: { id: string; license: string }; verified: boolean; sha256: string };
  assert.equal(result.model.id, 'test-cli');
  assert.equal(result.model.license, 'BSD-3-Clause');
  assert.equal(result.sha256, e.sha256);
  assert.deepEqual(listing(dir), ['test-cli.json', 'test-cli.onnx']);

  const missing = await runCli(['models', 'download', 'nope'], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no model 'nope' in the catalogue/);

  const listed = await runCli(['models', 'catalogue', '--json'], { UPSCALE_CATALOGUE: '' });
  assert.equal(listed.code, 0, listed.stderr);
  const ids = (JSON.parse(listed.stdout) as { id: string }[]).map((m) => m.id);
  assert.ok(ids.includes('realesrgan-x4plus-anime-6b'));
});

test('daemon: models/download sends $/downloadProgress and stops on $/cancelRequest, leaving no files', async () => {
  const dir = freshDir();
  const e = entry('test-daemon-slow', 'rrdbnet_x2.pth', { url: `${base}/slow/releases/rrdbnet_x2.pth` });
  const env = {
    ...process.env,
    UPSCALE_CATALOGUE: localCatalogueFile([e]),
    UPSCALE_BUILTIN_DIR: freshDir(),
    HTTPS_PROXY: '',
    HTTP_PROXY: '',
  };
  const daemon = spawnDaemon(process.execPath, [ENTRY_JS, 'daemon'], { env });
  try {
    await daemon.connection.request(Requests.initialize, { clientName: 'test', modelsFolder: dir });
    const job = daemon.connection.start(Requests.modelsDownload, { id: e.id });
    const progress: number[] = [];
    daemon.connection.on(Notifications.downloadProgress, (p) => {
      assert.equal(p.requestId, job.id);
      progress.push(p.bytesDone);
      if (p.bytesDone >= 4096 && progress.length < 1000) daemon.connection.cancel(job.id);
    });
    await assert.rejects(job.result, (err: unknown) => (err as { errorName?: string }).errorName === 'Cancelled');
    assert.ok(progress.some((b) => b > 0));
    assert.deepEqual(listing(dir), []);
  } finally {
    await daemon.connection.request(Requests.shutdown, {}).catch(() => undefined);
    daemon.connection.notify(Notifications.exit, {});
    await daemon.exited;
  }
});

test('models/catalogue: clients get the catalogue the daemon downloads from; an id not in it is ModelNotFound', async () => {
  const e = entry('test-daemon-listed', 'srvgg_x4.pth', { url: `${base}/ok/srvgg_x4.pth` });
  const env = { ...process.env, UPSCALE_CATALOGUE: localCatalogueFile([e]), UPSCALE_BUILTIN_DIR: freshDir() };
  const daemon = spawnDaemon(process.execPath, [ENTRY_JS, 'daemon'], { env });
  try {
    await daemon.connection.request(Requests.initialize, { clientName: 'test', modelsFolder: freshDir() });
    const { models } = await daemon.connection.request(Requests.modelsCatalogue, {});
    assert.deepEqual(models, [e]);
    await assert.rejects(
      daemon.connection.request(Requests.modelsDownload, { id: 'not-listed' }),
      (err: unknown) =>
        err instanceof DaemonError &&
        err.errorName === 'ModelNotFound' &&
        /known: test-daemon-listed/.test(err.message),
    );
  } finally {
    await daemon.connection.request(Requests.shutdown, {}).catch(() => undefined);
    daemon.connection.notify(Notifications.exit, {});
    await daemon.exited;
  }
});

test('CONNECT tunnelling (how https goes through a proxy): the tunnel reaches the server, a refusal is reported', async () => {
  const connects: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    connects.push(`${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
    if (req.url?.startsWith('blocked.invalid')) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const port = Number(req.url?.split(':').pop());
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = new URL(`http://user:p%40ss@127.0.0.1:${(proxy.address() as net.AddressInfo).port}`);
  try {
    const port = Number(new URL(base).port);
    const socket = await connectTunnel(proxyUrl, 'upscale-test.invalid', port);
    const body = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('GET /ok/srvgg_x4.pth HTTP/1.1\r\nHost: upscale-test.invalid\r\nConnection: close\r\n\r\n');
    });
    assert.match(body, /^HTTP\/1\.1 200/);
    assert.equal(connects[0], `upscale-test.invalid:${port} Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    await assert.rejects(
      connectTunnel(proxyUrl, 'blocked.invalid', 443),
      /refused to connect to blocked\.invalid:443: HTTP 403/,
    );
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});
