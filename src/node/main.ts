/**
 * `node cluster.js [options]`: with options, run one node (launch.ts); with none, run the embedded
 * 3-node cluster (embedded.ts). The node runs with every production part (node.ts NodeParts): the
 * options of this command line can tune it, never make it cheat or cut its links.
 */
import { runEmbedded } from './embedded.js';
import { exitOnFailure, runNode } from './launch.js';
import { RaftlogNode } from './node.js';
import { command } from './options.js';

const argv = process.argv.slice(2);
void exitOnFailure(() => (argv.length === 0 ? runEmbedded() : runNode({ argv, command: command(), script: 'cluster.js', build: (config) => new RaftlogNode(config) })));
