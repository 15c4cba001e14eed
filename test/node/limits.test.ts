import { describe, expect, it } from 'vitest';
import { NODE_LIMITS, limitProblems } from '../../src/node/limits.js';

describe('the size limits across layers', () => {
  it('fit together as a node runs them: a batch a topic accepts fits a Raft entry, a segment frame and a peer frame', () => {
    expect(limitProblems(NODE_LIMITS)).toEqual([]);
  });

  it('name each link that breaks', () => {
    const broken = { ...NODE_LIMITS, raftEntryBytesMax: NODE_LIMITS.segmentFrameBytesMax, topicMessageBytesMax: NODE_LIMITS.clientFrameBytesMax * 2 };
    const p = limitProblems(broken);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/client frame holds at most/);
    expect(p[1]).toMatch(/Raft entry holds at most/);
    expect(p[2]).toMatch(/segment frame holds at most/);
    expect(limitProblems({ ...NODE_LIMITS, peerFrameBytesMax: NODE_LIMITS.raftEntryBytesMax })).toEqual([expect.stringMatching(/append's/), expect.stringMatching(/catch-up chunk/)]);
    expect(limitProblems({ ...NODE_LIMITS, recoveryChunkBytes: NODE_LIMITS.peerFrameBytesMax })).toEqual([expect.stringMatching(/catch-up chunk may carry/)]);
  });
});
