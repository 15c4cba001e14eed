/** A node cannot start: the message says what is wrong and what to do. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}
