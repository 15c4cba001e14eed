/**
 * `node cluster.js [options]`: with a node's options, run one node (launch.ts); with none (or only
 * --base-port, --kafka-base-port, --data), run the embedded 3-node cluster (embedded.ts). The node runs with every production part (node.ts NodeParts): the
 * options of this command line can tune it, never make it cheat or cut its links.
 */
import { embeddedOptions, runEmbedded } from './embedded.js';
import { exitOnFailure, runNode } from './launch.js';
import { RaftlogNode } from './node.js';
import { command } from './options.js';

const argv = process.argv.slice(2);
void exitOnFailure(() => {
  // Only --base-port, --kafka-base-port and --data (or nothing): the embedded cluster.
  const embedded = embeddedOptions(argv);
  return embedded !== null ? runEmbedded(embedded) : runNode({ argv, command: command(), script: 'cluster.js', build: (config) => new RaftlogNode(config) });
});
