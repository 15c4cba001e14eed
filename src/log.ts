/** Structured logs (pino): every line carries the node id; the level comes from --log-level. */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(node: string, level: LogLevel, file?: string): Logger {
  // The file is opened here, not by the destination: one it opens itself is not ready for a few
  // turns, and a node that exits before then (a start refused) would crash in pino's flush at exit
  // instead of saying why it stopped.
  const fd = file !== undefined ? openLogFile(file) : 2;
  const dest = pino.destination({ fd, sync: false });
  return pino({ level, base: { node }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

function openLogFile(file: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return fs.openSync(file, 'a');
}
