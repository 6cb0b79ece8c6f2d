// The daemon's stderr, line by line, as the Upscale log shows it. Pure.
//
// The daemon's own lines there are copies of its `$/log` notifications: a running daemon's
// reach the log as notifications, so only those of `--clean`, which has no client, are
// read from here. What native libraries print straight to the stream (onnxruntime's logger, Dawn's
// warnings, Mesa's complaint about XDG_RUNTIME_DIR) says nothing is wrong with a job, so it
// goes to debug level, cleaned of the terminal's colour codes. Anything else, such as a
// crash's trace, stays a warning.
import type { LogLevel } from '../contract/protocol';

/** Daemon stderr lines in this form are copies of `$/log` notifications (daemon/log.ts). */
const OWN_LINE = /^\[upscale (error|warn|info|debug)\] /;
const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Terminal control sequences (colours, cursor moves): CSI … final byte, and lone ESC pairs. */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;

const LIBRARY_LINES: readonly RegExp[] = [
  // onnxruntime's logger: "2026-12-07 04:05:44.304 [E:onnxruntime:onnxruntime-node, file.cc:12 Fn] …"
  /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \[[VIWEF]:onnxruntime:/,
  // Dawn (onnxruntime's WebGPU) and its source location on the next line.
  /^(Warning|Info): /,
  /^\s+at .+\.(cc|cpp|h)(:\d+)?\)?$/,
  /XDG_RUNTIME_DIR/,
];

export interface StderrLine {
  readonly level: LogLevel;
  readonly message: string;
  /** One of the daemon's own lines (its level and message as it logged them). */
  readonly own: boolean;
}

/** One line of the daemon's stderr as a log line, or null when it is blank. */
export function stderrLine(raw: string): StderrLine | null {
  const text = raw.replace(ESCAPES, '').trimEnd();
  if (text.trim() === '') return null;
  const own = OWN_LINE.exec(text);
  const level = LEVELS.find((l) => l === own?.[1]);
  if (own && level) return { level, message: text.slice(own[0].length), own: true };
  const library = LIBRARY_LINES.some((p) => p.test(text));
  return { level: library ? 'debug' : 'warn', message: `daemon stderr: ${text}`, own: false };
}
