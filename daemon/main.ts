// `upscale daemon`: serve the protocol on stdin/stdout until the client says `exit` or
// goes away. stdout belongs to the protocol, so console output is sent to stderr.
import { serveDaemon } from './server';
import { log } from './log';

export async function runDaemon(): Promise<void> {
  // Anything that calls console.log must not corrupt the frame stream.
  console.log = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
  process.on('uncaughtException', (e) => log('error', `uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log('error', `unhandled rejection: ${String(e)}`));
  const endpoint = serveDaemon(process.stdin, process.stdout);
  await endpoint.closed;
  await endpoint.service.shutdown();
  // Let the last responses drain before leaving.
  process.stdout.write('', () => process.exit(0));
}
