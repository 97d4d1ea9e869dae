// Issue 11: the recommended set-up, rfc5549d beside FRR zebra in ONE namespace, under
// perturbation. The host runs zebra + bgpd started with docs/frr/frr.conf as written (only the
// interface names replaced) and zebra's options from docs/frr/daemons; zebra installs its own
// routes in main and streams them over FPM to rfc5549d, which installs into table 1000 behind a
// rule ahead of main. Every check is made right after the event AND again 5 s later: the echo
// bug (zebra streaming our own routes back, its deletes withdrawing ours) only showed once
// zebra's echo had arrived.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { docsFrrConf, docsZebraOptions, Frr, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { monitorKernel, type Netns, PEER_ADDR, SharedSegment, sleep, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface Nexthop { dev: string; gateway?: string }
interface RouteJson { dst: string; gateway?: string; dev?: string; protocol?: string; nexthops?: Nexthop[] }
interface NeighJson { dst: string; dev: string; lladdr?: string; state?: string[]; protocol?: string }

const enabled = suiteEnabled('zebra single namespace', { vtysh: 'frr', '/usr/lib/frr/zebra': 'frr' });

const TABLE = '1000';
const PROTO = '200';
const LATER_MS = 5000;
const KERNEL = { table: Number(TABLE), protocol: Number(PROTO) };

/** The legs (interfaces) of a route as `ip -j route` shows it, sorted; [] when absent. */
function legsOf(routes: RouteJson[], dst: string): string[] {
  const r = routes.find((x) => x.dst === dst);
  if (!r) return [];
  return (r.nexthops?.map((n) => n.dev) ?? (r.dev ? [r.dev] : [])).sort();
}

/**
 * The interfaces of zebra's selected route for a prefix, as zebra itself reports it (not the
 * kernel's main table: after an admin down/up zebra's own nexthop group there was seen to
 * keep one leg while zebra's RIB and its FPM stream had both).
 */
function zebraLegs(frr: Frr, dst: string): string[] {
  const prefix = dst.includes('/') ? dst : `${dst}/32`;
  const out = frr.vtysh(`show ip route ${prefix} json`);
  let parsed: Record<string, { selected?: boolean; nexthops?: { interfaceName?: string; active?: boolean }[] }[]>;
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    return [];
  }
  const sel = parsed[prefix]?.find((r) => r.selected);
  return (sel?.nexthops ?? []).filter((n) => n.active && n.interfaceName).map((n) => n.interfaceName!).sort();
}

/** A 10 ms ping running in the background; stop() gives what it counted. */
class LossProbe {
  private readonly child: ChildProcess;
  private out = '';

  constructor(ns: Netns, addr: string) {
    this.child = spawn('ip', ['netns', 'exec', ns.name, 'ping', '-n', '-q', '-i', '0.01', '-W', '1', addr]);
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  async stop(): Promise<{ sent: number; received: number; lossPct: number }> {
    const done = new Promise((r) => this.child.once('close', r)); // 'close': its output is all read
    this.child.kill('SIGINT'); // ping prints its summary on SIGINT
    await Promise.race([done, sleep(10_000)]);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.out);
    if (!m) throw new Error(`no ping summary: ${this.out.slice(-300)}`);
    const sent = Number(m[1]);
    const received = Number(m[2]);
    return { sent, received, lossPct: sent ? (100 * (sent - received)) / sent : 100 };
  }
}

const describeLoss = (what: string, l: { sent: number; received: number; lossPct: number }) =>
  `[zebra-single-ns] ${what}: 10 ms ping lost ${l.sent - l.received} of ${l.sent} (${l.lossPct.toFixed(1)}%)`;

/** What the daemon logged about routes and sources since `from`, for a failure message. */
function heard(daemon: DaemonProcess, from: number): string {
  const lines = daemon.logs().slice(from).filter((l) => /^(fpm|route|neighbour|replay|source|peer|reconcile|drift|repair)/.test(String(l.event)));
  return JSON.stringify(lines).slice(-6000);
}

/**
 * Waits until `check` holds, then checks it again LATER_MS later. On failure it says what our
 * table, zebra's main and the daemon's log showed.
 */
async function nowAndLater(what: string, check: () => boolean, show: () => string, daemon: DaemonProcess, logFrom: number, timeoutMs = 45_000): Promise<void> {
  try {
    await waitFor(what, check, timeoutMs, 100);
  } catch (err) {
    console.error(`[zebra-single-ns] ${what}: never true. ${show()}\ndaemon heard: ${heard(daemon, logFrom)}`);
    throw err;
  }
  await sleep(LATER_MS);
  const later = check();
  if (!later) console.error(`[zebra-single-ns] ${what}: true, and no longer ${LATER_MS} ms later. ${show()}\ndaemon heard: ${heard(daemon, logFrom)}`);
  expect(later, `${what}, still ${LATER_MS} ms later`).toBe(true);
}

// p1, the peer's end of h1, has a manual link-local that is not EUI-64: zebra derives a MAC from
// it anyway (FRR issue 2205), rfc5549d takes the peer's real MAC from its router advertisements.
// (`addrgenmode random` would prove nothing: its derived MAC can carry the multicast bit, and a
// veth delivers that.)
const MANUAL_LL = 'fe80::1234:5678:9abc:def0';
const MANUAL_LL_PEER_MAC = '02:00:00:00:01:02';
const ZEBRA_DERIVED_MAC = '10:34:56:bc:de:f0'; // bytes 8-10 and 13-15, bit 0x02 flipped

describe.runIf(enabled)('beside zebra in one namespace: ECMP over two unnumbered links, docs/frr/frr.conf as written', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let host: Frr;
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const show = () => `table ${TABLE}: ${JSON.stringify(ours())}; zebra: ${JSON.stringify(zebraLegs(host, PEER_ADDR))}; kernel main: ${JSON.stringify(topo.host.json('route', 'show', 'table', 'main', 'proto', 'bgp'))}\nzebra's route: ${host.vtysh(`show ip route ${PEER_ADDR}/32 json`)}\nzebra's nexthop groups: ${host.vtysh('show nexthop-group rib')}`;
  /** our route has exactly these legs, and they are the ones zebra has selected */
  const legsAre = (dst: string, want: string[]) => () => {
    const mine = legsOf(ours(), dst);
    return JSON.stringify(mine) === JSON.stringify(want) && JSON.stringify(zebraLegs(host, dst)) === JSON.stringify(want);
  };
  const bothPrefixes = (want: string[]) => () => legsAre(`${PEER_ADDR}`, want)() && legsAre('10.99.2.0/24', want)();
  const hostConf = () => docsFrrConf('frr.conf', { swp1: 'h0', swp2: 'h1' });

  beforeAll(async () => {
    topo = Topology.create({ secondLink: true, noReturnPath: true });
    topo.peer.ip('link', 'set', 'p1', 'down');
    topo.peer.ip('link', 'set', 'p1', 'addrgenmode', 'none');
    topo.peer.ip('-6', 'addr', 'flush', 'dev', 'p1');
    topo.peer.ip('link', 'set', 'p1', 'up');
    topo.peer.ip('addr', 'add', `${MANUAL_LL}/64`, 'dev', 'p1');
    daemon = new DaemonProcess(topo.host, {
      kernel: KERNEL,
      interfaces: ['h0', 'h1'],
      sources: { fpm: { enabled: true, 'settle-time': 2 } },
      graceful: { 'stale-time': 30 },
    });
    await daemon.start();
    peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
    host = new Frr(topo.host, daemon.dir, 'host-frr');
    peer.startZebra(peerZebraConf(['p0', 'p1']));
    peer.startBgpd(peerBgpdConf(['p0', 'p1']));
    host.startIntegrated(hostConf(), docsZebraOptions());
    try {
      await waitFor('ECMP routes from FPM in our table', bothPrefixes(['h0', 'h1']), 60_000, 200);
    } catch (err) {
      console.error(`[zebra-single-ns] start: ${show()}\nhost bgpd: ${host.logTail('bgpd')}\ndaemon: ${heard(daemon, 0)}`);
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('forwards through our table over both links', async () => {
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`table ${TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  });

  it('non-EUI-64 peer on h1: our placeholder has its real MAC and a ping via our route crosses; zebra\'s placeholder MAC is wrong', async () => {
    const neigh = () => topo.host.json<NeighJson>('-4', 'neigh', 'show', 'dev', 'h1');
    const route = () => ours().find((r) => r.dst === PEER_ADDR)?.nexthops?.find((n) => n.dev === 'h1');
    const check = () => {
      const gw = route()?.gateway;
      const mine = neigh().find((n) => n.dst === gw);
      const zebra = neigh().find((n) => n.dst === '169.254.0.1' && n.protocol === 'zebra');
      return mine?.lladdr === MANUAL_LL_PEER_MAC && zebra?.lladdr === ZEBRA_DERIVED_MAC && gw !== '169.254.0.1';
    };
    await nowAndLater('our h1 placeholder has the real MAC, zebra\'s the derived one', check, () => `neigh h1: ${JSON.stringify(neigh())}; ${show()}`, daemon, 0, 20_000);
    expect(topo.host.ip('route', 'get', PEER_ADDR, 'oif', 'h1')).toMatch(new RegExp(`via ${route()!.gateway!.replace(/\./g, '\\.')} dev h1 table ${TABLE}`));
    // with h0's carrier gone, h1 is the only way there and back: the ping crosses only if our MAC is right
    topo.peer.ip('link', 'set', 'p0', 'down');
    await waitFor('h1 only', bothPrefixes(['h1']), 45_000, 100);
    const crossed = topo.host.ping(PEER_ADDR);
    topo.peer.ip('link', 'set', 'p0', 'up');
    expect(crossed, 'ping via the non-EUI-64 peer').toBe(true);
    await waitFor('both legs again', bothPrefixes(['h0', 'h1']), 45_000, 100);
  }, 120_000);

  it('carrier loss on one link (peer end down) and back: the right legs, now and 5 s later', async () => {
    const from = daemon.logs().length;
    const probe = new LossProbe(topo.host, PEER_ADDR);
    await sleep(300);
    topo.peer.ip('link', 'set', 'p0', 'down');
    await nowAndLater('carrier lost on h0: h1 only', bothPrefixes(['h1']), show, daemon, from);
    console.log(describeLoss('carrier loss on h0', await probe.stop()));
    const back = new LossProbe(topo.host, PEER_ADDR);
    await sleep(300);
    topo.peer.ip('link', 'set', 'p0', 'up');
    await nowAndLater('carrier back on h0: both legs', bothPrefixes(['h0', 'h1']), show, daemon, from);
    console.log(describeLoss('carrier back on h0', await back.stop()));
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
  }, 120_000);

  it('admin down and up of a host interface: the right legs, now and 5 s later', async () => {
    const from = daemon.logs().length;
    const probe = new LossProbe(topo.host, PEER_ADDR);
    await sleep(300);
    topo.host.ip('link', 'set', 'h1', 'down');
    await nowAndLater('h1 admin down: h0 only', bothPrefixes(['h0']), show, daemon, from);
    console.log(describeLoss('admin down h1', await probe.stop()));
    const back = new LossProbe(topo.host, PEER_ADDR);
    await sleep(300);
    topo.host.ip('link', 'set', 'h1', 'up');
    await nowAndLater('h1 admin up: both legs', bothPrefixes(['h0', 'h1']), show, daemon, from);
    console.log(describeLoss('admin up h1', await back.stop()));
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
  }, 120_000);

  it('drift repair: ip route replace and ip route del of an owned route; 5 s later it is in our table as zebra has it', async () => {
    const from = daemon.logs().length;
    const gw = ours().find((r) => r.dst === PEER_ADDR)!.nexthops!.find((n) => n.dev === 'h0')!.gateway!;
    const repairs = () => daemon.logs().slice(from).filter((l) => l.event === 'driftRepaired' && (l.keys as string[]).includes(`${TABLE}:${PEER_ADDR}/32`)).length;
    topo.host.ip('route', 'replace', `${PEER_ADDR}/32`, 'via', gw, 'dev', 'h0', 'onlink', 'table', TABLE, 'proto', PROTO, 'metric', '20');
    await nowAndLater('replaced route repaired to both legs', () => repairs() === 1 && legsAre(PEER_ADDR, ['h0', 'h1'])(), show, daemon, from, 20_000);
    topo.host.ip('route', 'del', `${PEER_ADDR}/32`, 'table', TABLE, 'proto', PROTO);
    await nowAndLater('deleted route repaired', () => repairs() === 2 && legsAre(PEER_ADDR, ['h0', 'h1'])(), show, daemon, from, 20_000);
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
  }, 60_000);

  it('FRR restarted the way systemctl restart frr does it (bgpd, then zebra): routes held, loss printed', async () => {
    const from = daemon.logs().length;
    await waitFor('both legs before the restart', bothPrefixes(['h0', 'h1']), 30_000, 200);
    const mon = monitorKernel(topo.host);
    const probe = new LossProbe(topo.host, PEER_ADDR);
    await sleep(500);
    const t0 = Date.now();
    await host.stopLikeSystemd();
    const stopped = Date.now() - t0;
    host.startIntegrated(hostConf(), docsZebraOptions());
    try {
      await waitFor('routes re-sent by the new generation', () => bothPrefixes(['h0', 'h1'])() && daemon.logs().slice(from).some((l) => l.event === 'replayEnd'), 60_000, 200);
    } catch (err) {
      console.error(`[zebra-single-ns] restart: ${show()}\ndaemon heard: ${heard(daemon, from)}\nhost bgpd: ${host.logTail('bgpd')}`);
      throw err;
    }
    await sleep(LATER_MS);
    const loss = await probe.stop();
    mon.stop();
    console.log(describeLoss(`systemd-like FRR restart (stop took ${stopped} ms)`, loss));
    const deletedOurs = mon.text().split('\n').filter((l) => l.startsWith('Deleted') && /^Deleted (10\.99\.1\.1|10\.99\.2\.0\/24) /.test(l) && l.includes(`table ${TABLE}`));
    if (deletedOurs.length) console.error(`[zebra-single-ns] restart: our routes were deleted: ${deletedOurs.join(' | ')}\ndaemon heard: ${heard(daemon, from)}`);
    expect(deletedOurs).toEqual([]);
    // what kept them: zebra streamed the deletes of bgpd's routes, then went away within the hold
    expect(daemon.logs().slice(from).find((l) => l.event === 'fpmWithdrawalsDropped')?.dropped).toBe(2);
    expect(bothPrefixes(['h0', 'h1'])()).toBe(true);
  }, 120_000);
});

/** bgpd of a peer on the shared segment: a session to the host's ULA with extended next hop. */
const segmentPeerBgpd = (name: string, as: number, addr: string) => `hostname ${name}
router bgp ${as}
 bgp router-id ${addr}
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
 neighbor fd00:5549::2 remote-as external
 neighbor fd00:5549::2 capability extended-nexthop
 neighbor fd00:5549::2 advertisement-interval 0
 neighbor fd00:5549::2 timers connect 2
 address-family ipv4 unicast
  network ${addr}/32
  neighbor fd00:5549::2 activate
 exit-address-family
exit
`;

describe.runIf(enabled)('beside zebra in one namespace: two BGP peers on one bridge, docs/frr/frr-shared-segment.conf as written', () => {
  let seg: SharedSegment;
  let daemon: DaemonProcess;
  let host: Frr;
  const ours = () => seg.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const neigh = () => seg.host.json<NeighJson>('-4', 'neigh', 'show', 'dev', 'h0');
  const show = () => `table ${TABLE}: ${JSON.stringify(ours())}; neigh h0: ${JSON.stringify(neigh())}; zebra: ${host.vtysh('show ip route bgp')}`;
  /** each peer's prefix goes via a placeholder that holds that peer's MAC, and no two share one */
  const eachViaItsOwnPeer = () => {
    const gws = seg.peers.map((p) => ours().find((r) => r.dst === p.addr)?.gateway);
    if (gws.some((g) => !g) || new Set(gws).size !== gws.length) return false;
    return seg.peers.every((p, i) => neigh().find((n) => n.dst === gws[i])?.lladdr === p.mac);
  };

  beforeAll(async () => {
    seg = SharedSegment.create();
    seg.peers.forEach((p, i) => p.ns.ip('addr', 'add', `fd00:5549::${'ab'[i]}/64`, 'dev', 'e0', 'nodad'));
    daemon = new DaemonProcess(seg.host, {
      kernel: KERNEL,
      interfaces: ['h0'],
      sources: { fpm: { enabled: true, 'settle-time': 2 } },
    });
    await daemon.start();
    seg.peers.forEach((p, i) => {
      const frr = new Frr(p.ns, daemon.dir, `peer${i}-frr`);
      frr.startZebra(`hostname peer${i}\n`);
      frr.startBgpd(segmentPeerBgpd(`peer${i}`, [65001, 65003][i]!, p.addr));
    });
    host = new Frr(seg.host, daemon.dir, 'host-frr');
    host.startIntegrated(docsFrrConf('frr-shared-segment.conf', { swp1: 'h0' }), docsZebraOptions());
    try {
      await waitFor('both peers\' prefixes in our table', () => seg.peers.every((p) => ours().some((r) => r.dst === p.addr)), 60_000, 200);
    } catch (err) {
      console.error(`[zebra-single-ns] shared segment: ${show()}\nhost bgpd: ${host.logTail('bgpd')}\ndaemon: ${heard(daemon, 0)}`);
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    seg?.destroy();
  });

  it('each prefix via its own peer\'s placeholder, now and 5 s later; pings to both cross', async () => {
    await nowAndLater('each prefix via its own peer\'s placeholder', eachViaItsOwnPeer, show, daemon, 0, 20_000);
    for (const p of seg.peers) {
      expect(seg.host.ip('route', 'get', p.addr)).toMatch(new RegExp(`table ${TABLE}`));
      expect(seg.host.ping(p.addr), `ping ${p.addr}`).toBe(true);
    }
  });
});
