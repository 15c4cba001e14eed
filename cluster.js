#!/usr/bin/env node
// The node launcher: `node cluster.js --peers ...` runs one node; `node cluster.js` alone runs a
// local 3-node cluster. A thin entry over the compiled code (src/node/main.ts).
import { existsSync } from 'node:fs';

const main = new URL('./dist/src/node/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('raftlog: the compiled code is missing (dist/). Run `npm ci` (it builds) or `npm run build` first.');
  process.exit(1);
}
await import(main.href);
