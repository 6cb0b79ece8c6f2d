// Stand-in daemons for the supervisor's tests: scripts that speak the daemon's framing and
// answer `initialize` with a result typed against the contract, so a field the client comes
// to read is a build error here, not a TypeError when the tests run.
import type { InitializeResult } from '../contract/protocol';

export const STAND_IN_INITIALIZE: InitializeResult = {
  version: 'stand-in',
  protocolVersion: 1,
  providers: [],
  activeProvider: 'cpu',
  providerReason: 'cpu was requested',
  fp16: { available: false, reason: 'cpu' },
  modelsFolder: '/m',
  defaultModel: 'x',
  modelProblems: [],
};

/**
 * JavaScript for a stand-in's script: `send(message)` writes one framed message, and
 * `onMessage(handle)` calls `handle` with each message read from stdin.
 */
export const STAND_IN_FRAMING = String.raw`
  let buf = Buffer.alloc(0);
  const send = (m) => { const b = Buffer.from(JSON.stringify(m)); process.stdout.write('Content-Length: ' + b.length + '\r\n\r\n'); process.stdout.write(b); };
  const onMessage = (handle) => process.stdin.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString())[1]);
      if (buf.length < end + 4 + len) return;
      const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString());
      buf = buf.subarray(end + 4 + len);
      handle(msg);
    }
  });
  const initialized = (msg) => send({ jsonrpc: '2.0', id: msg.id, result: ${JSON.stringify(STAND_IN_INITIALIZE)} });
`;
