/** Shared by the chaos tests: one short run in a temporary folder, kept only when it surprises. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChaos, type RunOptions, type RunResult } from '../../chaos/run.js';

/** Generous, so a loaded test machine cannot fail a correct cluster on liveness. */
export const TEST_LIVENESS_BOUND_MS = 20_000;

export type ScenarioOptions = Omit<RunOptions, 'dir'>;

/**
 * Runs a chaos scenario. The run folder is removed when `keep(result)` is false; otherwise its
 * path is in the result (and in the assertion message) for a person to look at.
 */
export async function scenario(name: string, o: ScenarioOptions, keep: (r: RunResult) => boolean): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raftlog-chaos-${name}-`));
  const result = await runChaos({ livenessBoundMs: TEST_LIVENESS_BOUND_MS, ...o, dir });
  if (!keep(result)) fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

/** What a failed assertion should show: the report, the run's notes and where the run is. */
export function explain(r: RunResult): string {
  return `${r.reportText}\nrun folder: ${r.dir}`;
}
