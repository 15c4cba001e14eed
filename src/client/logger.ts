/** Where the client reports what it does on its own (offset resets, retries, leader moves). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** The default: warnings and errors on stderr, like kafkajs. */
export const consoleLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (message, fields) => console.warn(`raftlog: ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`raftlog: ${message}`, fields ?? ''),
};
