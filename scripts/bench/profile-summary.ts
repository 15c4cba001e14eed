/**
 * `node dist/scripts/bench/profile-summary.js FILE.cpuprofile... [--top 25]`: where a node's CPU
 * time went, from the profiles `npm run bench -- --profile` (node --cpu-prof) writes. Prints the
 * share of samples per function (self time), with its file, heaviest first, and the share spent
 * idle, in garbage collection and in the program.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const files = args.filter((a, i) => a !== '--top' && (topAt < 0 || i !== topAt + 1));
if (files.length === 0) {
  process.stderr.write('usage: node dist/scripts/bench/profile-summary.js FILE.cpuprofile... [--top 25]\n');
  process.exit(2);
}

for (const file of files) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${shorten(f.url)}:${f.lineNumber + 1}`;
    const k = `${f.functionName || '(anonymous)'}${where}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const total = p.samples.length;
  const share = (k: string): number => (counts.get(k) ?? 0) / total;
  const idle = share('(idle)');
  const gc = share('(garbage collector)');
  process.stdout.write(`${path.basename(file)}: ${total} samples; idle ${(idle * 100).toFixed(1)}%, GC ${(gc * 100).toFixed(1)}%, busy ${((1 - idle) * 100).toFixed(1)}%\n`);
  const rows = [...counts.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, n] of rows) process.stdout.write(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
}

function shorten(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url.replace(/^node:/, 'node:');
}
