import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, RaftConfigError, validateConfig, type RaftConfig, type RaftLimits } from '../../raft/config.js';
import { MemoryStorage } from '../../raft/memory-storage.js';
import { Raft } from '../../raft/raft.js';
import { seededRandom } from '../../raft/random.js';
import { encodeMembership } from '../../raft/membership.js';
import { EntryKind } from '../../raft/types.js';

function config(over: Partial<RaftConfig> = {}, limits: Partial<RaftLimits> = {}): RaftConfig {
  return { id: 'a', voters: ['a', 'b', 'c'], storage: new MemoryStorage(), random: seededRandom(1), limits, ...over };
}

function configError(c: RaftConfig): RaftConfigError {
  try {
    validateConfig(c);
  } catch (e) {
    if (e instanceof RaftConfigError) return e;
    throw e;
  }
  throw new Error('validateConfig accepted the config');
}

describe('config: limits are checked against each other at start-up', () => {
  it('config: a valid config gets the defaults for the limits it leaves out', () => {
    const limits = validateConfig(config({}, { electionTicks: 20, heartbeatTicks: 3 }));

    expect(limits).toEqual({ ...DEFAULT_LIMITS, electionTicks: 20, heartbeatTicks: 3 });
  });

  for (const [heartbeatTicks, electionTicks] of [[10, 10], [12, 10]] as const) {
    it(`config: heartbeatTicks ${heartbeatTicks} >= electionTicks ${electionTicks} is rejected, naming both`, () => {
      const err = configError(config({}, { heartbeatTicks, electionTicks }));

      expect(err.name).toBe('RaftConfigError');
      expect(err.message).toContain(`heartbeatTicks ${heartbeatTicks}`);
      expect(err.message).toContain(`electionTicks ${electionTicks}`);
    });
  }

  it('config: appendBytesMax above inFlightBytesMax is rejected, naming both', () => {
    const err = configError(config({}, { appendBytesMax: 2048, inFlightBytesMax: 1024 }));

    expect(err.message).toContain('appendBytesMax 2048');
    expect(err.message).toContain('inFlightBytesMax 1024');
  });

  it('config: entryBytesMax above uncommittedBytesMax is rejected, naming both', () => {
    const err = configError(config({}, { entryBytesMax: 200, uncommittedBytesMax: 100 }));

    expect(err.message).toContain('entryBytesMax 200');
    expect(err.message).toContain('uncommittedBytesMax 100');
  });

  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof RaftLimits)[]) {
    for (const bad of [0, -1, 1.5]) {
      it(`config: limit ${name} = ${bad} is rejected as not a positive integer`, () => {
        const err = configError(config({}, { [name]: bad }));

        expect(err.message).toContain(name);
        expect(err.message).toContain(String(bad));
      });
    }
  }

  it('config: a member listed twice among the voters is rejected, naming the members', () => {
    const err = configError(config({ voters: ['a', 'b', 'a'] }));

    expect(err.message).toContain('a, b, a');
  });

  it('config: a member listed both as voter and learner is rejected, naming the members', () => {
    const err = configError(config({ voters: ['a', 'b', 'c'], learners: ['c'] }));

    expect(err.message).toContain('a, b, c, c');
  });

  it('config: a new group (its log holds no configuration) whose members do not include the id is refused, naming the id and the members', () => {
    expect(() => new Raft(config({ id: 'z' }))).toThrow(RaftConfigError);
    expect(() => new Raft(config({ id: 'z' }))).toThrow(/z: .*voters a,b,c/);
  });

  it('config: a member whose log says it was removed starts (and does not campaign): the log, not the id list, is the truth', () => {
    const storage = new MemoryStorage();
    storage.append([{ index: 1, term: 1, kind: EntryKind.Config, data: encodeMembership({ voters: ['a', 'b'], learners: [] }) }]);
    storage.hardState = { term: 1, vote: null, commit: 1 };
    const r = new Raft(config({ id: 'c', storage, hardState: storage.hardState }));

    expect(r.membership).toEqual({ voters: ['a', 'b'], learners: [] });
    r.campaign();
    expect(r.role).toBe('follower');
  });

  it('config: a group without voters is rejected, unless this member is a learner joining it (it learns the voters from its leader)', () => {
    const err = configError(config({ id: 'b', voters: [], learners: ['a', 'c'] }));
    expect(err.message).toContain('voter');

    expect(() => validateConfig(config({ voters: [], learners: ['a'] }))).not.toThrow();
  });

  it('config: a Raft member refuses to start with a bad config', () => {
    expect(() => new Raft(config({}, { heartbeatTicks: 10, electionTicks: 10 }))).toThrow(RaftConfigError);
  });
});
