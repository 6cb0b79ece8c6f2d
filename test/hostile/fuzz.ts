// The protocol fuzzer: 10,000+ malformed or random messages from a seeded PRNG, sent at a
// bounded rate (a sync request every BATCH messages must be answered before more are
// sent) to a fresh real daemon; then a valid job must succeed and the daemon's RSS must
// not grow over the second half of the messages by more than 10%.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { frame } from '../../contract/rpc/framing';
import { ErrorCode } from '../../contract/errors';
import { CheckFailed, Prng, RawDaemon, check, countCrash, dir, ensure, note, rssBytes, sleep, tally } from './harness';
import { noisePng } from './craft';

const COUNT = Number(process.env.HOSTILE_FUZZ_COUNT ?? 10000);
const BATCH = 100;
const C = 'protocol fuzzer';

/** Methods the fuzzer may call; `exit` and `shutdown` end the session by design, so they are not fuzzed. */
const METHODS = [
  'initialize',
  'models/list',
  'models/load',
  'models/unload',
  'models/import',
  'upscale',
  '$/cancelRequest',
];
const FIELDS: Record<string, string[]> = {
  initialize: ['clientName', 'provider', 'modelsFolder', 'maxInputPixels', 'maxOutputPixels'],
  'models/list': [],
  'models/load': ['id'],
  'models/unload': ['id'],
  'models/import': ['path', 'activation'],
  upscale: [
    'input',
    'output',
    'template',
    'model',
    'scale',
    'width',
    'height',
    'fit',
    'tile',
    'overlap',
    'format',
    'quality',
    'alpha',
    'overwrite',
    'previewWidth',
  ],
  '$/cancelRequest': ['id'],
};

function weird(rng: Prng, fuzzDir: string): unknown {
  const pool: Array<() => unknown> = [
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1.5,
    () => -0,
    () => 1e308,
    () => -1e308,
    () => 2 ** 53 + 1,
    () => rng.int(100000) - 50000,
    () => '',
    () => 'x',
    () => 'relative/path.png',
    () => '/',
    () => '/dev/null',
    () => `${fuzzDir}/nope-${rng.int(1000)}.png`,
    () => `${fuzzDir}/`,
    () => `${fuzzDir}/a\u0000b.png`,
    () => '../../etc/passwd',
    () => '\u202e\ud800',
    () => 'é'.repeat(rng.int(300)),
    () => 'a'.repeat(5000),
    () => [],
    () => [1, 2, 3],
    () => ({}),
    () => ({ nested: { deeper: [null] } }),
    () => '{name}/../{ext}',
    () => 'cpu',
    () => 'cover',
    () => 'png',
    () => 'model',
    () => 'realesr-general-x4v3',
    () => '__proto__',
    () => ({ __proto__: { polluted: true } }),
    () => 'constructor',
  ];
  return rng.pick(pool)();
}

function randomId(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => rng.int(1e9),
    () => `f${rng.int(1e6)}`,
    () => null,
    () => 1.25,
    () => true,
    () => [],
    () => ({}),
    () => ({ id: 1 }),
    () => -7,
    () => '',
  ])();
}

function deep(depth: number, open: string, close: string, inner = '0'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

interface Generated {
  readonly kind: string;
  readonly bytes: Buffer;
}

export function generate(rng: Prng, i: number, fuzzDir: string): Generated {
  const envelope = (obj: unknown): Buffer => frame(JSON.stringify(obj));
  // A few enormous messages at fixed positions, so every seed has them.
  if (i % 2000 === 1000) {
    const big = 'A'.repeat(10 * 1024 * 1024);
    const which = (i / 2000) % 3;
    const params = which < 1 ? { input: `/${big}` } : which < 2 ? { clientName: big } : { [big.slice(0, 4096)]: big };
    return {
      kind: 'enormous string (10 MB)',
      bytes: envelope({
        jsonrpc: '2.0',
        id: `big${i}`,
        method: which < 2 && which >= 1 ? 'initialize' : 'upscale',
        params,
      }),
    };
  }
  if (i % 2500 === 1250) {
    const entries = Array.from({ length: 20000 }, (_, k) => ({
      jsonrpc: '2.0',
      id: k,
      method: k % 2 ? 'no/such' : 'models/list',
      params: k % 3 ? {} : [],
    }));
    return { kind: 'huge batch (20,000 requests)', bytes: envelope(entries) };
  }
  if (i % 2500 === 1750) {
    return {
      kind: 'deeply nested JSON (100,000 levels)',
      bytes: frame(`{"jsonrpc":"2.0","id":"deep${i}","method":"upscale","params":{"input":${deep(100000, '[', ']')}}}`),
    };
  }
  const r = rng.int(20);
  switch (r) {
    case 0: {
      const valid = JSON.stringify({ jsonrpc: '2.0', id: i, method: rng.pick(METHODS), params: {} });
      const cut = valid.slice(0, rng.int(valid.length));
      return {
        kind: 'invalid JSON',
        bytes: frame(rng.int(2) ? cut : `${cut}${String.fromCharCode(rng.int(128))}${valid.slice(cut.length + 1)}`),
      };
    }
    case 1:
    case 2: {
      const method = rng.pick(METHODS);
      const fields = FIELDS[method] ?? [];
      const params: Record<string, unknown> = {};
      for (let k = rng.int(4); k > 0; k--)
        params[fields.length && rng.int(5) ? rng.pick(fields) : `f${rng.int(10)}`] = weird(rng, fuzzDir);
      return {
        kind: 'wrong types',
        bytes: envelope({
          jsonrpc: '2.0',
          id: randomId(rng),
          method,
          params: rng.int(8) ? params : weird(rng, fuzzDir),
        }),
      };
    }
    case 3: {
      const variants: unknown[] = [
        { id: i, method: 'models/list' },
        { jsonrpc: '2.0', id: i },
        { jsonrpc: '1.0', id: i, method: 'models/list' },
        { jsonrpc: '2.0', id: i, method: 'upscale', params: {} },
        { jsonrpc: '2.0', id: i, method: 'models/import' },
        { jsonrpc: '2.0', id: i, method: 'models/load', params: {} },
        { jsonrpc: 2, id: i, method: 'models/list' },
        { jsonrpc: '2.0', id: i, method: null },
        { jsonrpc: '2.0', id: i, result: 1 },
        { jsonrpc: '2.0', id: i, error: { code: 1 } },
        {},
        [],
        null,
        0,
        'string',
        true,
      ];
      return { kind: 'missing fields', bytes: envelope(rng.pick(variants)) };
    }
    case 4: {
      const n = rng.pick([
        '99999999999',
        '17000000',
        '16777217',
        String(2 ** 53),
        '1e9',
        '0x10',
        '4294967296',
        '99999999999999999999999',
      ]);
      return {
        kind: 'huge Content-Length',
        bytes: Buffer.from(`Content-Length: ${n}\r\n\r\n{"jsonrpc":"2.0","id":${i},"method":"models/list"}`),
      };
    }
    case 5: {
      const n = rng.pick(['-1', '-17', '-99999999999', '- 5', '−3']);
      return {
        kind: 'negative Content-Length',
        bytes: Buffer.from(`Content-Length: ${n}\r\n\r\n{"jsonrpc":"2.0","id":${i},"method":"models/list"}`),
      };
    }
    case 6: {
      const body = JSON.stringify({ jsonrpc: '2.0', id: i, method: 'models/list' });
      const claimed = Buffer.byteLength(body) + 1 + rng.int(24);
      return { kind: 'partial frame', bytes: Buffer.from(`Content-Length: ${claimed}\r\n\r\n${body}`) };
    }
    case 7: {
      const headers = rng.pick([
        'Content-Type: application/json\r\n\r\n{}',
        'Content-Length: 2\nContent-Length: 3\n\n{}',
        'content-length:2\r\ncontent-length: 9\r\n\r\n{}',
        'Content-Length: 2\r\n\r\n{}Content-Length: 5\r\n\r\n[1,2]',
        `X-${'h'.repeat(9000)}: 1\r\n\r\n`,
        '\r\n\r\n\r\n\r\n',
        'Content-Length: \r\n\r\n',
      ]);
      return { kind: 'odd headers', bytes: Buffer.from(headers) };
    }
    case 8: {
      const method = rng.pick([
        'no/such',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'rpc.discover',
        '$/progress',
        '$/log',
        'Upscale',
        'upscale ',
        '',
        'models/',
        'models/list/x',
      ]);
      return { kind: 'unknown method', bytes: envelope({ jsonrpc: '2.0', id: i, method, params: {} }) };
    }
    case 9: {
      const size = rng.pick([0, 0, 1, 2, 5, 50, 500]);
      const entries = Array.from({ length: size }, (_, k) =>
        rng.pick<unknown>([
          null,
          1,
          'x',
          [],
          { jsonrpc: '2.0', id: `${i}-${k}`, method: 'models/list' },
          { jsonrpc: '2.0', method: 'models/list' },
          { jsonrpc: '2.0', id: `${i}-${k}`, method: 'no/such' },
          { jsonrpc: '2.0', id: `${i}-${k}`, method: 'upscale', params: { input: `${fuzzDir}/none.png` } },
        ]),
      );
      return { kind: size === 0 ? 'empty batch' : 'batch', bytes: envelope(entries) };
    }
    case 10: {
      const method = rng.pick(['$/cancelRequest', '$/progress', '$/log', 'models/list']);
      return {
        kind: 'notification with an id',
        bytes: envelope({ jsonrpc: '2.0', id: randomId(rng), method, params: { id: randomId(rng) } }),
      };
    }
    case 11: {
      const method = rng.pick(METHODS);
      return {
        kind: 'notification (no id)',
        bytes: envelope({
          jsonrpc: '2.0',
          method,
          params: { id: `x${i}`, input: `${fuzzDir}/none.png`, path: `${fuzzDir}/none.pth` },
        }),
      };
    }
    case 12: {
      const depth = rng.pick([100, 1000, 5000]);
      const where = rng.int(3);
      const text =
        where === 0
          ? `{"jsonrpc":"2.0","id":${deep(depth, '[', ']')},"method":"models/list"}`
          : where === 1
            ? `{"jsonrpc":"2.0","id":${i},"method":"upscale","params":${deep(depth, '{"a":', '}')}}`
            : deep(depth, '[', ']');
      return { kind: 'deeply nested JSON', bytes: frame(text) };
    }
    case 13:
      return { kind: 'random bytes (unframed)', bytes: rng.bytes(1 + rng.int(2000)) };
    case 14:
      return { kind: 'random bytes (framed)', bytes: frame(rng.bytes(1 + rng.int(2000)).toString('latin1')) };
    case 15: {
      const id = randomId(rng);
      return { kind: 'odd ids', bytes: envelope({ jsonrpc: '2.0', id, method: 'models/list', params: {} }) };
    }
    case 16: {
      const params = {
        input: rng.pick([`${fuzzDir}/none.png`, `${fuzzDir}`, `${fuzzDir}/x/../none.png`]),
        scale: rng.pick([0.5, 1, 2, 4, 64]),
        tile: rng.pick([0, 32, 8192]),
        overwrite: rng.int(2) === 0,
      };
      return {
        kind: 'plausible upscale of a missing file',
        bytes: envelope({ jsonrpc: '2.0', id: `u${i}`, method: 'upscale', params }),
      };
    }
    case 17: {
      const method = rng.pick(['models/load', 'models/unload']);
      return {
        kind: 'load/unload unknown models',
        bytes: envelope({
          jsonrpc: '2.0',
          id: `m${i}`,
          method,
          params: { id: rng.pick(['nope', 'realesr-general-x4v3x', '../x', 'a'.repeat(200)]) },
        }),
      };
    }
    case 18: {
      const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'models/list' }));
      const bad = Buffer.concat([body.subarray(0, 10), Buffer.from([0xff, 0xfe, 0xc0, 0x80]), body.subarray(10)]);
      return {
        kind: 'invalid UTF-8',
        bytes: Buffer.concat([Buffer.from(`Content-Length: ${bad.length}\r\n\r\n`), bad]),
      };
    }
    default: {
      const cancel = {
        jsonrpc: '2.0',
        method: '$/cancelRequest',
        params: { id: rng.pick<unknown>([i, `u${i - 1}`, null, {}, 'x'.repeat(300)]) },
      };
      return { kind: 'cancel of unknown or bad ids', bytes: envelope(cancel) };
    }
  }
}

async function sync(d: RawDaemon, n: number): Promise<boolean> {
  for (let attempt = 0; attempt < 8 && d.alive; attempt++) {
    const { reply } = d.request('models/list', {}, `sync-${n}-${attempt}`);
    const r = await Promise.race([reply, sleep(attempt < 2 ? 3000 : 15000).then(() => null)]);
    if (r && !r.error) return true;
  }
  return false;
}

export async function fuzz(seed: number, modelsDir: string): Promise<void> {
  // Its own generator, so the messages depend on the seed alone, not on the other categories.
  const rng = new Prng(seed ^ 0x5eed);
  const fuzzDir = dir('fuzz');
  const input = path.join(fuzzDir, 'valid.png');
  fs.writeFileSync(input, await noisePng(rng, 48, 40));
  const d = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
  const t = tally(C);
  const kinds = new Map<string, number>();
  try {
    await check(C, 'warm-up: initialize and a valid job', async () => {
      ensure(!(await d.call('initialize', { clientName: 'fuzz' })).error, 'initialize failed');
      const r = await d.call('upscale', { input, output: fuzzDir, overwrite: true });
      ensure(!r.error, `the warm-up job failed: ${r.error?.message}`);
    });
    // The warm-up also runs every code path once (1,500 messages of another seed, and one of
    // each enormous kind), so that the baseline holds compiled code and grown pools and the
    // comparison measures what the 10,000 messages leave behind.
    await check(C, 'warm-up: 1,500 fuzz messages of another seed', async () => {
      const warm = new Prng(seed ^ 0xa11ce);
      for (let i = 0; i < 1500; i++) await d.writeRaw(generate(warm, i, fuzzDir).bytes);
      for (const i of [1000, 1250, 1750]) await d.writeRaw(generate(warm, i, fuzzDir).bytes);
      ensure(await sync(d, -1), 'no answer after the warm-up');
    });
    // RSS after the same initialize and valid job the end of the fuzz runs, and a rest.
    const settledRss = async (): Promise<number> => {
      ensure(
        !(
          await d.call('initialize', {
            clientName: 'fuzz',
            modelsFolder: modelsDir,
            maxInputPixels: 200_000_000,
            maxOutputPixels: 400_000_000,
          })
        ).error,
        'initialize failed',
      );
      ensure(!(await d.call('upscale', { input, output: fuzzDir, overwrite: true })).error, 'a valid job failed');
      await sleep(4000);
      return rssBytes(d.pid);
    };
    const half = Math.floor(COUNT / 2);
    let halfway = 0;
    const warmedRss = rssBytes(d.pid);

    await check(C, `${COUNT} malformed or random messages; the daemon keeps answering`, async () => {
      for (let i = 0; i < COUNT; i++) {
        const g = generate(rng, i, fuzzDir);
        kinds.set(g.kind, (kinds.get(g.kind) ?? 0) + 1);
        t.tried++;
        await d.writeRaw(g.bytes);
        if (!d.alive) throw new CheckFailed(`the daemon died after message ${i} (${g.kind})`);
        if ((i + 1) % BATCH === 0 && !(await sync(d, i)))
          throw new CheckFailed(`the daemon stopped answering after message ${i} (${g.kind})`);
        if (i + 1 === half) halfway = await settledRss();
      }
      ensure(await sync(d, COUNT), 'no answer after the last message');
    });
    process.stdout.write(
      `  inputs by kind: ${[...kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}\n`,
    );
    process.stdout.write(
      `  responses: ${d.responses}; by error code: ${[...d.errorCodes]
        .sort((a, b) => a[0] - b[0])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}; $/log notifications ${d.logs}\n`,
    );
    t.expectedErrors += [...d.errorCodes].filter(([c]) => c !== ErrorCode.InternalError).reduce((n, [, k]) => n + k, 0);

    await check(C, 'no internal errors (-32603): every bad message gets a specific code', async () => {
      const internal = d.errorCodes.get(ErrorCode.InternalError) ?? 0;
      if (internal > 0 && process.env.HOSTILE_DEBUG) fs.writeFileSync(process.env.HOSTILE_DEBUG, d.stderr.join(''));
      ensure(
        internal === 0,
        `${internal} internal errors; daemon log: ${d.stderr
          .join('')
          .split('\n')
          .filter((l) => /internal error/.test(l))
          .slice(0, 3)
          .join(' | ')
          .slice(0, 500)}`,
      );
    });

    await check(C, 'after the fuzz: initialize with the defaults again, then a valid job succeeds', async () => {
      ensure(
        !(
          await d.call('initialize', {
            clientName: 'fuzz',
            modelsFolder: modelsDir,
            maxInputPixels: 200_000_000,
            maxOutputPixels: 400_000_000,
          })
        ).error,
        'initialize failed',
      );
      const r = await d.call('upscale', { input, output: fuzzDir, overwrite: true });
      ensure(!r.error, `the job failed: ${r.error?.message}`);
    });

    // A leak grows with the messages; what the allocators keep grows once, while pools fill
    // (against RSS right after the warm-up, same-seed runs ranged 0.4% to 20% for that
    // reason). So the second half of the messages may add at most 10% to what the first
    // half left: a leak of about 4 KB a message (10% of ~190 MiB over 5,000) or more fails.
    await check(C, `RSS after ${COUNT} messages within 10% of RSS after ${half}`, async () => {
      ensure(halfway > 0, `no RSS was taken after message ${half}`);
      let after = 0;
      for (let k = 0; k < 15; k++) {
        await sleep(1000);
        after = rssBytes(d.pid);
        if (after <= halfway * 1.1) break;
      }
      const mb = (b: number): string => (b / 1048576).toFixed(1);
      process.stdout.write(
        `  RSS: after the warm-up ${mb(warmedRss)} MiB, after ${half} messages ${mb(halfway)} MiB, after ${COUNT} ${mb(after)} MiB (${(((after - halfway) / halfway) * 100).toFixed(1)}% over the first half)\n`,
      );
      ensure(
        after <= halfway * 1.1,
        `RSS grew from ${mb(halfway)} to ${mb(after)} MiB over messages ${half + 1} to ${COUNT}`,
      );
    });
    await check(C, 'the fuzzed daemon shuts down cleanly (exit 0)', async () => {
      await d.stop();
      ensure(d.exitInfo?.code === 0, `exit ${JSON.stringify(d.exitInfo)}`);
    });
    const left = fs.readdirSync(fuzzDir).filter((n) => n !== 'valid.png' && n !== 'valid@4x.png');
    if (left.length) note(`files in the fuzz folder after the fuzz: ${left.join(', ')}`);
  } finally {
    countCrash(d, !d.alive && d.exitInfo?.code === 0);
    if (d.alive) d.process.kill('SIGKILL');
  }
}
