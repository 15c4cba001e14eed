/**
 * The reference histories (test/fixtures/histories, copied from /work/shared/histories): every
 * file must get its recorded verdict. etcd/: VERDICTS.txt says which are linearizable; kv/:
 * `-ok` files are linearizable and `-bad` files are not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHistoryFile } from '../../chaos/checker/parse/index.js';
import { checkParsed } from '../../chaos/checker/report.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'histories');

function verdictOf(path: string): { verdict: string; format: string } {
  const report = checkParsed(parseHistoryFile(readFileSync(path, 'utf8')));
  return { verdict: report.verdict, format: report.format };
}

describe('reference histories', () => {
  it('gives every etcd log its recorded verdict', () => {
    const expected = new Map(
      readFileSync(join(DIR, 'etcd', 'VERDICTS.txt'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [file, linearizable] = line.trim().split(/\s+/);
          return [file!, linearizable === 'true' ? 'valid' : 'invalid'] as const;
        }),
    );
    const files = readdirSync(join(DIR, 'etcd')).filter((f) => f.endsWith('.log'));
    expect(files.length).toBe(60);
    expect(expected.size).toBe(60);
    const got = new Map(files.map((f) => [f, verdictOf(join(DIR, 'etcd', f))]));
    for (const v of got.values()) expect(v.format).toBe('etcd-log');
    const mismatches = files.filter((f) => got.get(f)!.verdict !== expected.get(f));
    expect(mismatches).toEqual([]);
  });

  it('gives every etcd log the same verdict with its columns separated by spaces instead of tabs', () => {
    // Porcupine's parser takes any whitespace between the columns; so do copies of these logs
    // that passed through an editor or a pager.
    const files = readdirSync(join(DIR, 'etcd')).filter((f) => f.endsWith('.log'));
    const mismatches: string[] = [];
    files.forEach((f, k) => {
      const text = readFileSync(join(DIR, 'etcd', f), 'utf8');
      const spaced = text.replace(/\t/g, k % 2 === 0 ? ' ' : '    ');
      expect(spaced).not.toContain('\t');
      const tabbed = checkParsed(parseHistoryFile(text));
      const report = checkParsed(parseHistoryFile(spaced));
      if (report.format !== 'etcd-log' || report.verdict !== tabbed.verdict) mismatches.push(`${f}: ${report.format} ${report.verdict}`);
    });
    expect(mismatches).toEqual([]);
  });

  it('gives every key-value history its verdict', () => {
    const files = readdirSync(join(DIR, 'kv')).filter((f) => f.endsWith('.txt'));
    expect(files.length).toBe(4);
    for (const f of files) {
      const { verdict, format } = verdictOf(join(DIR, 'kv', f));
      expect(format).toBe('kv-edn');
      expect([f, verdict]).toEqual([f, f.endsWith('-ok.txt') ? 'valid' : 'invalid']);
    }
  });

  it('names the key and the operation that cannot be linearized', () => {
    const report = checkParsed(parseHistoryFile(readFileSync(join(DIR, 'kv', 'c01-bad.txt'), 'utf8')));
    expect(report.anomalyKinds).toEqual(['nonlinearizable']);
    const [a] = report.anomalies;
    expect(a).toMatchObject({ kind: 'nonlinearizable', partition: '7' });
  });
});
