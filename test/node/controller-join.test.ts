/**
 * The controller's side of a node joining (issue 20 §2, src/node/join.ts): whom it records and
 * what it tells the joiner, whom it refuses and how (retry elsewhere, or stop and fix the
 * command line), and how it brings registered nodes into the metadata group one change at a time.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterRecord } from '../../src/meta/commands.js';
import { JoinRefusal } from '../../src/transport/peer-transport.js';
import { fakeControllerHost } from './controller-host.js';

const CLUSTER: ClusterRecord = { clusterId: 'c1', metaVoters: ['n1', 'n2', 'n3'], since: 1 };
const refusal = async (p: Promise<unknown>): Promise<JoinRefusal> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JoinRefusal);
  return err as JoinRefusal;
};

describe('Controller.admitJoin', () => {
  it('records a new node with its folder and address, and tells it the cluster, its founders and every node', async () => {
    const s = fakeControllerHost({ nodes: ['n1', 'n2', 'n3'], cluster: CLUSTER });
    const a = await s.controller.admitJoin({ id: 'n4', address: '127.0.0.1:7004', inc: 'f00d' });
    expect(s.proposed).toEqual([{ type: 'registerNode', node: 'n4', incarnation: 'f00d', address: '127.0.0.1:7004' }]);
    expect(a.cluster).toBe('c1');
    expect(a.founders).toEqual(['n1', 'n2', 'n3']);
    expect(a.rejoin).toBe(false);
    expect(a.nodes.map(([id]) => id)).toEqual(['n1', 'n2', 'n3']);
  });

  it('tells an id the cluster knew on another folder to rejoin, and a founder id it never recorded too', async () => {
    const known = fakeControllerHost({ cluster: CLUSTER, records: [{ node: 'n3', incarnation: 'old', since: 4, address: '127.0.0.1:7003' }], connected: ['n2'] });
    expect((await known.controller.admitJoin({ id: 'n3', address: '127.0.0.1:7013', inc: 'new' })).rejoin).toBe(true);
    const same = fakeControllerHost({ cluster: CLUSTER, records: [{ node: 'n5', incarnation: 'i5', since: 4, address: '127.0.0.1:7005' }] });
    expect((await same.controller.admitJoin({ id: 'n5', address: '127.0.0.1:7005', inc: 'i5' })).rejoin).toBe(false);
    const founder = fakeControllerHost({ cluster: CLUSTER, connected: [] });
    expect((await founder.controller.admitJoin({ id: 'n2', address: '127.0.0.1:7002', inc: 'x' })).rejoin).toBe(true);
  });

  it('refuses, retriably and naming the controller, when it is not the controller', async () => {
    const s = fakeControllerHost({ cluster: CLUSTER, isController: false });
    const r = await refusal(s.controller.admitJoin({ id: 'n4', address: '127.0.0.1:7004', inc: 'f' }));
    expect(r.retriable).toBe(true);
    expect(r.controller).toBe('127.0.0.1:7002');
    expect(s.proposed).toEqual([]);
  });

  it('refuses for good an id that is no id, an address that is no host:port, its own id, and an id running on another folder', async () => {
    const s = fakeControllerHost({ cluster: CLUSTER, connected: ['n2', 'n3'], peerIncarnations: new Map([['n3', 'running']]) });
    for (const req of [
      { id: 'bad id!', address: '127.0.0.1:7004', inc: 'f' },
      { id: 'n4', address: 'no-port', inc: 'f' },
      { id: 'n1', address: '127.0.0.1:7009', inc: 'f' },
      { id: 'n3', address: '127.0.0.1:7013', inc: 'another' },
    ]) {
      const r = await refusal(s.controller.admitJoin(req));
      expect(r.retriable, r.message).toBe(false);
    }
    expect(s.proposed).toEqual([]);
  });

  it('refuses, retriably, before the cluster is named', async () => {
    const s = fakeControllerHost({});
    expect((await refusal(s.controller.admitJoin({ id: 'n4', address: '127.0.0.1:7004', inc: 'f' }))).retriable).toBe(true);
  });
});
