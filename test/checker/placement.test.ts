/**
 * The final replica set check (chaos/checker/checks/placement.ts): a partition must end held by
 * exactly the replicas last asked for, each agreeing that they are its committed voters.
 */
import { describe, expect, it } from 'vitest';
import { checkPlacement, parsePlacements } from '../../chaos/checker/checks/placement.js';
import { HistoryFormatError } from '../../chaos/checker/errors.js';

const settled = { voters: ['n4', 'n2', 'n3'], learners: [], committed: true };
const file = (replicas: Record<string, unknown>, target = ['n4', 'n2', 'n3']): string => JSON.stringify({ 't/0': { target, replicas } });
const reasons = (text: string): string[] => checkPlacement(parsePlacements(text)).map((a) => (a.kind === 'replica-set' ? a.reason : a.kind));

describe('final replica sets', () => {
  it('accepts a partition held by exactly its target, in any order, all agreeing and committed', () => {
    expect(reasons(file({ n2: settled, n3: { ...settled, voters: ['n3', 'n2', 'n4'] }, n4: settled }))).toEqual([]);
  });

  it('flags a replica left on a node the partition moved off, and a target replica missing', () => {
    expect(reasons(file({ n1: settled, n2: settled, n3: settled, n4: settled }))).toEqual([expect.stringContaining('held by n1,n2,n3,n4, not n2,n3,n4')]);
    expect(reasons(file({ n2: settled, n3: settled }))).toEqual([expect.stringContaining('held by n2,n3, not n2,n3,n4')]);
  });

  it('flags a move that did not finish: a learner left over, an uncommitted configuration, voters that are not the target', () => {
    const [learner] = reasons(file({ n2: { ...settled, learners: ['n1'] }, n3: settled, n4: settled }));
    expect(learner).toContain('n2 has learners n1');
    const [uncommitted] = reasons(file({ n2: { ...settled, committed: false }, n3: settled, n4: settled }));
    expect(uncommitted).toContain("n2's configuration is not committed");
    const [voters] = reasons(file({ n2: { ...settled, voters: ['n1', 'n2', 'n3'] }, n3: settled, n4: settled }));
    expect(voters).toContain('n2 has voters n1,n2,n3');
  });

  it('refuses a file that is not a placement, saying where', () => {
    expect(() => parsePlacements('[')).toThrow(HistoryFormatError);
    expect(() => parsePlacements(file({ n2: { voters: 'n2', learners: [], committed: true } }))).toThrow(/n2's voters of t\/0/);
    expect(() => parsePlacements(file({ n2: { ...settled, committed: 'yes' } }))).toThrow(/committed must be true or false/);
  });
});
