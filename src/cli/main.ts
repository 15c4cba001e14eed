/** The `raftlog` process: runs main() on the command line; Ctrl-C stops a following consumer. */
import { main } from './program.js';
import { processIo } from './io.js';

/** How long a command may take to stop cleanly after Ctrl-C. */
const ABORT_GRACE_MS = 5000;

const controller = new AbortController();
let interrupted = false;
const onSignal = (): void => {
  // A second Ctrl-C leaves at once.
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort();
  // Commands that wait (consume --follow, produce) stop on the abort; anything else is cut short.
  setTimeout(() => process.exit(130), ABORT_GRACE_MS).unref();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// The reader went away (`raftlog consume t | head`): stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2), processIo(controller.signal));
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
