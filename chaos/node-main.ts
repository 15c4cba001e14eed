/**
 * The chaos entry point: `node dist/chaos/node-main.js [options]` runs one node as `node
 * cluster.js` does (the same command line, src/node/options.ts, run by src/node/launch.ts), plus
 * two options that only test clusters may have, each also read from an environment variable:
 *
 * - `--unsafe-mutant <name>` (RAFTLOG_UNSAFE_MUTANT): the node cheats in a named way (mutants.ts),
 *   to prove that the chaos checker catches it;
 * - `--chaos-endpoints` (RAFTLOG_CHAOS_ENDPOINTS): the node's peer transport is wrapped so that
 *   `POST /chaos/network` on its listener can cut it off from chosen peers (network-cuts.ts).
 *
 * - RAFTLOG_FAULTS="sync:stall:500,append:throw:after:100": storage fault points armed on the
 *   node's disk (fault-points.ts).
 *
 * Each is warned about loudly in the node's log. Without them the node is built exactly as
 * `node cluster.js` builds it. The chaos and test clusters (cluster.ts) start their nodes here.
 */
import { Option, type Command } from 'commander';
import { exitOnFailure, runNode } from '../src/node/launch.js';
import { RaftlogNode, type NodeConfig } from '../src/node/node.js';
import { command, type CliOptions } from '../src/node/options.js';
import { nodeFileSystem } from '../storage/file-system.js';
import { FaultPoints, FaultyFileSystem } from './fault-points.js';
import { MUTANT_NAMES, mutantParts, type Mutant } from './mutants.js';
import { NETWORK_PATH, NetworkCuts, cutTransport, networkRoute } from './network-cuts.js';

interface ChaosOptions extends CliOptions {
  unsafeMutant?: Mutant;
  chaosEndpoints?: boolean;
}

function chaosCommand(): Command {
  return command()
    .name('node dist/chaos/node-main.js')
    .description(
      'Start one node of a test or chaos cluster. It takes the options of `node cluster.js` (not its embedded default) and two more that make the node cheat or be cut off on purpose.\n' +
        'Every option can also be set with an environment variable RAFTLOG_<OPTION>, and all but those two in a JSON file given with --config.',
    )
    .addOption(new Option('--chaos-endpoints', `TESTING ONLY: serve POST ${NETWORK_PATH}, which makes this node drop traffic to and from chosen peers`).env('RAFTLOG_CHAOS_ENDPOINTS'))
    .addOption(new Option('--unsafe-mutant <name>', 'TESTING ONLY: make this node cheat in a named way, to prove the chaos checker catches it').choices(MUTANT_NAMES).env('RAFTLOG_UNSAFE_MUTANT'));
}

function build(config: NodeConfig, o: ChaosOptions): RaftlogNode {
  const cuts = o.chaosEndpoints === true ? new NetworkCuts() : null;
  const faults = process.env['RAFTLOG_FAULTS'] ?? '';
  const node: RaftlogNode = new RaftlogNode(config, {
    ...(faults.trim() !== '' ? { fs: new FaultyFileSystem(nodeFileSystem, FaultPoints.parse(faults)) } : {}),
    ...(o.unsafeMutant !== undefined ? mutantParts(o.unsafeMutant) : {}),
    ...(cuts !== null ? { transport: cutTransport(cuts), routes: new Map([[NETWORK_PATH, networkRoute(cuts, () => node.logger)]]) } : {}),
  });
  if (o.unsafeMutant !== undefined) node.logger.warn({ mutant: o.unsafeMutant }, `UNSAFE: this node runs the mutant '${o.unsafeMutant}' and breaks its guarantees on purpose (testing only)`);
  if (faults.trim() !== '') node.logger.warn({ faults }, `storage fault points are armed: ${faults} (testing only)`);
  if (o.chaosEndpoints === true) node.logger.warn(`chaos endpoints are on: POST ${NETWORK_PATH} can cut this node off (testing only)`);
  return node;
}

void exitOnFailure(() => runNode<ChaosOptions>({ argv: process.argv.slice(2), command: chaosCommand(), script: 'dist/chaos/node-main.js', build }));
