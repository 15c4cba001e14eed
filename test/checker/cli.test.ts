/**
 * The CLI, run in-process through `main(argv)`: one line per file and the exit code.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ExitCode, main, type CliIo } from '../../chaos/checker/cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const HISTORIES = join(import.meta.dirname, '..', 'fixtures', 'histories');

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readText: (p) => readFile(p, 'utf8') };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('check CLI', () => {
  it('prints valid and exits 0 for a valid history', async () => {
    const file = join(FIXTURES, 'valid.jsonl');
    expect(await run(file)).toEqual({ code: ExitCode.Valid, out: [`${file}: valid`], err: [] });
  });

  it('prints the anomaly kinds and exits non-zero when any file is invalid', async () => {
    const valid = join(FIXTURES, 'valid.jsonl');
    const lost = join(FIXTURES, 'lost-write.jsonl');
    const etcdBad = join(HISTORIES, 'etcd', 'etcd_000.log');
    const kvOk = join(HISTORIES, 'kv', 'c01-ok.txt');
    const r = await run(valid, lost, etcdBad, kvOk);
    expect(r.out).toEqual([
      `${valid}: valid`,
      `${lost}: invalid (lost-write)`,
      `${etcdBad}: invalid (nonlinearizable)`,
      `${kvOk}: valid`,
    ]);
    expect(r.code).toBe(ExitCode.Invalid);
  });

  it('checks replica logs given with --replicas', async () => {
    const valid = join(FIXTURES, 'valid.jsonl');
    const r = await run(valid, '--replicas', join(FIXTURES, 'replicas-diverged.json'));
    expect(r.out).toEqual([`${valid}: invalid (replica-disagreement)`]);
    expect(r.code).toBe(ExitCode.Invalid);
  });

  it('prints unknown when the search limit is hit', async () => {
    const file = join(HISTORIES, 'etcd', 'etcd_002.log');
    const r = await run('--search-steps-max', '1000', file);
    expect(r.out).toEqual([`${file}: unknown`]);
    expect(r.code).toBe(ExitCode.Unknown);
  });

  it('prints the full report with --report', async () => {
    const lost = join(FIXTURES, 'lost-write.jsonl');
    const r = await run('--report', lost);
    expect(r.out[0]).toBe(`${lost}: invalid (lost-write)`);
    expect(r.out[1]).toContain('lost-write (1):');
    expect(r.out[1]).toContain('0-1 at t1/0@1');
  });

  it('reports an unreadable file as an error', async () => {
    const missing = join(FIXTURES, 'no-such-file.jsonl');
    const r = await run(missing);
    expect(r.out[0]).toMatch(new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error \\(`));
    expect(r.code).toBe(ExitCode.Invalid);
  });

  it('rejects a call without files', async () => {
    const r = await run();
    expect(r.code).toBe(ExitCode.Invalid);
    expect(r.err.join('\n')).toMatch(/missing required argument/);
  });
});
