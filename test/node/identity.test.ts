import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp-dirs.js';
import { saveHardState } from '../../storage/hard-state.js';
import { IDENTITY_FILE } from '../../storage/identity.js';
import { NodeStartError } from '../../src/errors.js';
import { NodeIdentity, freshStart } from '../../src/node/identity.js';

const tmp = tempDirs('raftlog-identity-');
const VOTERS = ['n1', 'n2', 'n3'];

describe("a data folder's identity", () => {
  it('is written once, with a random incarnation; the next start finds it and is not fresh', () => {
    const dir = tmp();
    const first = NodeIdentity.open(dir, 'n1', VOTERS);
    expect(first.fresh).toBe(true);
    expect(first.identity).toMatchObject({ node: 'n1', cluster: null, metaVoters: VOTERS });
    expect(first.identity.incarnation).toMatch(/^[0-9a-f]{16}$/);
    const again = NodeIdentity.open(dir, 'n1', VOTERS);
    expect(again.fresh).toBe(false);
    expect(again.identity.incarnation).toBe(first.identity.incarnation);
    expect(NodeIdentity.open(tmp(), 'n1', VOTERS).identity.incarnation).not.toBe(first.identity.incarnation);
  });

  it('a folder from before identities (its metadata has a hard state) is not taken for a new one', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'meta'));
    saveHardState(path.join(dir, 'meta'), { term: 4, vote: 'n2', commit: 10 });
    expect(NodeIdentity.open(dir, 'n1', VOTERS).fresh).toBe(false);
  });

  it('refuses --peers that would give the metadata group other voters than the cluster was created with', () => {
    const dir = tmp();
    NodeIdentity.open(dir, 'n2', VOTERS);
    expect(() => NodeIdentity.open(dir, 'n2', ['n0', 'n1', 'n2'])).toThrow(NodeStartError);
    expect(() => NodeIdentity.open(dir, 'n2', ['n0', 'n1', 'n2'])).toThrow(/this cluster was created with n1, n2, n3.*start every node with the --peers list the cluster was created with/);
    expect(() => NodeIdentity.open(dir, 'n2', ['n3', 'n2', 'n1'])).not.toThrow();
  });

  it("refuses another node's folder, and a damaged identity, saying what to do", () => {
    const dir = tmp();
    NodeIdentity.open(dir, 'n1', VOTERS);
    expect(() => NodeIdentity.open(dir, 'n2', VOTERS)).toThrow(/belongs to node n1, not n2: check --id and --data/);
    fs.writeFileSync(path.join(dir, IDENTITY_FILE), 'garbage');
    expect(() => NodeIdentity.open(dir, 'n1', VOTERS)).toThrow(/is damaged.*move it away and start the node with an empty one/);
  });

  it('learns its cluster once; another cluster is refused', () => {
    const dir = tmp();
    const id = NodeIdentity.open(dir, 'n1', VOTERS);
    expect(id.peerIdentity(false)).toEqual({ cluster: '', inc: id.identity.incarnation, member: false });
    expect(id.learnCluster('c1')).toBeNull();
    expect(NodeIdentity.open(dir, 'n1', VOTERS).identity.cluster).toBe('c1');
    expect(id.learnCluster('c2')).toMatch(/belongs to cluster c1, not c2/);
  });
});

describe('a new folder asks its peers whether the cluster exists', () => {
  const none = { cluster: '', member: false };
  it('a peer that names a cluster, or holds metadata, makes this node rejoin', () => {
    expect(freshStart('n3', VOTERS, new Map([['n1', { cluster: 'c1', member: true }]]))).toEqual({ start: 'rejoin', cluster: 'c1' });
    expect(freshStart('n3', VOTERS, new Map([['n1', none], ['n2', { cluster: 'c1', member: true }]]))).toEqual({ start: 'rejoin', cluster: 'c1' });
    // Not named yet (the first controller names it a moment after it is elected), but it exists.
    expect(freshStart('n3', VOTERS, new Map([['n1', { cluster: '', member: true }]]))).toEqual({ start: 'rejoin', cluster: null });
  });

  it('a majority of metadata voters that know of none: a new cluster; fewer: wait', () => {
    expect(freshStart('n3', VOTERS, new Map())).toBeNull();
    expect(freshStart('n3', VOTERS, new Map([['n1', none]]))).toEqual({ start: 'voter', cluster: null });
    expect(freshStart('n5', ['n1', 'n2', 'n3', 'n4', 'n5'], new Map([['n1', none]]))).toBeNull();
    // A node outside the voters counts for nothing.
    expect(freshStart('n9', VOTERS, new Map([['n1', none]]))).toBeNull();
  });
});
