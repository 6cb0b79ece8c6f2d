import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WEBVIEW_ACTIONS, parseToWebviewMessage, parseWebviewMessage } from '../../webview/messages';
import { DEFAULT_VIEW, parsePreviewState } from '../../webview/state';

test('every known action is accepted as exactly { type }', () => {
  for (const type of WEBVIEW_ACTIONS) assert.deepEqual(parseWebviewMessage({ type }), { type });
  assert.deepEqual(parseWebviewMessage(JSON.parse('{"type":"saveAs"}')), { type: 'saveAs' });
  // The page's width: a number and nothing else.
  assert.deepEqual(parseWebviewMessage({ type: 'width', width: 512 }), { type: 'width', width: 512 });
  assert.deepEqual(parseWebviewMessage({ width: 0, type: 'width' }), { type: 'width', width: 0 });
});

test('hostile and malformed webview messages are rejected', () => {
  const rejected: unknown[] = [
    undefined,
    null,
    'saveAs',
    42,
    [],
    ['saveAs'],
    {},
    { type: 'unknown' },
    { type: 'SAVEAS' },
    { type: 7 },
    { type: ['saveAs'] },
    { type: 'saveAs', path: '/etc/passwd' }, // the webview may not choose the destination
    { type: 'saveAs', uri: 'file:///tmp/x.png' },
    { type: 'reveal', path: '/home/user/.ssh/id_rsa' }, // nor what to reveal
    { type: 'upscaleAgain', input: '/somewhere/else.png' }, // nor what to upscale
    { type: 'openOutput', path: 'C:\\Windows\\win.ini' },
    { type: 'ready', extra: undefined },
    JSON.parse('{"type":"saveAs","__proto__":{"path":"/x"}}'),
    Object.create({ type: 'saveAs' }),
    Object.assign(Object.create(null), { type: 'saveAs' }),
    { type: 'toString' },
    { type: 'constructor' },
    { type: 'width' },
    { type: 'width', width: '512' },
    { type: 'width', width: -1 },
    { type: 'width', width: Number.POSITIVE_INFINITY },
    { type: 'width', width: 1e9 },
    { type: 'width', width: 512, path: '/etc/passwd' },
    { type: 'saveAs', width: 512 },
  ];
  for (const value of rejected) assert.equal(parseWebviewMessage(value), undefined, JSON.stringify(value));
});

test('messages to the webview are shape-checked', () => {
  const job = {
    inputName: 'a.png',
    input: '/x/a.png',
    model: 'realesrgan-x4plus',
    originalUri: 'https://file+.vscode-resource/x/a.png',
  };
  const result = {
    outputPath: '/x/a@4x.png',
    outputUri: 'https://file+.vscode-resource/x/a@4x.png',
    width: 400,
    height: 300,
    inputWidth: 100,
    inputHeight: 75,
    model: 'realesrgan-x4plus',
    provider: 'cpu',
    passes: 1,
    totalMs: 1234,
    warnings: [],
  };
  assert.ok(parseToWebviewMessage({ type: 'init', job }));
  assert.ok(parseToWebviewMessage({ type: 'init', job, result, error: 'x' }));
  assert.ok(parseToWebviewMessage({ type: 'complete', result }));
  assert.ok(parseToWebviewMessage({ type: 'failed', message: 'Out of memory' }));
  assert.ok(parseToWebviewMessage({ type: 'empty', reason: 'gone' }));
  const preview = { png: 'iVBORw0KGgo=', rect: { x: 0, y: 0, width: 10, height: 10 }, scale: 0.5 };
  assert.ok(
    parseToWebviewMessage({
      type: 'progress',
      progress: { stage: 'infer', pass: 1, passes: 2, done: 1, total: 4, preview },
    }),
  );
  assert.equal(
    parseToWebviewMessage({ type: 'progress', progress: { stage: 'infer', pass: '1', passes: 2, done: 1, total: 4 } }),
    undefined,
  );
  assert.equal(
    parseToWebviewMessage({
      type: 'progress',
      progress: { stage: 'infer', pass: 1, passes: 2, done: 1, total: 4, preview: { ...preview, scale: 0 } },
    }),
    undefined,
  );
  const counts = { stage: 'infer', pass: 1, passes: 1, done: 0, total: 1 };
  assert.ok(
    parseToWebviewMessage({ type: 'progress', progress: { ...counts, estimate: { fraction: 0.2, leftMs: 9 } } }),
  );
  assert.ok(parseToWebviewMessage({ type: 'progress', progress: { ...counts, queuePosition: 2 } }));
  for (const bad of [
    { ...counts, stage: 'thinking' },
    { ...counts, estimate: { fraction: '0.2' } },
    { ...counts, estimate: { fraction: 0.2, leftMs: null } },
    { ...counts, queuePosition: 'next' },
  ])
    assert.equal(parseToWebviewMessage({ type: 'progress', progress: bad }), undefined, JSON.stringify(bad));
  assert.equal(parseToWebviewMessage({ type: 'complete', result: { ...result, width: 'wide' } }), undefined);
  assert.equal(parseToWebviewMessage({ type: 'complete', result: { ...result, outputUri: undefined } }), undefined);
  assert.equal(parseToWebviewMessage({ type: 'init', job: { ...job, input: 3 } }), undefined);
  assert.equal(parseToWebviewMessage({ type: 'nope' }), undefined);
  assert.equal(parseToWebviewMessage(null), undefined);
});

test('saved state: a well-formed state round-trips, view fields fall back one by one', () => {
  const state = {
    version: 1,
    job: { input: '/x/a.png', model: 'm', outputPath: '/x/a@4x.png' },
    result: {
      outputPath: '/x/a@4x.png',
      width: 400,
      height: 300,
      inputWidth: 100,
      inputHeight: 75,
      model: 'm',
      provider: 'cpu',
      passes: 1,
      totalMs: 5,
      warnings: ['w'],
    },
    view: { fitted: false, zoom: 2, panX: -10, panY: 4 },
    mode: 'split',
    split: 0.3,
  };
  assert.deepEqual(parsePreviewState(JSON.parse(JSON.stringify(state))), state);
  const odd = parsePreviewState({ ...state, view: { zoom: 'big', panX: Infinity }, mode: 'sideways', split: 7 });
  assert.ok(odd);
  assert.deepEqual(odd.view, { fitted: true, zoom: 1, panX: 0, panY: 0 });
  assert.equal(odd.mode, 'side');
  assert.equal(odd.split, 1);
  assert.deepEqual(parsePreviewState({ ...state, view: undefined })?.view, DEFAULT_VIEW);
  // Anything else the state carried (a webview URI) is dropped.
  assert.equal(
    'outputUri' in (parsePreviewState({ ...state, result: { ...state.result, outputUri: 'x' } })?.result ?? {}),
    false,
  );
});

test('saved state: wrong versions, missing or mistyped paths are refused', () => {
  const base = { version: 1, job: { input: '/x/a.png', model: 'm' }, view: DEFAULT_VIEW, mode: 'side', split: 0.5 };
  assert.ok(parsePreviewState(base));
  for (const bad of [
    undefined,
    null,
    'state',
    { ...base, version: 2 },
    { ...base, job: undefined },
    { ...base, job: { input: 5, model: 'm' } },
    { ...base, job: { input: '', model: 'm' } },
    { ...base, job: { input: '/x/a.png' } },
    { ...base, job: { input: '/x/a.png', model: 'm', outputPath: ['/etc/passwd'] } },
    { ...base, result: { outputPath: 3 } },
  ]) {
    assert.equal(parsePreviewState(bad), undefined, JSON.stringify(bad));
  }
});
