/**
 * The chaos entry point's network cuts (chaos/network-cuts.ts): the transport decorator drops
 * exactly the frames its setting names, each way, and the route on the node's listener sets and
 * shows that setting.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSession } from '../../src/server/session.js';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../raft/types.js';
import type { PeerFrame } from '../../src/transport/peer-frames.js';
import type { PeerNetwork, PeerTransportOptions } from '../../src/transport/peer-transport.js';
import { NetworkCuts, cutTransport, networkRoute } from '../../chaos/network-cuts.js';

/** A transport to peers n2 and n3 (both connected) that records what it is asked to send. */
class FakeNetwork implements PeerNetwork {
  readonly sent: string[] = [];
  constructor(readonly options: PeerTransportOptions) {}
  start(): void {}
  close(): void {}
  accept(): void {}
  sendRaft(group: string, m: Message): void {
    this.sent.push(`raft ${group} → ${m.to}`);
  }
  send(to: string, frame: PeerFrame): void {
    this.sent.push(`${frame.t} → ${to}`);
  }
  broadcast(frame: PeerFrame): void {
    this.sent.push(`${frame.t} → all`);
  }
  isConnected(): boolean {
    return true;
  }
  setPeers(nodes: ReadonlyMap<string, string>): void {
    this.sent.push(`peers ${[...nodes.keys()].join(',')}`);
  }
  peerStatus(): { id: string; address: string; connected: boolean; dropped: number; frameMac: null }[] {
    return ['n2', 'n3'].map((id) => ({ id, address: `${id}:1`, connected: true, dropped: 0, frameMac: null }));
  }
}

const heartbeat = (to: string): Message => ({ type: 'heartbeat', from: 'n1', to, term: 1, commit: 0, readRound: 0 });
const leaders: PeerFrame = { t: 'leaders', groups: [] };

function cutNode(cuts: NetworkCuts): { fake: FakeNetwork; net: PeerNetwork; heard: string[] } {
  let fake: FakeNetwork | null = null;
  const heard: string[] = [];
  const net = cutTransport(cuts, (o) => (fake = new FakeNetwork(o)))({
    self: 'n1',
    nodes: new Map([['n1', 'n1:1'], ['n2', 'n2:1'], ['n3', 'n3:1']]),
    secret: 's',
    logger: pino({ level: 'silent' }),
    frameBytesMax: 1 << 20,
    sendBufferBytesMax: 1 << 20,
    onFrame: (from, frame) => heard.push(`${frame.t} from ${from}`),
    identity: () => ({ cluster: '', inc: '', member: false }),
  });
  return { fake: fake!, net, heard };
}

describe('the network cuts transport', () => {
  it('with nothing cut, passes every frame on, both ways', () => {
    const { fake, net, heard } = cutNode(new NetworkCuts());
    net.sendRaft('g', heartbeat('n2'));
    net.send('n3', leaders);
    net.broadcast(leaders);
    fake.options.onFrame('n2', leaders);
    expect(fake.sent).toEqual(['raft g → n2', 'leaders → n3', 'leaders → all']);
    expect(heard).toEqual(['leaders from n2']);
  });

  it('drops frames to the peers of dropTo and from the peers of dropFrom, and nothing else', () => {
    const cuts = new NetworkCuts();
    const { fake, net, heard } = cutNode(cuts);
    cuts.set({ dropTo: ['n2'], dropFrom: ['n3'] });
    net.sendRaft('g', heartbeat('n2'));
    net.sendRaft('g', heartbeat('n3'));
    net.send('n2', leaders);
    net.broadcast(leaders);
    fake.options.onFrame('n2', leaders);
    fake.options.onFrame('n3', leaders);
    expect(fake.sent).toEqual(['raft g → n3', 'leaders → n3']);
    expect(heard).toEqual(['leaders from n2']);

    // Healed: everything flows again.
    cuts.set({ dropTo: [], dropFrom: [] });
    net.sendRaft('g', heartbeat('n2'));
    fake.options.onFrame('n3', leaders);
    expect(fake.sent.at(-1)).toBe('raft g → n2');
    expect(heard.at(-1)).toBe('leaders from n3');
  });
});

describe('the network route', () => {
  let server: http.Server | null = null;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = null;
  });

  it('POST sets the cuts and answers with them; GET shows them; a body that is not JSON is refused', async () => {
    const cuts = new NetworkCuts();
    const route = networkRoute(cuts, () => pino({ level: 'silent' }));
    server = http.createServer((req, res) => void route(req, res, newSession('http', 'test')));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chaos/network`;

    const set = await fetch(url, { method: 'POST', body: JSON.stringify({ dropTo: ['n2', 7], dropFrom: ['n3'] }) });
    expect(await set.json()).toEqual({ dropTo: ['n2'], dropFrom: ['n3'] });
    expect(cuts.dropsTo('n2') && cuts.dropsFrom('n3') && !cuts.dropsTo('n3')).toBe(true);
    expect(await (await fetch(url)).json()).toEqual({ dropTo: ['n2'], dropFrom: ['n3'] });
    const bad = await fetch(url, { method: 'POST', body: 'dropTo=n2' });
    expect(bad.status).toBe(400);
    expect(cuts.get()).toEqual({ dropTo: ['n2'], dropFrom: ['n3'] });
  });
});
