// The `upscale` executable: `upscale daemon` serves the protocol; anything else is the CLI,
// which starts this same file (process.argv[1]) as its daemon. The daemon in turn starts
// this file as `upscale probe-providers MODE LIST` to probe GPU providers apart from itself.
import { runDaemon } from './main';
import { runCli } from './cli';
import { probeChildMain } from './runtime/probe-child';

const [, entry = '', ...argv] = process.argv;
if (argv[0] === 'daemon' && argv.length === 1) {
  void runDaemon();
} else if (argv[0] === 'probe-providers' && argv.length === 3) {
  probeChildMain(argv[1] ?? '', argv[2] ?? '').then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`probe-providers: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
} else {
  runCli(argv, entry).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`upscale: error: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
