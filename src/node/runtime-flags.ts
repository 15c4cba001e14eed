/**
 * The Node.js runtime flags a node starts with. V8 reads its heap settings once, when the process
 * starts: they cannot be applied from inside a running node (v8.setFlagsFromString leaves the heap
 * as it is) nor through NODE_OPTIONS (which refuses them). So whatever starts a node passes them on
 * its command line: `node cluster.js` gives them to the three nodes it starts, the test, chaos and
 * benchmark clusters give them to theirs, and a node started by hand without them says so in its
 * log, with the command to use.
 *
 * `--initial-old-space-size=256`: a floor of 256 MiB under V8's old-generation limit. A node's own
 * heap is small (about 10 MiB live), so by default V8 sets the limit a few MiB above that, and
 * what outlives two young-generation collections while requests are being replicated fills it in a
 * fraction of a second. Measured with one producer of 1 KB records (`--trace-gc` on each node):
 * 4-5 mark-compact collections per second per node, each a 4-20 ms pause ("GC in old space
 * requested"), and 44% of the commits slower than 7 ms overlapped one. With the floor: 9-15
 * across the three nodes in the same 6 s run (81 without), and the one-producer throughput went
 * from a median of 30.6k to 41.0k records/s over five alternating runs each. The cost is memory,
 * and only when used: the old generation may grow to 256 MiB before it is collected.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--initial-old-space-size=256'];

/** The flags of NODE_RUNTIME_FLAGS that `execArgv` does not set (to any value: an operator's own wins). */
export function missingRuntimeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map(flagName));
  return NODE_RUNTIME_FLAGS.filter((f) => !given.has(flagName(f)));
}

/** `--initial-old-space-size=256` → `--initial-old-space-size` (V8 also accepts underscores). */
function flagName(arg: string): string {
  return arg.split('=')[0]!.replaceAll('_', '-');
}
