/**
 * The node's HTTP listener when a route fails: the failure is logged and the node keeps serving.
 * The chaos network route reads a request body, so a client that goes away halfway through
 * makes it throw.
 */
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import { eventually } from '../cluster/helpers.js';

let cluster: LocalCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe('the HTTP listener', () => {
  it('survives a client that goes away in the middle of a request body', async () => {
    cluster = new LocalCluster({ nodes: 1, args: ['--chaos-endpoints'] });
    await cluster.start();
    const n = cluster.nodes[0]!;
    const [host, port] = n.address.split(':') as [string, string];
    // 100-continue: the node answers once it has the headers, so the route is running when the client leaves.
    const req = http.request({ host, port: Number(port), path: '/chaos/network', method: 'POST', headers: { 'content-length': '1000', expect: '100-continue' } });
    req.on('error', () => undefined);
    req.flushHeaders();
    await once(req, 'continue');
    req.write('{"dropTo": [');
    req.destroy();

    const logged = (): boolean => fs.existsSync(n.logFile) && fs.readFileSync(n.logFile, 'utf8').includes('an HTTP request failed');
    await eventually(() => logged() || n.exit !== null, 10_000, 'the node to log the failed request (or exit)');
    expect(n.exit).toBeNull();
    const res = await fetch(`http://${n.address}/chaos/network`);
    expect(await res.json()).toEqual({ dropTo: [], dropFrom: [] });
  });
});
