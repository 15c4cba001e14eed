/** A node's configuration as `node cluster.js <argv>` would read it (src/node/options.ts), for the option tests. */
import { command, toNodeConfig, type CliOptions } from '../../src/node/options.js';

export type NodeConfig = ReturnType<typeof toNodeConfig>;

/**
 * Parses `argv` with the node's command line, with `env` added to the process's environment while
 * it does, and returns the configuration; throws what the node would refuse to start with
 * (commander's errors are thrown, not printed).
 */
export function nodeConfigOf(argv: readonly string[], env: Readonly<Record<string, string>> = {}): NodeConfig {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const cmd = command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    const opts = cmd.parse([...argv], { from: 'user' }).opts<CliOptions>();
    return toNodeConfig(opts, (k) => cmd.getOptionValueSource(k));
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
