/**
 * `node dist/scripts/bench/frame-mac.js [--frames N]`: what sealing and opening one peer frame
 * costs under each frame MAC (src/transport/peer-frames.ts), at the sizes peer frames have: a
 * Raft answer (200 B), a follower's append at a fixed rate (4 KB, 30 KB), one at full throughput
 * (256 KB). Microseconds per frame, seal and open, the median of five rounds of N frames each.
 */
import { Command } from 'commander';
import { FRAME_MACS, FrameOpener, FrameSealer, frameKeys } from '../../src/transport/peer-frames.js';

const SIZES = [200, 4 * 1024, 30 * 1024, 256 * 1024];
const ROUNDS = 5;

const opts = new Command('frame-mac')
  .description('microseconds to seal and open one peer frame under each frame MAC')
  .option('--frames <n>', 'frames per round', '20000')
  .parse()
  .opts<{ frames: string }>();
const frames = Number(opts.frames);
if (!Number.isSafeInteger(frames) || frames < 1) throw new Error(`--frames must be a positive integer, not '${opts.frames}'`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log('| frame bytes | ' + FRAME_MACS.map((a) => `${a} µs`).join(' | ') + ' |');
console.log('|---|' + FRAME_MACS.map(() => '---|').join(''));
for (const size of SIZES) {
  const frame = Buffer.alloc(size, 0x5a);
  const n = Math.max(1, Math.round((frames * 4096) / Math.max(size, 4096)));
  const cells: string[] = [];
  for (const algorithm of FRAME_MACS) {
    const h = { challengeNonce: 'a'.repeat(32), authNonce: 'b'.repeat(32), dialer: 'n1', acceptor: 'n2', algorithm };
    const dialer = frameKeys('bench-secret', h, 'dialer');
    const acceptor = frameKeys('bench-secret', h, 'acceptor');
    const perFrame: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const seal = new FrameSealer(dialer.send, algorithm);
      const open = new FrameOpener(acceptor.receive, algorithm);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) open.open(seal.seal(frame));
      perFrame.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
    }
    cells.push(median(perFrame).toFixed(2));
  }
  process.stderr.write(`[frame-mac] ${size} B done\n`);
  console.log(`| ${size} | ${cells.join(' | ')} |`);
}
