// `npm run test:hostile`: hostile and broken inputs against the real daemon over real
// stdio — images, models, a protocol fuzzer, faults (kill, OOM, full disk, the client
// vanishing) and load. Prints what was tried per category, the errors seen, crashes and
// files lost or half-written (both must be 0), and ends with `N passed, M failed`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { ErrorCode } from '../../contract/errors';
import { builtinModelsDir } from '../../models/paths';
import {
  CheckFailed,
  DAEMON_ENTRY,
  Prng,
  RawDaemon,
  ROOT,
  allTallies,
  check,
  countCrash,
  dir,
  ensure,
  ensureUnchanged,
  failures,
  note,
  notes,
  bytesRead,
  partialsUnder,
  rssBytes,
  sleep,
  snapshot,
  tally,
  totals,
  type Reply,
} from './harness';
import {
  animated,
  callingPickle,
  cmykJpeg,
  croppingOnnx,
  liarPng,
  nanOnnx,
  noiseAs,
  noisePng,
  onnxWithExternalData,
  oomAboveOnnx,
  paletteWithTransparency,
  png16Alpha,
  safetensorsWith,
  stackGlobalPickle,
  storedZip,
} from './craft';
import { fuzz } from './fuzz';
import { load } from './load';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261124);
const rng = new Prng(SEED);
const CODE_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v as number, k]));

function expectError(reply: Reply, code: number, file: string | null, category: string): void {
  ensure(
    reply.error,
    `expected error ${CODE_NAMES.get(code)} but the job succeeded: ${String(JSON.stringify(reply.result)).slice(0, 200)}`,
  );
  ensure(
    reply.error.code === code,
    `expected ${CODE_NAMES.get(code)} (${code}), got ${reply.error.code}: ${reply.error.message}`,
  );
  if (file !== null)
    ensure(reply.error.message.includes(file), `the message does not name ${file}: ${reply.error.message}`);
  tally(category).expectedErrors++;
}

interface UpscaleOk {
  readonly outputPath: string;
  readonly width: number;
  readonly height: number;
  readonly warnings: readonly string[];
}

function expectOk(reply: Reply): UpscaleOk {
  ensure(!reply.error, `expected success, got ${reply.error?.code}: ${reply.error?.message}`);
  return reply.result as UpscaleOk;
}

function tryMount(target: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { stdio: 'pipe' });
    return true;
  } catch (e) {
    note(`cannot mount a tmpfs at ${target} (${(e as Error).message.split('\n')[0]})`);
    return false;
  }
}

const mounts: string[] = [];
function unmountAll(): void {
  for (const m of mounts.splice(0).reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      // left for the operator; reported below
      note(`could not unmount ${m}`);
    }
  }
}

/** A job that takes a few seconds on this machine: the large model on a mid-size image, small tiles. */
const LONG_JOB = { model: 'realesrgan-x4plus', tile: 48, overlap: 8 };

// ---------------------------------------------------------------------------------------

async function images(d: RawDaemon): Promise<void> {
  const C = 'images';
  const ws = dir('ws');
  const src = dir('ws', 'src');
  const out = dir('ws', 'out');
  const goodDir = dir('good');
  const outside = dir('outside');
  const goodPng = path.join(goodDir, 'good.png');
  fs.writeFileSync(goodPng, await noisePng(rng, 32, 24));

  const goodJob = async (): Promise<void> => {
    const r = expectOk(
      await d.call('upscale', { input: goodPng, output: path.join(goodDir, 'result.png'), overwrite: true }),
    );
    ensure(r.width === 128 && r.height === 96, `the good job gave ${r.width}x${r.height}`);
  };

  const refused = async (
    name: string,
    file: string,
    code: number | number[],
    extra: Record<string, unknown> = {},
    output = out,
    names = file,
  ): Promise<void> => {
    await check(C, name, async () => {
      tally(C).tried++;
      const before = snapshot(ws);
      const outsideBefore = snapshot(outside);
      const reply = await d.call('upscale', { input: file, output, ...extra });
      const codes = Array.isArray(code) ? code : [code];
      expectError(
        reply,
        codes.includes(reply.error?.code ?? 0) ? (reply.error?.code as number) : (codes[0] as number),
        names,
        C,
      );
      ensureUnchanged(before, snapshot(ws), 'the workspace');
      ensureUnchanged(outsideBefore, snapshot(outside), 'the folder outside the workspace');
      await goodJob();
    });
  };

  /** A job that must work: exactly one new file, the output, inside `out`; it is removed afterwards. */
  const works = async (
    name: string,
    file: string,
    verify: (r: UpscaleOk) => Promise<void>,
    extra: Record<string, unknown> = {},
  ): Promise<void> => {
    await check(C, name, async () => {
      tally(C).tried++;
      const before = snapshot(ws);
      const outsideBefore = snapshot(outside);
      const r = expectOk(await d.call('upscale', { input: file, output: out, ...extra }));
      ensure(path.dirname(r.outputPath) === out, `output written outside the output folder: ${r.outputPath}`);
      const after = snapshot(ws);
      const appeared = [...after.keys()].filter((k) => !before.has(k));
      ensure(
        appeared.length === 1 && appeared[0] === path.relative(ws, r.outputPath),
        `expected only ${r.outputPath} to appear, got ${appeared.join(', ')}`,
      );
      for (const k of before.keys()) after.delete(k);
      ensureUnchanged(
        new Map([...before].filter(([k]) => k !== appeared[0])),
        new Map([...snapshot(ws)].filter(([k]) => k !== appeared[0])),
        'the workspace',
      );
      ensureUnchanged(outsideBefore, snapshot(outside), 'the folder outside the workspace');
      const meta = await sharp(r.outputPath).metadata();
      ensure(
        meta.width === r.width && meta.height === r.height,
        `the output is ${meta.width}x${meta.height}, the result says ${r.width}x${r.height}`,
      );
      await verify(r);
      fs.rmSync(r.outputPath);
      await goodJob();
    });
  };

  const put = (name: string, bytes: Buffer): string => {
    const file = path.join(src, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  const E = ErrorCode;
  await refused('zero bytes', put('empty.png', Buffer.alloc(0)), E.DecodeFailed);
  const png = await noiseAs(rng, 64, 48, 'png');
  const jpg = await noiseAs(rng, 64, 48, 'jpeg');
  const webp = await noiseAs(rng, 64, 48, 'webp');
  for (const [kind, bytes] of [
    ['PNG', png],
    ['JPEG', jpg],
    ['WebP', webp],
  ] as const) {
    for (const fraction of [0.5, 0.9]) {
      const ext = kind === 'PNG' ? 'png' : kind === 'JPEG' ? 'jpg' : 'webp';
      await refused(
        `truncated ${kind} (${fraction * 100}%)`,
        put(`cut-${fraction}.${ext}`, bytes.subarray(0, Math.floor(bytes.length * fraction))),
        E.DecodeFailed,
      );
    }
  }
  await refused('truncated PNG (header only)', put('header-only.png', png.subarray(0, 40)), E.DecodeFailed);
  await refused('random bytes named .png', put('random.png', rng.bytes(4096)), E.DecodeFailed);
  await refused('text named .jpg', put('text.jpg', Buffer.from('not an image at all\n'.repeat(20))), E.DecodeFailed);
  await works('a PNG named .jpg (read by content)', put('png-named.jpg', png), async (r) => {
    ensure(r.width === 256 && r.height === 192, `size ${r.width}x${r.height}`);
  });
  await refused(
    'decompression bomb: IHDR claims 100000x100000, tiny IDAT',
    put('bomb.png', liarPng(100000, 100000)),
    E.ImageTooLarge,
  );
  await refused(
    'IHDR claims 12000x10000 (under the input limit; x4 over the output ceiling)',
    put('ceiling.png', liarPng(12000, 10000)),
    E.ImageTooLarge,
  );
  await refused(
    'IHDR claims 3000x3000 but the data is missing (inside every limit)',
    put('liar-small.png', liarPng(3000, 3000)),
    E.DecodeFailed,
  );
  await refused('IHDR claims 0x0', put('zero-size.png', liarPng(0, 0)), E.DecodeFailed);
  await refused('IHDR claims 2^31-1 wide', put('wide.png', liarPng(0x7fffffff, 1)), [E.ImageTooLarge, E.DecodeFailed]);
  await works(
    'animated GIF: first frame, with a warning',
    put('anim.gif', await animated(rng, 24, 16, 3, 'gif')),
    async (r) => {
      ensure(r.width === 96 && r.height === 64, `size ${r.width}x${r.height} (first frame only expected)`);
      ensure(
        r.warnings.some((w) => /first frame/i.test(w)),
        `no first-frame warning: ${JSON.stringify(r.warnings)}`,
      );
      const meta = await sharp(r.outputPath).metadata();
      ensure((meta.pages ?? 1) === 1, `the output has ${meta.pages} pages`);
    },
  );
  await works(
    'animated WebP: first frame, with a warning',
    put('anim.webp', await animated(rng, 24, 16, 4, 'webp')),
    async (r) => {
      ensure(r.width === 96 && r.height === 64, `size ${r.width}x${r.height}`);
      ensure(
        r.warnings.some((w) => /first frame/i.test(w)),
        `no first-frame warning: ${JSON.stringify(r.warnings)}`,
      );
    },
  );
  await works('CMYK JPEG', put('cmyk.jpg', await cmykJpeg(rng, 40, 30)), async (r) => {
    ensure(r.width === 160 && r.height === 120, `size ${r.width}x${r.height}`);
  });
  await works(
    '16-bit RGBA PNG (16 bits and alpha kept)',
    put('deep-alpha.png', await png16Alpha(32, 24)),
    async (r) => {
      const meta = await sharp(r.outputPath).metadata();
      ensure(meta.depth === 'ushort' && meta.hasAlpha, `output depth ${meta.depth}, alpha ${meta.hasAlpha}`);
    },
  );
  await works(
    'palette PNG with transparency (alpha kept)',
    put('palette.png', await paletteWithTransparency(30, 20)),
    async (r) => {
      const meta = await sharp(r.outputPath).metadata();
      ensure(meta.hasAlpha === true, 'the output lost its transparency');
    },
  );
  const folderInput = dir('ws', 'src', 'a-folder.png');
  await refused('a path that is a directory', folderInput, E.DecodeFailed);
  await refused('a path that does not exist', path.join(src, 'missing.png'), E.InputNotFound);
  await refused(
    'a FIFO named .png',
    (() => {
      const f = path.join(src, 'fifo.png');
      execFileSync('mkfifo', [f]);
      return f;
    })(),
    E.DecodeFailed,
  );
  await refused('/dev/zero as input', '/dev/zero', E.DecodeFailed);
  await refused('/proc/self/mem as input', '/proc/self/mem', E.DecodeFailed);

  // Symlinks. Policy: the daemon reads what a path resolves to (the extension decides which
  // files a workspace may offer); it never writes through a link at the output name.
  const real = path.join(outside, 'real.png');
  fs.writeFileSync(real, await noisePng(rng, 20, 20));
  fs.symlinkSync(real, path.join(src, 'link-out.png'));
  await works(
    'a source symlinked to a file outside the workspace is read (policy: the extension decides)',
    path.join(src, 'link-out.png'),
    async (r) => {
      ensure(!fs.lstatSync(r.outputPath).isSymbolicLink(), 'the output is a link');
    },
  );

  const victimSrc = put('victim.png', await noisePng(rng, 20, 20));
  const target = path.join(outside, 'target.png');
  fs.writeFileSync(target, 'precious data outside the workspace\n');
  fs.symlinkSync(target, path.join(out, 'victim@4x.png'));
  await works(
    'an existing symlink at the output name (no overwrite) is left alone; a new name is used',
    victimSrc,
    async (r) => {
      ensure(path.basename(r.outputPath) === 'victim@4x (2).png', `output ${r.outputPath}`);
      ensure(fs.lstatSync(path.join(out, 'victim@4x.png')).isSymbolicLink(), 'the link was replaced');
    },
  );
  await check(
    C,
    'an existing symlink at the output name with overwrite: the link is replaced, never written through',
    async () => {
      tally(C).tried++;
      const outsideBefore = snapshot(outside);
      const r = expectOk(await d.call('upscale', { input: victimSrc, output: out, overwrite: true }));
      ensure(r.outputPath === path.join(out, 'victim@4x.png'), `output ${r.outputPath}`);
      ensure(fs.lstatSync(r.outputPath).isFile(), 'the output is not a regular file');
      ensureUnchanged(outsideBefore, snapshot(outside), 'the file the link pointed at');
      fs.rmSync(r.outputPath);
    },
  );
  fs.symlinkSync(path.join(outside, 'never-created.png'), path.join(out, 'dangling.png'));
  await check(
    C,
    'an explicit output path that is a dangling symlink (overwrite): no file created where it points',
    async () => {
      tally(C).tried++;
      const r = expectOk(
        await d.call('upscale', { input: victimSrc, output: path.join(out, 'dangling.png'), overwrite: true }),
      );
      ensure(!fs.existsSync(path.join(outside, 'never-created.png')), 'the dangling link was followed');
      ensure(fs.lstatSync(r.outputPath).isFile(), 'the output is not a regular file');
      fs.rmSync(r.outputPath);
    },
  );
  // A name the user gives is a promise: onto the source it is refused, overwrite or not.
  await refused(
    'the output path is the source itself (overwrite): refused, the source never written',
    victimSrc,
    E.OutputNotWritable,
    { overwrite: true },
    victimSrc,
    victimSrc,
  );
  fs.symlinkSync(victimSrc, path.join(out, 'to-source.png'));
  await refused(
    'the output path is a symlink to the source (overwrite): refused, the source never written',
    victimSrc,
    E.OutputNotWritable,
    { overwrite: true },
    path.join(out, 'to-source.png'),
    'is the input image',
  );
  fs.linkSync(victimSrc, path.join(out, 'hard-source.png'));
  await refused(
    'the output path is a hard link to the source (overwrite): refused, the source never written',
    victimSrc,
    E.OutputNotWritable,
    { overwrite: true },
    path.join(out, 'hard-source.png'),
    'is the input image',
  );
  fs.rmSync(path.join(out, 'hard-source.png'));
  fs.rmSync(path.join(out, 'to-source.png'));
  fs.rmSync(path.join(out, 'victim@4x.png'), { force: true });
  await refused(
    'an output folder that does not exist',
    victimSrc,
    E.OutputNotWritable,
    {},
    path.join(out, 'no-such-folder') + path.sep,
    path.join(out, 'no-such-folder'),
  );
  await refused(
    "a template that climbs out ('../{name}.png')",
    victimSrc,
    E.InvalidParams,
    { template: '../{name}.png' },
    out,
    '../{name}.png',
  );
  await refused(
    "a template with a path ('sub/{name}.png')",
    victimSrc,
    E.InvalidParams,
    { template: 'sub/{name}.png' },
    out,
    'sub/{name}.png',
  );
  await refused("a template of '..'", victimSrc, E.InvalidParams, { template: '..' }, out, "'..'");
  await refused('a relative input path', 'src/victim.png', E.InvalidParams, {}, out, 'src/victim.png');

  // Mid-job: the source deleted, then replaced, while a long job runs.
  const bigSrc = fs.readFileSync(victimSrc).length > 0 ? await noisePng(rng, 112, 112) : Buffer.alloc(0);
  for (const how of ['deleted', 'replaced'] as const) {
    await check(
      C,
      `the source ${how} mid-job: completes from memory or fails clearly; the source path is never written`,
      async () => {
        tally(C).tried++;
        const file = put(`midjob-${how}.png`, bigSrc);
        const outsideBefore = snapshot(outside);
        const { id, reply } = d.request('upscale', { input: file, output: out, ...LONG_JOB });
        const started = await d.waitProgress((p) => p.requestId === id && p.stage === 'infer' && p.done >= 1, 120000);
        ensure(started, 'the job never reached inference');
        let replacement = '';
        if (how === 'deleted') fs.rmSync(file);
        else {
          fs.writeFileSync(`${file}.new`, 'a different file now lives here\n');
          fs.renameSync(`${file}.new`, file);
          replacement = fs.readFileSync(file, 'utf8');
        }
        const r = await reply;
        if (r.error) {
          // The pixels were decoded before the source went away, so completing is right; a
          // failure is acceptable only if it says the input went away (not "cannot write").
          note(`source ${how} mid-job: the job failed: ${CODE_NAMES.get(r.error.code)}: ${r.error.message}`);
          ensure(
            r.error.code === ErrorCode.InputNotFound && r.error.message.includes(file),
            `misleading error: ${CODE_NAMES.get(r.error.code)}: ${r.error.message}`,
          );
          tally(C).expectedErrors++;
        } else {
          const ok = r.result as UpscaleOk;
          ensure(ok.width === 448, `size ${ok.width}`);
          fs.rmSync(ok.outputPath);
        }
        if (how === 'deleted') ensure(!fs.existsSync(file), 'something was written at the deleted source path');
        else ensure(fs.readFileSync(file, 'utf8') === replacement, 'the replacement source was written');
        ensure(partialsUnder(ws).length === 0, `partial files left: ${partialsUnder(ws).join(', ')}`);
        ensureUnchanged(outsideBefore, snapshot(outside), 'outside');
        fs.rmSync(file, { force: true });
        await goodJob();
      },
    );
  }

  // A read-only output folder (root ignores mode bits, so a read-only mount).
  const ro = dir('ro');
  if (tryMount(ro, 'ro,size=1m')) {
    mounts.push(ro);
    await refused('an output folder on a read-only file system', victimSrc, E.OutputNotWritable, {}, ro, ro);
  }
  // A full output folder: a 256 KiB tmpfs filled to the last byte.
  const full = dir('full');
  if (tryMount(full, 'size=256k')) {
    mounts.push(full);
    try {
      fs.writeFileSync(path.join(full, 'filler'), Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC: exactly what we wanted
    }
    await check(C, 'an output folder on a full file system', async () => {
      tally(C).tried++;
      const before = snapshot(full);
      const wsBefore = snapshot(ws);
      const reply = await d.call('upscale', { input: victimSrc, output: full });
      ensure(reply.error, 'the job succeeded on a full disk');
      ensure(reply.error.code === E.OutputNotWritable, `code ${reply.error.code}: ${reply.error.message}`);
      ensure(/disk is full|No space left on device/.test(reply.error.message), `message: ${reply.error.message}`);
      tally(C).expectedErrors++;
      ensureUnchanged(before, snapshot(full), 'the full folder');
      ensureUnchanged(wsBefore, snapshot(ws), 'the workspace');
      await goodJob();
    });
  }
}

// ---------------------------------------------------------------------------------------

async function models(d: RawDaemon, modelsDir: string): Promise<void> {
  const C = 'models';
  const srcDir = dir('model-sources');
  const marker = path.join(ROOT, 'PWNED');
  const outsideSecret = path.join(dir('outside-models'), 'secret.bin');
  fs.writeFileSync(outsideSecret, Buffer.from(new Float32Array([42]).buffer));
  const builtin = fs.readFileSync(path.join(builtinModelsDir(), 'realesr-general-x4v3.onnx'));

  // One good import first, so "unchanged" means more than "still empty".
  const goodOnnx = path.join(srcDir, 'good-x2.onnx');
  fs.writeFileSync(goodOnnx, oomAboveOnnx(1 << 20));
  await check(C, 'a good model imports first (the baseline the refusals must leave unchanged)', async () => {
    const first = await d.call('models/import', { path: goodOnnx });
    ensure(!first.error, `the baseline import failed: ${first.error?.message}`);
  });

  const refusedModel = async (
    name: string,
    fileName: string,
    bytes: Uint8Array | null,
    code: number = ErrorCode.ModelInvalid,
    pattern?: RegExp,
    setup?: (file: string) => void,
  ): Promise<void> => {
    await check(C, name, async () => {
      tally(C).tried++;
      const file = path.join(srcDir, fileName);
      if (bytes) fs.writeFileSync(file, bytes);
      setup?.(file);
      const before = snapshot(modelsDir);
      const srcBefore = snapshot(srcDir);
      const reply = await d.call('models/import', { path: file });
      expectError(reply, code, file, C);
      if (pattern)
        ensure(pattern.test(reply.error?.message ?? ''), `message ${reply.error?.message} does not match ${pattern}`);
      ensureUnchanged(before, snapshot(modelsDir), 'the models folder');
      ensureUnchanged(srcBefore, snapshot(srcDir), 'the model sources');
      ensure(!fs.existsSync(marker), 'the model file ran a command');
      const list = await d.call('models/list', {});
      ensure(!list.error, 'the daemon stopped answering');
    });
  };

  await refusedModel('truncated ONNX (50%)', 'cut.onnx', builtin.subarray(0, builtin.length >> 1));
  await refusedModel('truncated ONNX (first 64 bytes)', 'cut64.onnx', builtin.subarray(0, 64));
  await refusedModel(
    'ONNX external data ../../etc/passwd',
    'ext-climb.onnx',
    onnxWithExternalData('../../etc/passwd'),
    ErrorCode.ModelInvalid,
    /climbs out/,
  );
  await refusedModel(
    'ONNX external data /etc/passwd',
    'ext-abs.onnx',
    onnxWithExternalData('/etc/passwd'),
    ErrorCode.ModelInvalid,
    /absolute path/,
  );
  await refusedModel(
    'ONNX external data through a symlink in its folder that points outside',
    'ext-link.onnx',
    onnxWithExternalData('weights-link.bin'),
    ErrorCode.ModelInvalid,
    undefined,
    () => {
      fs.rmSync(path.join(srcDir, 'weights-link.bin'), { force: true });
      fs.symlinkSync(outsideSecret, path.join(srcDir, 'weights-link.bin'));
    },
  );
  await refusedModel('ONNX external data naming a folder', 'ext-dir.onnx', onnxWithExternalData('.'));
  await refusedModel(
    'ONNX whose output is not k x the input',
    'crop.onnx',
    croppingOnnx(),
    ErrorCode.ModelInvalid,
    /not the same whole multiple/,
  );
  await refusedModel('ONNX that produces NaN', 'nan.onnx', nanOnnx(), ErrorCode.ModelInvalid, /NaN/);
  const calls: Array<[string, string, string]> = [
    ['os', 'system', `touch ${marker}`],
    ['posix', 'system', `touch ${marker}`],
    ['builtins', 'eval', `__import__('os').system('touch ${marker}')`],
    ['builtins', 'exec', `open('${marker}','w')`],
    ['__builtin__', 'eval', `__import__('os').system('touch ${marker}')`],
    ['subprocess', 'Popen', `touch ${marker}`],
    ['builtins', 'getattr', 'x'],
    ['torch._utils', '_rebuild_tensor_v2x', 'x'],
  ];
  for (const [mod, name, arg] of calls) {
    await refusedModel(
      `legacy .pth whose pickle calls ${mod}.${name}`,
      `legacy-${mod}-${name}.pth`,
      callingPickle(mod, name, arg),
      ErrorCode.ModelInvalid,
      /not allowed|refus/,
    );
    await refusedModel(
      `zip .pth whose data.pkl calls ${mod}.${name} (STACK_GLOBAL)`,
      `zip-${mod}-${name}.pth`,
      storedZip([
        { name: 'archive/data.pkl', data: stackGlobalPickle(mod, name, arg) },
        { name: 'archive/version', data: Buffer.from('3\n') },
      ]),
      ErrorCode.ModelInvalid,
      /not allowed|refus/,
    );
  }
  const escape = path.join(ROOT, 'escaped');
  for (const entry of [
    '../../escaped/data.pkl',
    'archive/../../escaped/data.pkl',
    '/tmp/escaped/data.pkl',
    'archive\\..\\..\\escaped\\data.pkl',
  ]) {
    await refusedModel(
      `zip .pth with entry '${entry}'`,
      `zip-escape-${entry.replace(/[^a-z]/gi, '')}.pth`,
      storedZip([
        { name: 'archive/data.pkl', data: callingPickle('collections', 'OrderedDict', '') },
        { name: entry, data: Buffer.from('x') },
      ]),
    );
    ensure(!fs.existsSync(escape), 'a zip entry was extracted outside');
  }
  await refusedModel(
    'safetensors with overlapping offsets',
    'overlap.safetensors',
    safetensorsWith(
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
      },
      24,
    ),
    ErrorCode.ModelInvalid,
    /overlap/,
  );
  await refusedModel(
    'safetensors with offsets past the end',
    'past-end.safetensors',
    safetensorsWith(
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        b: { dtype: 'F32', shape: [1 << 20], data_offsets: [16, 16 + 4 * (1 << 20)] },
      },
      16,
    ),
  );
  await refusedModel(
    'safetensors with offsets beyond 2^53',
    'huge-offsets.safetensors',
    safetensorsWith({ a: { dtype: 'F32', shape: [1], data_offsets: [2 ** 60, 2 ** 60 + 4] } }, 16),
  );
  await refusedModel(
    'safetensors with end before begin',
    'reversed.safetensors',
    safetensorsWith({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 16),
  );
  await refusedModel(
    'safetensors whose shape disagrees with its offsets',
    'shape.safetensors',
    safetensorsWith({ a: { dtype: 'F32', shape: [1000, 1000], data_offsets: [0, 4] } }, 16),
  );
  await refusedModel(
    'safetensors whose header length is 2^63',
    'header-huge.safetensors',
    (() => {
      const b = Buffer.alloc(32, 0x20);
      b.writeBigUInt64LE(1n << 63n);
      b[8] = 0x7b;
      return b;
    })(),
  );
  await refusedModel('a zero-byte model', 'empty.pth', Buffer.alloc(0));
  for (const device of ['/dev/zero', '/dev/urandom']) {
    // In a throwaway daemon: a daemon that reads the device grows without bound.
    await check(C, `importing ${device} is refused at once, without reading it`, async () => {
      tally(C).tried++;
      const t = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
      try {
        const before = snapshot(modelsDir);
        const readBefore = bytesRead(t.pid);
        const r = await Promise.race([t.call('models/import', { path: device }), sleep(10000).then(() => null)]);
        const read = bytesRead(t.pid) - readBefore;
        const rss = t.alive ? rssBytes(t.pid) : 0;
        ensure(r, `no answer in 10 s; the daemon is reading the device (RSS ${(rss / 1048576).toFixed(0)} MiB)`);
        expectError(r, ErrorCode.ModelInvalid, device, C);
        ensure(read < 16 * 1048576, `the daemon read ${(read / 1048576).toFixed(0)} MiB: the device was read`);
        ensureUnchanged(before, snapshot(modelsDir), 'the models folder');
      } finally {
        t.process.kill('SIGKILL');
        await t.exited;
      }
    });
  }
  await refusedModel('a folder named .onnx', 'folder.onnx', null, ErrorCode.ModelInvalid, undefined, (f) =>
    fs.mkdirSync(f, { recursive: true }),
  );
  await refusedModel('a model path that does not exist', 'missing.onnx', null, ErrorCode.InputNotFound);
  await check(C, 'a relative model path is refused', async () => {
    tally(C).tried++;
    const r = await d.call('models/import', { path: 'models/evil.pth' });
    expectError(r, ErrorCode.InvalidParams, null, C);
  });
}

// ---------------------------------------------------------------------------------------

async function faults(modelsDir: string, mainDaemon: RawDaemon): Promise<void> {
  const C = 'faults';
  const folder = dir('faults');
  const srcFile = path.join(folder, 'photo.png');
  fs.writeFileSync(srcFile, await noisePng(rng, 112, 112));
  const env = { UPSCALE_MODELS_DIR: modelsDir };

  for (const stage of ['infer', 'encode'] as const) {
    await check(
      C,
      `SIGKILL during ${stage}: source untouched, no output; a new daemon removes what it left, and works`,
      async () => {
        tally(C).tried++;
        const before = snapshot(folder);
        const k = new RawDaemon(env);
        const { id, reply } = k.request('upscale', { input: srcFile, ...LONG_JOB });
        const reached = await k.waitProgress(
          (p) => p.requestId === id && (stage === 'infer' ? p.stage === 'infer' && p.done >= 1 : p.stage === 'encode'),
          180000,
        );
        ensure(reached, `the job never reached ${stage}`);
        k.process.kill('SIGKILL');
        await k.exited;
        await reply;
        // The next daemon removes what the killed one was writing (daemon/temp-files.ts).
        const fresh = new RawDaemon(env);
        const r = expectOk(await fresh.call('upscale', { input: srcFile, scale: 2 }));
        fs.rmSync(r.outputPath);
        const after = snapshot(folder);
        const appeared = [...after.keys()].filter((n) => !before.has(n));
        for (const name of appeared) {
          if (name === 'photo@4x.png') {
            const meta = await sharp(path.join(folder, name)).metadata();
            ensure(meta.width === 448, 'a half-written output is in place');
            note(`SIGKILL during ${stage}: the job had already finished its rename`);
            fs.rmSync(path.join(folder, name));
          } else {
            totals.lost++;
            throw new CheckFailed(`after the kill and a new daemon's start, ${name} is still there`);
          }
        }
        ensureUnchanged(before, snapshot(folder), 'the folder');
        await fresh.stop();
        ensure(fresh.exitInfo?.code === 0, `the fresh daemon exited ${JSON.stringify(fresh.exitInfo)}`);
        countCrash(fresh, true);
      },
    );
  }

  for (const stage of ['infer', 'encode'] as const) {
    await check(
      C,
      `the client disappears (stdin closed) during ${stage}: job cancelled, partial removed, exit 0`,
      async () => {
        tally(C).tried++;
        const before = snapshot(folder);
        const c = new RawDaemon(env);
        const { id, reply } = c.request('upscale', { input: srcFile, ...LONG_JOB });
        const reached = await c.waitProgress(
          (p) => p.requestId === id && (stage === 'infer' ? p.stage === 'infer' && p.done >= 1 : p.stage === 'encode'),
          180000,
        );
        ensure(reached, `the job never reached ${stage}`);
        c.process.stdin?.end();
        const exit = await Promise.race([c.exited, sleep(60000).then(() => null)]);
        ensure(exit, 'the daemon did not exit within 60 s of losing its client');
        ensure(exit.code === 0, `the daemon exited with ${JSON.stringify(exit)}`);
        await reply;
        const after = snapshot(folder);
        const appeared = [...after.keys()].filter((n) => !before.has(n));
        if (stage === 'encode' && appeared.length === 1 && appeared[0] === 'photo@4x.png') {
          note('client gone during encode: the job finished its rename before noticing; the complete output was kept');
          fs.rmSync(path.join(folder, 'photo@4x.png'));
        }
        ensureUnchanged(before, snapshot(folder), 'the folder');
        countCrash(c, true);
      },
    );
  }

  // Out of memory in a tile, for real: a model whose arena allocation fails above 64 px.
  await check(C, 'out of memory in a tile: the tile is split and the job completes', async () => {
    tally(C).tried++;
    const file = path.join(dir('oom-src'), 'oom-64.onnx');
    fs.writeFileSync(file, oomAboveOnnx(64));
    const imported = await mainDaemon.call('models/import', { path: file });
    ensure(!imported.error, `import failed: ${imported.error?.message}`);
    const id = (imported.result as { model: { id: string } }).model.id;
    const out = dir('oom-out');
    const r = expectOk(await mainDaemon.call('upscale', { input: srcFile, output: out, model: id, tile: 0 }));
    ensure(r.width === 224 && r.height === 224, `size ${r.width}x${r.height}`);
    const meta = await sharp(r.outputPath).stats();
    ensure(
      meta.channels.every((ch) => Number.isFinite(ch.mean)),
      'bad pixels',
    );
  });

  // The disk filling during the write: a 64 KiB tmpfs, empty, and a ~400 KB PNG to write.
  const small = dir('fills');
  if (tryMount(small, 'size=64k')) {
    mounts.push(small);
    await check(C, 'the disk fills during the write: OutputNotWritable, no partial, the daemon lives', async () => {
      tally(C).tried++;
      const before = snapshot(small);
      const r = await mainDaemon.call('upscale', { input: srcFile, output: small });
      ensure(r.error, 'the job succeeded on a 64 KiB disk');
      ensure(
        r.error.code === ErrorCode.OutputNotWritable && /disk is full|No space left on device/.test(r.error.message),
        `${r.error.code}: ${r.error.message}`,
      );
      tally(C).expectedErrors++;
      ensureUnchanged(before, snapshot(small), 'the small disk');
      const ok = expectOk(await mainDaemon.call('upscale', { input: srcFile, output: dir('fills-ok'), scale: 1.5 }));
      fs.rmSync(ok.outputPath);
    });
  }

  // A models folder on a full disk: the import fails for the folder, not for the model.
  const fullModels = dir('models-full');
  if (tryMount(fullModels, 'size=64k')) {
    mounts.push(fullModels);
    await check(C, 'a model imported into a full models folder: OutputNotWritable, not ModelInvalid', async () => {
      tally(C).tried++;
      const t = new RawDaemon({ UPSCALE_MODELS_DIR: fullModels });
      try {
        const file = path.join(dir('models-full-src'), 'big-x4.onnx');
        fs.copyFileSync(path.join(builtinModelsDir(), 'realesr-general-x4v3.onnx'), file);
        const before = snapshot(fullModels);
        const r = await t.call('models/import', { path: file });
        ensure(r.error, 'the import succeeded on a 64 KiB disk');
        ensure(
          r.error.code === ErrorCode.OutputNotWritable && /disk is full/.test(r.error.message),
          `${r.error.code}: ${r.error.message}`,
        );
        tally(C).expectedErrors++;
        ensureUnchanged(before, snapshot(fullModels), 'the full models folder');
      } finally {
        t.process.kill('SIGKILL');
        await t.exited;
      }
    });
  }
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  if (!fs.existsSync(DAEMON_ENTRY)) throw new Error(`${DAEMON_ENTRY} is missing: run \`npm run build\` first`);
  if (!fs.existsSync(path.join(builtinModelsDir(), 'realesr-general-x4v3.onnx')))
    throw new Error('the built-in models are missing: run `npm run setup-models` first');
  process.stdout.write(`hostile suite: seed ${SEED}, scratch ${ROOT}\n`);
  const modelsDir = dir('models');
  const d = new RawDaemon({ UPSCALE_MODELS_DIR: modelsDir });
  try {
    await check('setup', 'initialize', async () => {
      const r = await d.call('initialize', { clientName: 'hostile' });
      ensure(!r.error, r.error?.message ?? '');
    });
    const sections = ['images', 'models', 'faults', 'fuzz', 'load'];
    const only = process.env.HOSTILE_ONLY?.split(',') ?? sections;
    // A misspelt section would run nothing and still report success.
    const unknown = only.filter((s) => !sections.includes(s));
    if (unknown.length > 0)
      throw new Error(`HOSTILE_ONLY names ${unknown.join(', ')}; the sections are ${sections.join(', ')}`);
    if (only.includes('images')) {
      process.stdout.write('\n[images]\n');
      await images(d);
    }
    if (only.includes('models')) {
      process.stdout.write('\n[models]\n');
      await models(d, modelsDir);
    }
    if (only.includes('faults')) {
      process.stdout.write('\n[faults]\n');
      await faults(modelsDir, d);
    }
    if (only.includes('fuzz')) {
      process.stdout.write('\n[protocol fuzzer]\n');
      await fuzz(SEED, modelsDir);
    }
    if (only.includes('load')) {
      process.stdout.write('\n[load]\n');
      await load(rng, modelsDir);
    }
    await check('setup', 'the main daemon is alive at the end and exits 0', async () => {
      ensure(d.alive, 'the main daemon died');
      await d.stop();
      ensure(d.exitInfo?.code === 0, `exit ${JSON.stringify(d.exitInfo)}`);
    });
    countCrash(d, true);
  } finally {
    if (d.alive) d.process.kill('SIGKILL');
    unmountAll();
  }

  const all = [...allTallies()];
  const passed = all.reduce((n, [, t]) => n + t.passed, 0);
  const failed = all.reduce((n, [, t]) => n + t.failed, 0) + (totals.crashes > 0 ? 1 : 0);
  process.stdout.write('\n=== hostile suite report ===\n');
  process.stdout.write(
    `${'category'.padEnd(18)}${'inputs tried'.padStart(14)}${'errors as expected'.padStart(20)}${'checks passed'.padStart(15)}${'failed'.padStart(8)}\n`,
  );
  for (const [name, t] of all) {
    process.stdout.write(
      `${name.padEnd(18)}${String(t.tried).padStart(14)}${String(t.expectedErrors).padStart(20)}${String(t.passed).padStart(15)}${String(t.failed).padStart(8)}\n`,
    );
  }
  process.stdout.write(`crashes: ${totals.crashes}\n`);
  process.stdout.write(`files lost or half-written: ${totals.lost}\n`);
  process.stdout.write(`time: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (notes.length) process.stdout.write(`notes:\n${notes.map((n) => `  - ${n}`).join('\n')}\n`);
  if (failures.length) process.stdout.write(`failures:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  fs.rmSync(ROOT, { recursive: true, force: true });
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 || totals.crashes > 0 || totals.lost > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  unmountAll();
  process.stdout.write(`hostile suite aborted: ${(e as Error).stack ?? String(e)}\n`);
  process.stdout.write(`0 passed, 1 failed\n`);
  process.exitCode = 1;
});
