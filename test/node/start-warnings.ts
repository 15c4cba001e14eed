/** What a test cluster's first node warned about as it started, read from its log file. */
import fs from 'node:fs';
import { sleep, type LocalCluster } from '../../chaos/cluster.js';

/** The node's warnings up to the line that says it listens (written after them, in order); waits for that line. */
export async function warningsAtStart(c: LocalCluster): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    // The node may be writing its last line as it is read (or not have opened the file yet): only whole lines count.
    const text = fs.existsSync(c.nodes[0]!.logFile) ? fs.readFileSync(c.nodes[0]!.logFile, 'utf8') : '';
    const lines = text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    if (lines.some((l) => l.msg.includes('listening on'))) return lines.filter((l) => l.level === 40).map((l) => l.msg);
    await sleep(50);
  }
  throw new Error('the node never logged that it listens');
}
