/**
 * Two kinds of failure (see STYLE.md). A history the checker cannot read is an expected condition:
 * `HistoryFormatError` names the line and what was wrong, and the CLI reports it per file. A broken
 * invariant of the checker itself is a bug: `assert` throws `CheckerInvariantError`.
 */

/** The input is not a history in any format the checker reads. */
export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
  constructor(
    message: string,
    /** 1-based line of the input where the problem is, when there is one. */
    readonly line: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(line === null ? message : `line ${line}: ${message}`, options);
  }
}

export class CheckerInvariantError extends Error {
  override readonly name = 'CheckerInvariantError';
}

export function assert(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new CheckerInvariantError(message());
}

/** For the `default` branch of a switch that must cover every case of a union. */
export function unreachable(value: never): never {
  throw new CheckerInvariantError(`unhandled case ${JSON.stringify(value)}`);
}
