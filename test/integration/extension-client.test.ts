// The extension's daemon supervisor (extension/client.ts) against the real daemon binary
// over real stdio: lazy start, a job with progress, cancel, the daemon killed mid-job
// (the job fails clearly, the daemon comes back, the next job works), the crash-loop limit.
// Then the commands themselves, through a stand-in vscode module, on the same daemon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../fixtures';
import sharp from 'sharp';
import type { LogLevel, ProgressParams } from '../../contract/protocol';
import { DaemonClient, DaemonCrashedError, type DaemonState } from '../../extension/client';
import { isCancelled } from '../../contract/errors';
import { DEFAULTS, type UpscaleSettings } from '../../extension/config';
import { outputNameOf } from '../../extension/output-name';
import type { Target } from '../../contract/vocabulary';
import { daemonLaunch } from '../../extension/daemon-launch';
import { upscaleParams } from '../../extension/job-params';
import { RestartPolicy } from '../../extension/restart-policy';
import { fakeContext, installFakeVscode, type Shown } from '../desktop/fake-vscode';
import { createRequire } from 'node:module';
import { writeTinySafetensors } from '../srvgg-leaky';

/** The compiled daemon beside this compiled test (out/daemon/upscale.js in `npm test`). */
const DAEMON_ENTRY = path.join(__dirname, '..', '..', 'daemon', 'upscale.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'upscale-ext-client-'));
const modelsDir = path.join(work, 'models');

async function image(name: string, width: number, height: number): Promise<string> {
  const file = path.join(work, name);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = (x + y) % 8 < 4 ? 40 : 220;
    }
  // The format follows the file name's extension.
  await sharp(data, { raw: { width, height, channels: 3 } }).toFile(file);
  return file;
}

interface Harness {
  readonly client: DaemonClient;
  readonly logs: string[];
  readonly states: DaemonState[];
}

function harness(
  policy = new RestartPolicy({ maxCrashes: 5, windowMs: 180_000, baseDelayMs: 20, maxDelayMs: 100 }),
): Harness {
  const logs: string[] = [];
  const states: DaemonState[] = [];
  const client = new DaemonClient({
    // The extension's own launch description, with this checkout's compiled daemon.
    launch: () => {
      const l = daemonLaunch(
        {
          extensionPath: work,
          execPath: process.execPath,
          platform: process.platform,
          isElectron: false,
          env: process.env,
          homedir: os.homedir(),
        },
        { ...DEFAULTS, executionProvider: 'cpu', modelsFolder: modelsDir },
      );
      return { ...l, args: [DAEMON_ENTRY, 'daemon'] };
    },
    log: (level: LogLevel, message: string) => logs.push(`${level}: ${message}`),
    policy,
    stopTimeoutMs: 5000,
  });
  client.onState((s) => states.push(s));
  return { client, logs, states };
}

/** The running state's reason, which names what the daemon measured or was asked; '' in any other state. */
function runningWhy(client: DaemonClient): string {
  return client.state.kind === 'running' ? client.state.why : '';
}

function waitFor(client: DaemonClient, predicate: (s: DaemonState) => boolean, what: string): Promise<DaemonState> {
  if (predicate(client.state)) return Promise.resolve(client.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out waiting for ${what}; state ${JSON.stringify(client.state)}`));
    }, 60_000);
    const sub = client.onState((s) => {
      if (!predicate(s)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(s);
    });
  });
}

/** Files next to `input` that a job on it made: results and the daemon's hidden `.name….partial` temp files. */
const outputsBeside = (input: string) =>
  fs
    .readdirSync(path.dirname(input))
    .filter((f) => f.replace(/^\./, '').startsWith(path.parse(input).name) && f !== path.basename(input));

before(() => fs.mkdirSync(modelsDir, { recursive: true }));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('starts lazily, runs a job with tile progress, and stops cleanly', async () => {
  const { client, logs, states } = harness();
  assert.equal(client.state.kind, 'stopped');
  assert.equal(client.pid, undefined, 'nothing starts before the first request');
  const input = await image('progress.png', 80, 64);
  const progress: ProgressParams[] = [];
  const r = await client.upscale(
    upscaleParams(input, path.dirname(input), { target: { kind: 'scale', scale: 4 } }, { ...DEFAULTS, tileSize: 32 }),
    {
      onProgress: (p) => progress.push(p),
    },
  );
  assert.equal(r.outputPath, path.join(work, 'progress@4x.png'));
  assert.deepEqual([r.width, r.height], [320, 256]);
  const meta = await sharp(r.outputPath).metadata();
  assert.deepEqual([meta.width, meta.height], [320, 256]);
  const tiles = progress.filter((p) => p.stage === 'infer' && p.total > 1);
  assert.ok(
    tiles.length >= 2,
    `tile progress events: ${JSON.stringify(progress.map((p) => [p.stage, p.done, p.total]))}`,
  );
  assert.equal(tiles.at(-1)?.done, tiles.at(-1)?.total);
  assert.ok(
    states.some((s) => s.kind === 'running' && s.jobs === 1),
    'busy while the job ran',
  );
  assert.deepEqual(client.state, { kind: 'running', provider: 'cpu', why: runningWhy(client), jobs: 0 });
  assert.match(runningWhy(client), /fp16 (available|unavailable)/);
  assert.ok(
    logs.some((l) => /daemon .* ready; running models on cpu \(.+\); fp16 (available|unavailable)/.test(l)),
    logs.join('\n'),
  );
  const pid = Number(client.pid);
  await client.dispose();
  assert.equal(client.state.kind, 'stopped');
  assert.throws(() => process.kill(pid, 0), 'the daemon process is gone');
});

test('cancel sends $/cancelRequest; the job rejects as cancelled and leaves no output', async () => {
  const { client } = harness();
  try {
    const input = await image('cancel.png', 256, 256);
    const controller = new AbortController();
    const job = client.upscale(
      upscaleParams(input, path.dirname(input), { target: { kind: 'scale', scale: 4 } }, { ...DEFAULTS, tileSize: 32 }),
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'infer' && p.done >= 1) controller.abort();
        },
      },
    );
    await assert.rejects(job, (e: unknown) => isCancelled(e));
    assert.deepEqual(outputsBeside(input), [], 'no output and no temp file');
    // The daemon is still there and idle.
    assert.deepEqual(client.state, { kind: 'running', provider: 'cpu', why: runningWhy(client), jobs: 0 });
  } finally {
    await client.dispose();
  }
});

test('daemon killed mid-job: the job fails with a clear message, the daemon restarts, the next job succeeds', async () => {
  const { client, logs, states } = harness();
  try {
    const input = await image('killed.png', 256, 256);
    await client.start();
    const firstPid = client.pid as number;
    const job = client.upscale(
      upscaleParams(input, path.dirname(input), { target: { kind: 'scale', scale: 4 } }, { ...DEFAULTS, tileSize: 32 }),
      {
        onProgress: (p) => {
          if (p.stage === 'infer' && p.done === Math.ceil(p.total * 0.75)) process.kill(firstPid, 'SIGKILL');
        },
      },
    );
    await assert.rejects(job, (e: unknown) => {
      assert.ok(e instanceof DaemonCrashedError, String(e));
      assert.match(
        e.message,
        /^the Upscale daemon was killed by SIGKILL while upscaling .*killed\.png; the job did not finish and left no output\. See the Upscale log\.$/,
      );
      return true;
    });
    await waitFor(client, (s) => s.kind === 'running', 'the restarted daemon');
    assert.ok(
      states.some((s) => s.kind === 'restarting'),
      'went through restarting',
    );
    assert.notEqual(client.pid, firstPid);
    assert.ok(
      logs.some((l) => /^error: the Upscale daemon was killed by SIGKILL unexpectedly/.test(l)),
      logs.join('\n'),
    );
    assert.deepEqual(outputsBeside(input), [], 'the killed job left no output');
    const small = await image('after-restart.png', 40, 30);
    const r = await client.upscale(
      upscaleParams(small, path.dirname(small), { target: { kind: 'scale', scale: 2 } }, DEFAULTS),
    );
    assert.deepEqual([r.width, r.height], [80, 60]);
  } finally {
    await client.dispose();
  }
});

test('daemon killed while writing: no temporary file is left behind', async () => {
  const { client } = harness();
  try {
    const input = await image('encoding.png', 200, 160);
    await client.start();
    const pid = Number(client.pid);
    const job = client.upscale(
      upscaleParams(input, path.dirname(input), { target: { kind: 'scale', scale: 4 } }, DEFAULTS),
      {
        onProgress: (p) => {
          if (p.stage === 'encode') process.kill(pid, 'SIGKILL');
        },
      },
    );
    await assert.rejects(job, DaemonCrashedError);
    assert.deepEqual(outputsBeside(input), []);
  } finally {
    await client.dispose();
  }
});

/** A 2×2 24-bit BMP: sharp writes none. */
function writeBmp(file: string): void {
  const bytes = Buffer.alloc(54 + 2 * 8);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(2, 18);
  bytes.writeInt32LE(2, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  bytes.fill(0x80, 54);
  fs.writeFileSync(file, bytes);
}

test('output names come from the daemon (a dry run of the job): template, scale, format, fields', async () => {
  const { client } = harness();
  try {
    fs.mkdirSync(path.join(work, 'naming'), { recursive: true });
    const model = 'realesr-general-x4v3';
    const nameOf = async (file: string, target: Target, settings: Partial<UpscaleSettings> = {}) =>
      outputNameOf(
        client,
        { input: file, outputFolder: path.dirname(file) },
        { model, target },
        { ...DEFAULTS, ...settings },
      );
    const photo = await image('naming/photo.png', 100, 50);
    assert.equal(await nameOf(photo, { kind: 'scale', scale: 4 }), 'photo@4x.png');
    assert.equal(
      await nameOf(await image('naming/photo.JPEG', 20, 10), { kind: 'scale', scale: 2.5 }),
      'photo@2.5x.jpg',
    );
    assert.equal(
      await nameOf(await image('naming/scan.tiff', 20, 10), { kind: 'scale', scale: 4 / 3 }),
      'scan@1.33x.tif',
    );
    // Formats the daemon cannot write become png; an explicit format wins.
    assert.equal(await nameOf(await image('naming/anim.gif', 20, 10), { kind: 'scale', scale: 2 }), 'anim@2x.png');
    const bmp = path.join(work, 'naming', 'old.bmp');
    writeBmp(bmp);
    assert.equal(await nameOf(bmp, { kind: 'scale', scale: 2 }), 'old@2x.png');
    assert.equal(await nameOf(photo, { kind: 'scale', scale: 2 }, { outputFormat: 'webp' }), 'photo@2x.webp');
    // Width, height and model fields, for scale and size targets.
    const fields = { outputNameTemplate: '{name}_{width}x{height}_{model}.{ext}' };
    assert.equal(await nameOf(photo, { kind: 'scale', scale: 4 }, fields), `photo_400x200_${model}.png`);
    assert.equal(
      await nameOf(photo, { kind: 'size', width: 1920, height: 1080 }, fields),
      `photo_1920x1080_${model}.png`,
    );
    assert.equal(await nameOf(photo, { kind: 'size', width: 300 }, fields), `photo_300x150_${model}.png`);
    assert.equal(await nameOf(photo, { kind: 'size', height: 100 }), 'photo@2x.png');
    // The daemon's clash rule too: an existing result gets " (2)".
    fs.writeFileSync(path.join(work, 'naming', 'photo@3x.png'), '');
    assert.equal(await nameOf(photo, { kind: 'scale', scale: 3 }), 'photo@3x (2).png');
  } finally {
    await client.dispose();
  }
});

test('crash loop: after 5 crashes in the window the daemon stays down until Restart Daemon', async () => {
  const { client, logs } = harness();
  try {
    for (let i = 1; i <= 5; i++) {
      await client.start();
      const pid = client.pid as number;
      process.kill(pid, 'SIGKILL');
      if (i < 5) await waitFor(client, (s) => s.kind === 'restarting', `restart ${i}`);
    }
    const failed = await waitFor(client, (s) => s.kind === 'failed', 'the crash-loop stop');
    assert.match(
      failed.kind === 'failed' ? failed.reason : '',
      /crashed 5 times in the last 3 minutes; it will not be restarted automatically/,
    );
    await assert.rejects(client.start(), /crashed 5 times .*Run "Upscale: Restart Daemon" to try again\./);
    await assert.rejects(client.listModels(), /Restart Daemon/);
    assert.ok(logs.some((l) => /^error: the Upscale daemon crashed 5 times/.test(l)));
    // The user's Restart Daemon gives a fresh start.
    const init = await client.restart();
    assert.equal(init.activeProvider, 'cpu');
    assert.ok((await client.listModels()).some((m) => m.id === 'realesr-general-x4v3'));
  } finally {
    await client.dispose();
  }
});

test('import model: a fixture model is imported and listed; a non-model is refused naming the file', async () => {
  const { client } = harness();
  try {
    const bad = path.join(work, 'nothing.onnx');
    fs.writeFileSync(bad, 'not a model');
    await assert.rejects(client.importModel({ path: bad }), (e: unknown) => {
      assert.match((e as Error).message, /nothing\.onnx/);
      return true;
    });
    const { model, warnings } = await client.importModel({
      path: path.join(FIXTURES_DIR, 'arch', 'srvgg_x4', 'srvgg_x4.safetensors'),
    });
    assert.deepEqual(warnings, [], 'PReLU weights say their activation');
    assert.deepEqual([model.activation, model.activationSource], ['prelu', 'weights']);
    assert.equal(model.scale, 4);
    assert.equal(model.family, 'real-esrgan');
    assert.ok((await client.listModels()).some((m) => m.id === model.id && m.source === 'user'));
  } finally {
    await client.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// The commands, as a user runs them, through a stand-in vscode (no VS Code can run here).

const fake = installFakeVscode();
const extension = createRequire(__filename)('../../extension/extension') as typeof import('../../extension/extension');

/** An extension folder whose dist/upscale.js is this checkout's compiled daemon. */
function extensionFolder(): string {
  const dir = path.join(work, 'ext');
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  if (!fs.existsSync(path.join(dir, 'dist', 'upscale.js')))
    fs.symlinkSync(DAEMON_ENTRY, path.join(dir, 'dist', 'upscale.js'));
  return dir;
}

async function withExtension(
  run: (command: (id: string, ...args: unknown[]) => Promise<unknown>) => Promise<void>,
): Promise<void> {
  fake.reset();
  Object.assign(fake.config, { executionProvider: 'cpu', modelsFolder: modelsDir, tileSize: 32 });
  const context = fakeContext(extensionFolder());
  extension.activate(context as never);
  try {
    await run(async (id, ...args) => {
      const handler = fake.commands.get(id);
      assert.ok(handler, `${id} is registered`);
      return handler(...args);
    });
  } finally {
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();
  }
}

const uri = (file: string) => (fake.module.Uri as { file(p: string): unknown }).file(file);
const messages = (kind: Shown['kind']) => fake.shown.filter((s) => s.kind === kind);

test('Upscale Image with upscale.livePreview off: progress notification, result beside the source, Open / Reveal / Compare', async () => {
  await withExtension(async (command) => {
    fake.config.livePreview = false;
    const input = await image('cmd.png', 72, 56);
    await command('upscale.upscaleImage', uri(input));
    assert.ok(fs.existsSync(path.join(work, 'cmd@4x.png')));
    const done = messages('info').at(-1);
    assert.match(
      done?.text ?? '',
      /^Upscaled cmd\.png → cmd@4x\.png \(72×56 → 288×224, 1 pass, [\d.]+ s on cpu in fp32\)$/,
    );
    assert.deepEqual(done?.items, ['Open', 'Reveal in Explorer', 'Compare']);
    const progress = fake.progress.find((p) => p.title === 'Upscaling cmd.png');
    // The notification's title names the file; its messages say where the job is.
    assert.ok(
      progress?.reports.some((r) => /^\d+ of \d+ tiles( · .+ left)?$/.test(r.message ?? '')),
      JSON.stringify(progress?.reports),
    );
    const total = progress?.reports.reduce((sum, r) => sum + (r.increment ?? 0), 0) ?? 0;
    assert.ok(total > 0 && total <= 100.0001, `increments add up to ${total}`);
    assert.equal(fake.statusBar.text, '$(check) Upscale · cpu');
    // The log says why that provider and that precision ran the job, as the daemon reported them.
    assert.ok(
      fake.log.some((l) =>
        /^info: upscaled cmd\.png → cmd@4x\.png .* in fp32\); provider cpu: .+; precision fp32: .+$/.test(l),
      ),
      fake.log.join('\n'),
    );
  });
});

test('Upscale Image With…: model and scale from quick picks, a custom size from the input box', async () => {
  await withExtension(async (command) => {
    const input = await image('with.png', 40, 30);
    fake.respond = (s) => {
      if (s.kind === 'quickPick' && s.text.startsWith('Upscale with which model?')) {
        const rows = s.items as { model: { id: string }; description: string }[];
        assert.match(rows[0]?.description ?? '', /^real-esrgan · x4 · [\d.]+ MB/);
        return rows.find((r) => r.model.id === 'realesr-general-x4v3');
      }
      if (s.kind === 'quickPick' && s.text.startsWith('Scale')) {
        const rows = s.items as { label: string; description: string }[];
        assert.match(rows.find((r) => r.label === '2x')?.description ?? '', /→ with@2x\.png$/);
        return rows.find((r) => r.label === '2x');
      }
      // Enter on the optional extras with none ticked.
      if (s.kind === 'quickPick' && s.text.startsWith('Combine')) return [];
      return undefined;
    };
    await command('upscale.upscaleImageWith', uri(input));
    const meta = await sharp(path.join(work, 'with@2x.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [80, 60]);

    fake.respond = (s) => {
      if (s.kind === 'quickPick' && s.text.startsWith('Upscale with which model?'))
        return (s.items as { model: { id: string } }[]).find((r) => r.model.id === 'realesr-general-x4v3');
      if (s.kind === 'quickPick' && s.text.startsWith('Scale'))
        return (s.items as { label: string }[]).find((r) => r.label === 'Custom…');
      if (s.kind === 'inputBox') return '100x';
      if (s.kind === 'quickPick' && s.text.startsWith('Combine')) return [];
      return undefined;
    };
    await command('upscale.upscaleImageWith', uri(input));
    const custom = await sharp(path.join(work, 'with@2.5x.png')).metadata();
    assert.deepEqual([custom.width, custom.height], [100, 75]);
  });
});

test('Upscale Image With…: a second model blended in with its weight, and TTA, from the extras', async () => {
  await withExtension(async (command) => {
    const input = await image('extras.png', 24, 20);
    const asked: string[] = [];
    fake.respond = (s) => {
      asked.push(`${s.kind} ${s.text}`);
      if (s.kind === 'quickPick' && s.text.startsWith('Upscale with which model?'))
        return (s.items as { model: { id: string } }[]).find((r) => r.model.id === 'realesr-general-x4v3');
      if (s.kind === 'quickPick' && s.text.startsWith('Scale'))
        return (s.items as { label: string }[]).find((r) => r.label === '4x');
      if (s.kind === 'quickPick' && s.text.startsWith('Combine'))
        return (s.items as { extra: string }[]).filter((r) => r.extra === 'blend' || r.extra === 'tta');
      if (s.kind === 'quickPick' && s.text.startsWith('Second model'))
        return (s.items as { model: { id: string } }[]).find((r) => r.model.id === 'upscalerjs-esrgan-slim-x4');
      if (s.kind === 'inputBox' && s.text.startsWith('Weight')) return '0.25';
      if (s.kind === 'quickPick' && s.text.startsWith('TTA')) return (s.items as { level: number }[])[0];
      return undefined;
    };
    await command('upscale.upscaleImageWith', uri(input));
    assert.ok(
      asked.some((a) => a.startsWith('inputBox Weight of')),
      asked.join('; '),
    );
    const meta = await sharp(path.join(work, 'extras@4x.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [96, 80]);
  });
});

test('cancelling the notification cancels the job and leaves no file', async () => {
  await withExtension(async (command) => {
    const input = await image('cancelme.png', 256, 256);
    fake.onProgress = (record) => {
      const push = record.reports.push.bind(record.reports);
      record.reports.push = (...r) => {
        if (/^1 of \d+ tiles/.test(r[0]?.message ?? '')) record.cancel();
        return push(...r);
      };
    };
    await command('upscale.upscaleImage', uri(input));
    assert.equal(messages('info').at(-1)?.text, 'Upscale cancelled: cancelme.png; no file was written.');
    assert.deepEqual(outputsBeside(input), []);
  });
});

test('a file that is not an image: the error names the file and offers Show Log', async () => {
  await withExtension(async (command) => {
    const bad = path.join(work, 'broken.png');
    fs.writeFileSync(bad, 'this is not a PNG');
    await command('upscale.upscaleImage', uri(bad));
    const error = messages('error').at(-1);
    assert.match(error?.text ?? '', /^Upscale failed for broken\.png: .*broken\.png/);
    assert.deepEqual(error?.items, ['Show Log']);
    assert.ok(fake.log.some((l) => l.startsWith('error: failed: ') && l.includes('broken.png')));
    assert.deepEqual(outputsBeside(bad), []);
  });
});

test('Explorer multi-select runs one batch; Upscale Folder mirrors subfolders into the output folder', async () => {
  await withExtension(async (command) => {
    const a = await image('batch-a.png', 24, 20);
    const b = await image('batch-b.png', 20, 24);
    const notImage = path.join(work, 'batch-notes.txt');
    fs.writeFileSync(notImage, '');
    await command('upscale.upscaleImage', uri(a), [uri(a), uri(b), uri(notImage)]);
    assert.ok(fake.progress.some((p) => p.title === 'Upscaling 2 images (4x)'));
    assert.equal(messages('info').at(-1)?.text, 'Upscaled 2 of 2 images.');
    assert.ok(fs.existsSync(path.join(work, 'batch-a@4x.png')) && fs.existsSync(path.join(work, 'batch-b@4x.png')));

    const folder = path.join(work, 'album');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.renameSync(await image('f1.png', 16, 16), path.join(folder, 'f1.png'));
    fs.renameSync(await image('f2.jpg', 16, 16), path.join(folder, 'sub', 'f2.jpg'));
    fake.respond = (s) => {
      if (s.kind === 'quickPick' && s.text.startsWith('Upscale the images in album'))
        return (s.items as { recursive: boolean }[]).find((i) => i.recursive);
      if (s.kind === 'quickPick' && s.text.startsWith('Output folder')) return s.items[0];
      return undefined;
    };
    await command('upscale.upscaleFolder', uri(folder));
    assert.ok(fs.existsSync(path.join(folder, 'upscaled', 'f1@4x.png')));
    assert.ok(fs.existsSync(path.join(folder, 'upscaled', 'sub', 'f2@4x.jpg')));
    assert.equal(messages('info').at(-1)?.text, 'Upscaled 2 of 2 images.');
  });
});

test('Choose Default Model writes the setting; Upscale Image then uses it', async () => {
  await withExtension(async (command) => {
    fake.respond = (s) =>
      s.kind === 'quickPick'
        ? (s.items as { model: { id: string } }[]).find((r) => r.model.id === 'realesr-general-x4v3')
        : undefined;
    await command('upscale.chooseDefaultModel');
    assert.equal(fake.config.defaultModel, 'realesr-general-x4v3');
    assert.equal(messages('info').at(-1)?.text, 'Upscale Image now uses realesr-general-x4v3.');
  });
});

test('Import Model…: weights that cannot tell their activation ask for it; dismissed, ReLU stays with a warning; LeakyReLU re-imports', async () => {
  const file = path.join(work, '2x-leaky-compact.safetensors');
  writeTinySafetensors(file);
  const record = () =>
    JSON.parse(fs.readFileSync(path.join(modelsDir, '2x-leaky-compact.json'), 'utf8')) as {
      activation?: string;
      activationSource?: string;
    };
  await withExtension(async (command) => {
    fake.respond = (s) => (s.kind === 'openDialog' ? [uri(file)] : undefined);
    await command('upscale.importModel');
    const pick = messages('quickPick').at(-1);
    assert.equal(pick?.text, '2x-leaky-compact.safetensors: which activation was it trained with?');
    assert.deepEqual(
      (pick?.items as { label: string; activation: string }[]).map((r) => [r.label, r.activation]),
      [
        ['ReLU', 'relu'],
        ['LeakyReLU (slope 0.1)', 'leakyrelu'],
      ],
    );
    assert.deepEqual(
      messages('warning').map((m) => m.text),
      [
        'Upscale: 2x-leaky-compact.safetensors: SRVGGNetCompact weights do not say which activation was trained; assuming ReLU. ' +
          'If the model was trained with LeakyReLU or the output looks wrong, import it again choosing LeakyReLU (upscale models import FILE --activation leakyrelu; in VS Code, Import Model… asks).',
      ],
    );
    assert.match(messages('info').at(-1)?.text ?? '', /^Imported 2x-leaky-compact: real-esrgan, x2\.$/);
    assert.deepEqual([record().activation, record().activationSource], ['relu', 'assumed']);

    fake.shown.length = 0;
    fake.respond = (s) =>
      s.kind === 'openDialog'
        ? [uri(file)]
        : s.kind === 'quickPick'
          ? (s.items as { activation: string }[])[1]
          : undefined;
    await command('upscale.importModel');
    assert.deepEqual(messages('warning'), [], 'a chosen activation needs no warning');
    assert.equal(fake.progress.at(-1)?.title, 'Importing 2x-leaky-compact.safetensors with LeakyReLU (slope 0.1)…');
    assert.deepEqual([record().activation, record().activationSource], ['leakyrelu', 'user']);
  });
});

test('live preview by default: the panel opens at the start and gets tile previews', async () => {
  const panelModule = createRequire(__filename)(
    '../../extension/preview/panel',
  ) as typeof import('../../extension/preview/panel');
  const proto = panelModule.PreviewPanel.prototype;
  const calls: string[] = [];
  const previews: number[] = [];
  const original = { progress: proto.progress, complete: proto.complete, fail: proto.fail };
  proto.progress = function (p) {
    calls.push('progress');
    if (p.preview) previews.push(p.preview.png.length);
    return original.progress.call(this, p);
  };
  proto.complete = function (r) {
    calls.push(`complete ${path.basename(r.outputPath)}`);
    return original.complete.call(this, r);
  };
  proto.fail = function (m) {
    calls.push(`fail ${m}`);
    return original.fail.call(this, m);
  };
  try {
    await withExtension(async (command) => {
      const input = await image('live.png', 64, 64);
      await command('upscale.upscaleImage', uri(input));
      assert.ok(fs.existsSync(path.join(work, 'live@4x.png')));
      assert.ok(calls.includes('progress'), calls.join(', '));
      assert.ok(previews.length > 0 && previews.every((n) => n > 0), 'tile previews arrived');
      assert.equal(calls.at(-1), 'complete live@4x.png');
      // The panel is already open, so the notification does not offer Compare again.
      assert.deepEqual(messages('info').at(-1)?.items, ['Open', 'Reveal in Explorer']);
    });
  } finally {
    Object.assign(proto, original);
  }
});

test('a daemon that refuses initialize (a bad models folder) is ended, and the error says why', async () => {
  const logs: string[] = [];
  const client = new DaemonClient({
    launch: () => ({
      command: process.execPath,
      args: [DAEMON_ENTRY, 'daemon'],
      env: process.env,
      initialize: { modelsFolder: 'relative/models' },
    }),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  try {
    await assert.rejects(
      client.start(),
      /^DaemonCrashedError: the Upscale daemon did not start: .*modelsFolder.*absolute path; see the Upscale log$/,
    );
    const pid = client.pid;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      pid === undefined ||
        (() => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        })(),
      'the refused daemon was ended',
    );
    assert.ok(!logs.some((l) => /unexpectedly/.test(l)), 'ending it is not a crash');
  } finally {
    await client.dispose();
  }
});
