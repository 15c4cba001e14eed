#!/usr/bin/env node
// The raftlog command-line tool. It arrives with the node runtime (issue 4).
console.error('raftlog: the command-line tool is not built yet (issue 4).');
process.exit(1);
