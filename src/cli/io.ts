/**
 * What a CLI run talks to, passed in so tests can run commands in-process and capture output:
 * output lines, input, environment, a signal for Ctrl-C, and client options to override.
 */
import type { ClientOptions } from '../client/index.js';

export interface Io {
  /** Writes text to standard output (the caller adds newlines). */
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: a following consumer stops cleanly. */
  readonly signal?: AbortSignal;
  /** Overrides of the client's options (tests use quicker retries). */
  readonly clientOptions?: Partial<ClientOptions>;
}

/** The process's own streams and environment. */
export function processIo(signal: AbortSignal): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdin: process.stdin,
    env: process.env,
    signal,
  };
}
