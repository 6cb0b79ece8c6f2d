// The daemon's log: every line goes to stderr (stdout carries only the protocol) and, once
// a client is connected, to it as a `$/log` notification.
import type { LogLevel, LogParams } from '../contract/protocol';

type Forward = (params: LogParams) => void;

let forward: Forward | null = null;

export function forwardLogs(to: Forward | null): void {
  forward = to;
}

export function log(level: LogLevel, message: string): void {
  process.stderr.write(`[upscale ${level}] ${message}\n`);
  forward?.({ level, message });
}
