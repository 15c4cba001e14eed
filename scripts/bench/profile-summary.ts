/**
 * `node dist/scripts/bench/profile-summary.js FILE.cpuprofile... [--top 25]`: where a node's CPU
 * time went, from the profiles `npm run bench -- --profile` (node --cpu-prof) writes. Prints the
 * share of samples per function (self time), with its file, heaviest first, and the share spent
 * idle, in garbage collection and in the program; then the self time per file (which module the
 * CPU went to: ws, msgpackr, the host, storage...), and the inclusive time of each function (the
 * samples with it anywhere on the stack: what a call costs with everything it calls).
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
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

  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const id of p.samples) {
    const n = byId.get(id);
    if (n === undefined || n.callFrame.functionName === '(idle)') continue;
    const file = n.callFrame.url === '' ? `(${n.callFrame.functionName || 'native'})` : shorten(n.callFrame.url);
    byFile.set(file, (byFile.get(file) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f === undefined || f.functionName === '(root)') continue;
      const k = `${f.functionName || '(anonymous)'}${f.url === '' ? '' : ` ${shorten(f.url)}:${f.lineNumber + 1}`}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
  }
  process.stdout.write(`  self time by file:\n`);
  for (const [k, n] of [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
  process.stdout.write(`  inclusive (the function and what it calls):\n`);
  for (const [k, n] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
}

function shorten(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url.replace(/^node:/, 'node:');
}
