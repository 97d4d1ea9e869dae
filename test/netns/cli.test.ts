// The status CLI against a running daemon in a namespace, human and JSON output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { kernelSuiteEnabled, PEER_ADDR, PEER_LL, PEER_MAC, Topology, waitFor } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('status CLI (netns)');
const GHOST = 'fe80::1234:5678:9abc:def0'; // not EUI-64, never answers

describe.runIf(enabled)('rfc5549d status | routes | peers', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  beforeAll(async () => {
    topo = Topology.create();
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(
      { op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: PEER_LL, dev: 'h0' }] },
      { op: 'add', prefix: '10.99.7.0/24', nexthops: [{ via: GHOST, dev: 'h0' }] },
    );
    feed.close();
    await waitFor('one installed', () => topo.host.json('route', 'show', 'proto', '186').length === 1);
  });
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('routes: installed and pending with the reason, as JSON and as a table', async () => {
    const routes = await waitFor('pending reported', () => {
      const r = JSON.parse(daemon.cli('routes', '--json')) as { prefix: string; state: string; reason?: string }[];
      return r.length === 2 && r.some((x) => x.state === 'pending') ? r : undefined;
    });
    expect(routes.find((r) => r.prefix === `${PEER_ADDR}/32`)).toMatchObject({ state: 'installed', table: 254, source: expect.stringMatching(/^jsonl#\d+$/) });
    expect(routes.find((r) => r.prefix === '10.99.7.0/24')).toMatchObject({ state: 'pending', reason: expect.stringContaining('not EUI-64') });
    expect(JSON.parse(daemon.cli('routes', '--pending', '--json'))).toHaveLength(1);
    const human = daemon.cli('routes');
    expect(human).toMatch(/^TABLE\s+PREFIX\s+STATE\s+SOURCE\s+NEXT HOPS/);
    expect(human).toMatch(/10\.99\.7\.0\/24\s+pending\s+jsonl#\d+\s/);
  });

  it('peers: MAC with its evidence, unresolved peers with why', () => {
    const peers = JSON.parse(daemon.cli('peers', '--json')) as { linkLocal: string; mac: string | null; evidence: string | null; state: string }[];
    expect(peers.find((p) => p.linkLocal === PEER_LL)).toMatchObject({ interface: 'h0', mac: PEER_MAC, state: 'resolved' });
    expect(peers.find((p) => p.linkLocal === GHOST)).toMatchObject({ mac: null, state: 'unresolved' });
    expect(daemon.cli('peers')).toMatch(/h0\s+fe80::ff:fe00:101\s+02:00:00:00:01:01/);
  });

  it('status: counts that agree with the kernel', () => {
    const s = JSON.parse(daemon.cli('status', '--json')) as { routes: Record<string, number>; links: { name: string; up: boolean }[] };
    expect(s.routes).toMatchObject({ desired: 2, installed: 1, pending: 1, ownedInKernel: 1 });
    expect(s.links).toContainEqual(expect.objectContaining({ name: 'h0', up: true }));
    expect(daemon.cli('status')).toMatch(/routes: 2 desired, 1 installed, 1 pending/);
  });
});
