import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser, frame, MAX_MESSAGE_BYTES } from '../../contract/rpc/framing';

function parse(chunks: Buffer[]): { messages: string[]; problems: string[] } {
  const messages: string[] = [];
  const problems: string[] = [];
  const p = new FrameParser({ message: (m) => messages.push(m), malformed: (e) => problems.push(e) });
  for (const c of chunks) p.push(c);
  return { messages, problems };
}

test('frames split anywhere and joined together are all read', () => {
  const all = Buffer.concat([frame('{"a":1}'), frame('{"b":"é"}'), frame('{}')]);
  for (let cut = 1; cut < all.length; cut += 3) {
    const r = parse([all.subarray(0, cut), all.subarray(cut)]);
    assert.deepEqual(r.messages, ['{"a":1}', '{"b":"é"}', '{}']);
  }
  const bytes = parse([...all].map((b) => Buffer.from([b])));
  assert.equal(bytes.messages.length, 3);
});

test('bad headers are reported and the parser recovers at the next frame', () => {
  for (const bad of [
    'Content-Length: -5\r\n\r\n',
    'Content-Length: abc\r\n\r\n',
    `Content-Length: ${MAX_MESSAGE_BYTES + 1}\r\n\r\n`,
    'X-Other: 1\r\n\r\n{}',
  ]) {
    const r = parse([Buffer.from(bad), frame('{"ok":true}')]);
    assert.equal(r.problems.length, 1, bad);
    assert.deepEqual(r.messages, ['{"ok":true}'], bad);
  }
  const huge = parse([Buffer.from('Content-Length: 99999999999999999999\r\n\r\n'), frame('{}')]);
  assert.match(huge.problems[0] ?? '', /not a non-negative integer|exceeds/);
  assert.deepEqual(huge.messages, ['{}']);
});

test('a header without an end is bounded', () => {
  const r = parse([Buffer.alloc(20000, 'x'), frame('{}')]);
  assert.equal(r.problems.length, 1);
  assert.deepEqual(r.messages, ['{}']);
});
