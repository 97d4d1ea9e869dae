// Issue "FPM": real FRR 8.4 on both sides. The peer announces IPv4 prefixes over unnumbered
// links with extended next hop; the host's bgpd + zebra stream FPM to rfc5549d in the same
// namespace. zebra installs its own copies into main, so rfc5549d uses table 1000 with a rule
// ahead of main, and forwarding is proven through our table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { Frr, hostBgpdConf, hostZebraConf, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { PEER_ADDR, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; gateway?: string; dev?: string; flags?: string[]; nexthops?: { dev: string }[] }

const enabled = suiteEnabled('FRR end to end', { vtysh: 'frr', '/usr/lib/frr/zebra': 'frr' });

const TABLE = '1000';
// zebra takes protocol 186 routes for its own (sweeps them at start, adopts them): the
// README's advice next to zebra is a protocol FRR does not use
const PROTO = '200';
const STALE_MS = 15_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.runIf(enabled).each([
  { mode: 'nexthop groups (FRR default)', nhg: true },
  { mode: 'no nexthop groups (RTA_GATEWAY 169.254.0.1 onlink)', nhg: false },
])('FRR zebra FPM -> rfc5549d, $mode', ({ nhg }) => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let host: Frr;
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const has = (dst: string) => ours().some((r) => r.dst === dst);

  beforeAll(async () => {
    topo = Topology.create({ secondLink: true, noReturnPath: true });
    daemon = new DaemonProcess(topo.host, {
      kernel: { table: Number(TABLE), protocol: Number(PROTO) },
      interfaces: ['h0', 'h1'],
      sources: { fpm: { enabled: true, 'settle-time': 2 } },
      graceful: { 'stale-time': STALE_MS / 1000 },
    });
    await daemon.start();
    peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
    host = new Frr(topo.host, daemon.dir, 'host-frr');
    peer.startZebra(peerZebraConf(['p0', 'p1']));
    peer.startBgpd(peerBgpdConf(['p0', 'p1']));
    host.startZebra(hostZebraConf(['h0', 'h1'], nhg), '-M', 'dplane_fpm_nl');
    host.startBgpd(hostBgpdConf(['h0', 'h1']));
    await waitFor('routes from FPM in our table', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200);
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('installs ECMP over both unnumbered links into our table, and forwarding goes through it', async () => {
    await waitFor('two legs', () => ours().find((r) => r.dst === PEER_ADDR)?.nexthops?.length === 2, 30_000, 200);
    const r = ours().find((x) => x.dst === PEER_ADDR)!;
    expect(r.nexthops!.map((n) => n.dev).sort()).toEqual(['h0', 'h1']);
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`table ${TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  });

  it('announce and withdraw on the peer reach our table; time from announce measured', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.3.0/24');
      await waitFor('announced', () => has('10.99.3.0/24'), 30_000, 20);
      times.push(Date.now() - t0);
      peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'no network 10.99.3.0/24');
      await waitFor('withdrawn', () => !has('10.99.3.0/24'), 30_000, 20);
    }
    console.log(`[frr-fpm ${nhg ? 'nhg' : 'classic'}] announce on peer -> route in our table: median ${median(times)} ms of ${times.join(', ')}`);
    expect(has(PEER_ADDR)).toBe(true);
  });

  // One retry: once in about ten CI runs the check right after the new generation's replay
  // found a route missing, and it never showed again locally (13 runs). The first failure
  // prints what the daemon heard, so a retry never hides it. Retry-safe: the test starts by
  // making sure both prefixes are announced and counts replays from its own start.
  it('FRR restarted (zebra and bgpd killed): routes are held, refreshed by the new generation, and what it no longer has goes after graceful.stale-time', { retry: 1 }, async () => {
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.2.0/24');
    await waitFor('both prefixes in our table', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200);
    const logFrom = daemon.logs().length;
    process.kill(host.pid('bgpd'), 'SIGKILL');
    process.kill(host.pid('zebra'), 'SIGKILL');
    await waitFor('disconnect seen', () => daemon.logs().slice(logFrom).some((l) => l.event === 'sourceDisconnected' && String(l.session).startsWith('fpm#')), 10_000);
    const died = Date.now();
    // while FRR is down the peer stops announcing one prefix; nobody can tell us
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'no network 10.99.2.0/24');
    host.startZebra(hostZebraConf(['h0', 'h1'], nhg), '-M', 'dplane_fpm_nl');
    host.startBgpd(hostBgpdConf(['h0', 'h1']));
    await waitFor('replay of the new generation settled', () => daemon.logs().slice(logFrom).some((l) => l.event === 'replayEnd'), 60_000, 200);
    const held = has(PEER_ADDR) && has('10.99.2.0/24');
    if (!held) {
      const heard = daemon.logs().slice(logFrom).filter((l) => /^(fpm|route|neighbour|replay|source|peer|reconcile)/.test(String(l.event)));
      console.error(`[frr-fpm] after the replay our table holds ${JSON.stringify(ours())}; the daemon heard: ${JSON.stringify(heard).slice(0, 6000)}`);
    }
    expect(held).toBe(true); // zebra's replay alone withdraws nothing
    await waitFor('stale routes swept', () => !has('10.99.2.0/24'), 60_000, 200);
    const swept = Date.now() - died;
    expect(swept).toBeGreaterThanOrEqual(STALE_MS - 1000);
    expect(has(PEER_ADDR)).toBe(true);
    // we never withdrew the prefix the new generation re-sent
    const ourDeletes = daemon.logs().slice(logFrom).filter((l) => l.event === 'routeWritten' && l.op === 'route.delete').map((l) => l.key);
    expect(ourDeletes).toEqual([`${TABLE}:10.99.2.0/24`]);
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.2.0/24');
    await waitFor('re-announced', () => has('10.99.2.0/24'), 30_000, 200);
  });

  it('a peer session reset withdraws and re-learns the routes', async () => {
    peer.vtysh('clear bgp *');
    await waitFor('routes back after the reset', () => has(PEER_ADDR) && has('10.99.2.0/24') && ours().length >= 2, 60_000, 200);
    await waitFor('ping', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  });
});
