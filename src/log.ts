/** Structured logs (pino): every line carries the node id; the level comes from --log-level. */
import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(node: string, level: LogLevel, file?: string): Logger {
  const dest = file !== undefined ? pino.destination({ dest: file, mkdir: true, sync: false }) : pino.destination({ fd: 2, sync: false });
  return pino({ level, base: { node }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
