#!/usr/bin/env node
// The node launcher. The node runtime arrives with issue 4; until then this says so plainly.
console.error('raftlog: the node runtime is not built yet (issue 4). Run the tests with `npm test`.');
process.exit(1);
