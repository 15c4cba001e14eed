import { describe, expect, it } from 'vitest';
import { FILES_RESERVED, NODE_LIMITS, limitProblems, openFilesNeeded, replicaLimit } from '../../src/node/limits.js';
import { parseOpenFilesLimit } from '../../src/node/open-files.js';

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

describe('the open-files limit', () => {
  it("reads the soft limit from Linux's /proc/self/limits; none when it says unlimited or is not there", () => {
    const text = ['Limit                     Soft Limit           Hard Limit           Units', 'Max processes             95532                95532                processes', 'Max open files            256                  4096                 files', ''].join('\n');
    expect(parseOpenFilesLimit(text)).toBe(256);
    expect(parseOpenFilesLimit(text.replace('256 ', 'unlimited '))).toBeNull();
    expect(parseOpenFilesLimit('')).toBeNull();
  });

  it('leaves room for replicas after what a node keeps for connections and its own files, one file each', () => {
    expect(replicaLimit(null)).toBeNull();
    expect(replicaLimit(FILES_RESERVED + 100)).toEqual({ openFiles: FILES_RESERVED + 100, replicas: 100 });
    expect(replicaLimit(10)).toEqual({ openFiles: 10, replicas: 0 });
    expect(openFilesNeeded(100)).toBe(FILES_RESERVED + 100);
  });
});
