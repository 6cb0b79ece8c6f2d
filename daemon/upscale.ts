// The `upscale` executable: `upscale daemon` serves the protocol; anything else is the CLI,
// which starts this same file (process.argv[1]) as its daemon.
import { runDaemon } from './main';
import { runCli } from './cli';

const [, entry = '', ...argv] = process.argv;
if (argv[0] === 'daemon' && argv.length === 1) {
  void runDaemon();
} else {
  runCli(argv, entry).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`upscale: error: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
