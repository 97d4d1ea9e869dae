// Issue "events": peer MACs from what the wire says (a real radvd on the peer), not from
// the link-local alone.
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { kernelSuiteEnabled, missingCommand, OUR_PROTOCOL, PEER_ADDR, PEER_MAC, startRadvd, Topology, waitFor } from '../helpers/netns.js';

interface NeighJson { dst: string; lladdr?: string; state?: string[] }

let enabled = kernelSuiteEnabled('peer evidence (netns, radvd)');
if (enabled && missingCommand('radvd')) {
  const msg = '\n=== peer evidence: radvd is not installed: RA TESTS NOT RUN (apt-get install radvd; .ci/run does) ===\n';
  if (process.env.CI) throw new Error(msg);
  console.warn(msg);
  enabled = false;
}

describe.runIf(enabled)('peer MAC from router advertisements and neighbour discovery', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });
  const placeholder = () => topo.host.json<NeighJson>('neigh', 'show', '169.254.0.1', 'dev', 'h0')[0];
  const ownRoutes = () => topo.host.json('route', 'show', 'table', 'all', 'proto', OUR_PROTOCOL);

  async function startWithRandomPeer(): Promise<string> {
    topo = Topology.create({ randomLinkLocal: true });
    const ll = topo.peerLinkLocal();
    expect(ll).not.toMatch(/ff:fe/); // not EUI-64: the address says nothing about the MAC
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    startRadvd(topo, daemon.dir);
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: ll, dev: 'h0' }] });
    feed.close();
    return ll;
  }

  it('a peer with a random link-local gets its real MAC installed, and a ping crosses', async () => {
    const ll = await startWithRandomPeer();
    await waitFor('route installed', () => ownRoutes().length === 1);
    expect(placeholder()).toMatchObject({ lladdr: PEER_MAC });
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    // the RA listener heard radvd (not only the kernel's neighbour table)
    await waitFor('RA evidence', () => daemon.logs().some((l) => (l.event === 'peerResolved' || l.event === 'peerEvidence') && l.evidence === 'ra' && l.peer === ll), 10_000);
    // issue 11: the same MAC on stronger evidence is no news (debug peerEvidence, no peerResolved)
    const resolved = daemon.logs().filter((l) => l.event === 'peerResolved' && l.peer === ll);
    expect(resolved).toHaveLength(1);
    expect(resolved.filter((l) => l.previous === l.mac)).toEqual([]);
  });

  it('the placeholder follows a peer MAC change, and ping works again', async () => {
    await startWithRandomPeer();
    await waitFor('installed', () => placeholder()?.lladdr === PEER_MAC);
    const newMac = '02:00:00:00:01:99';
    topo.peer.ip('link', 'set', 'p0', 'address', newMac);
    topo.restorePeerReturnPath(); // the peer's MAC change flushed its own neighbours
    await waitFor('placeholder follows', () => placeholder()?.lladdr === newMac, 10_000);
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
  });

  // issue 11 item 4 (FRR issue 2205): zebra derives the MAC from a link-local that is not EUI-64
  it('zebra\'s placeholder with a wrong MAC: ours goes to the next address, a ping crosses, one warning, peers shows it', async () => {
    topo = Topology.create({ randomLinkLocal: true });
    const ll = topo.peerLinkLocal();
    const ZEBRA_MAC = '02:00:00:00:09:09';
    // what zebra writes for this peer, by hand: zebra itself is in the FRR suite
    topo.host.ip('neigh', 'replace', '169.254.0.1', 'lladdr', ZEBRA_MAC, 'nud', 'permanent', 'dev', 'h0', 'proto', 'zebra');
    daemon = new DaemonProcess(topo.host, { kernel: { protocol: 200, table: 100 } });
    await daemon.start();
    startRadvd(topo, daemon.dir);
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: ll, dev: 'h0' }] });
    feed.close();
    const route = await waitFor('route via our own placeholder', () => topo.host.json<{ dst: string; gateway?: string }>('route', 'show', 'table', '100').find((r) => r.dst === PEER_ADDR));
    expect(route.gateway).toBe('169.254.0.2');
    expect(topo.host.json<NeighJson>('neigh', 'show', '169.254.0.2', 'dev', 'h0')[0]).toMatchObject({ lladdr: PEER_MAC });
    expect(topo.host.json<NeighJson>('neigh', 'show', '169.254.0.1', 'dev', 'h0')[0]).toMatchObject({ lladdr: ZEBRA_MAC }); // never overwritten
    topo.host.ip('rule', 'add', 'pref', '100', 'lookup', '100');
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    // RA evidence arrives after ndp: still one episode
    await waitFor('RA evidence', () => daemon.logs().some((l) => (l.event === 'peerResolved' || l.event === 'peerEvidence') && l.evidence === 'ra' && l.peer === ll), 10_000);
    const warnings = daemon.logs().filter((l) => l.event === 'zebraPlaceholderWrong');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, ifname: 'h0', gateway: '169.254.0.1', zebraMac: ZEBRA_MAC, peer: ll, mac: PEER_MAC, ourGateway: '169.254.0.2' });
    expect(['ndp', 'ra']).toContain(warnings[0]!.evidence);
    const peers = JSON.parse(daemon.cli('peers', '--json')) as { linkLocal: string; zebraPlaceholder: unknown }[];
    expect(peers.find((p) => p.linkLocal === ll)).toMatchObject({ zebraPlaceholder: { gateway: '169.254.0.1', mac: ZEBRA_MAC } });
    expect(daemon.cli('peers')).toContain(`169.254.0.1 ${ZEBRA_MAC} (wrong MAC)`);
  });
});
