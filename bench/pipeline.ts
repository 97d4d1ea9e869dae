// The real pipeline: a peer bgpd announces `n` /32s over an unnumbered veth link (two
// namespaces); the host runs FRR 8.4 started from docs/frr/ (frr.conf as written, zebra's
// options from docs/frr/daemons: classic FPM, no nexthop groups) and rfc5549d beside it.
// The peer's routes sit in its kernel beforehand (ip -batch, blackholes of protocol static);
// the clock starts when the peer is told `redistribute kernel`, and a route-event watcher in
// the host namespace (bench/route-watch.ts) notes when zebra's main (protocol bgp) and our
// table (kernel.table, our protocol) each hold all of them. Needs FRR (zebra, bgpd, vtysh).
import { join } from 'node:path';
import { DaemonProcess } from '../test/helpers/daemon.js';
import { docsFrrConf, docsZebraOptions, Frr, peerZebraConf } from '../test/helpers/frr.js';
import { missingCommand, PEER_ADDR, Topology, waitFor } from '../test/helpers/netns.js';
import { ipBatch, writeBatch } from './baselines.js';
import { dst, FIRST_DST, kernelCount, PROTOCOL, sec, TABLE, watchRoutes } from './bench-kit.js';
import { SERVICE_NODE_ARGS } from './service-node-args.js';

const RTPROT_BGP = 186;
const MAIN = 254;

export interface PipelineResult {
  /** from `redistribute kernel` on the peer to the last route in zebra's main */
  zebraMs: number;
  /** the same, to the last route in our table */
  oursMs: number;
  /** the watcher's own CPU (user + sys) and the route events it read */
  watcherCpuMs: number;
  watcherMessages: number;
}

/** The peer: one eBGP session over p0, extended next hop, announcing its kernel routes on request. */
const peerBgpd = `hostname peer
router bgp 65001
 bgp router-id 10.99.1.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
 neighbor p0 interface remote-as external
 neighbor p0 capability extended-nexthop
 neighbor p0 advertisement-interval 0
 neighbor p0 timers connect 2
 address-family ipv4 unicast
  network 10.99.1.1/32
  neighbor p0 activate
 exit-address-family
exit
`;

const now = (): number => performance.timeOrigin + performance.now();

export async function measurePipeline(n: number, say: (s: string) => void = console.log): Promise<PipelineResult> {
  for (const cmd of ['vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/bgpd']) if (missingCommand(cmd)) throw new Error(`--pipeline needs FRR (${cmd} is missing; Debian package frr)`);
  const topo = Topology.create({ noReturnPath: true });
  const daemon = new DaemonProcess(topo.host, {
    log: { level: 'info' },
    kernel: { table: TABLE, protocol: PROTOCOL },
    interfaces: ['h0'],
    limits: { 'max-routes': n + 100 },
    sources: { fpm: { enabled: true, 'settle-time': 2 } },
    graceful: { 'stale-time': 30 },
  }, {}, SERVICE_NODE_ARGS);
  try {
    // the peer's routes, in its kernel before its zebra starts (zebra reads them as kernel routes)
    const file = join(daemon.dir, 'peer.batch');
    writeBatch(file, n, (i) => `route add blackhole ${dst(i)}/32 proto static\n`);
    say(`pipeline: ${n.toLocaleString('en-US')} blackholes in the peer's kernel in ${sec(ipBatch(topo.peer.name, file))}`);
    await daemon.start();
    const peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
    const host = new Frr(topo.host, daemon.dir, 'host-frr');
    peer.startZebra(peerZebraConf(['p0']));
    peer.startBgpd(peerBgpd);
    host.startIntegrated(docsFrrConf('frr.conf', { swp1: 'h0', swp2: 'h1' }), docsZebraOptions());
    try {
      // the session is up and FPM flows: the peer's loopback is in our table
      await waitFor('the peer\'s loopback in our table over FPM', () => topo.host.json<{ dst: string }>('route', 'show', 'table', String(TABLE)).some((r) => r.dst === PEER_ADDR), 90_000, 200);
    } catch (err) {
      say(`host bgpd: ${host.logTail('bgpd', 1500)}\nhost zebra: ${host.logTail('zebra', 1500)}`);
      throw err;
    }
    // one watcher, one event stream for both tables: whatever it lags, it lags for both alike
    const watch = await watchRoutes(topo.host.name, { count: n, firstDst: FIRST_DST, tables: [{ table: MAIN, protocol: RTPROT_BGP }, { table: TABLE, protocol: PROTOCOL }], timeoutMs: 600_000 });
    const t0 = now();
    peer.vtysh('configure terminal', 'router bgp 65001', 'address-family ipv4 unicast', 'redistribute kernel');
    const { doneAt, cpu, messages } = await watch.result();
    // the events said so; a dump of both tables says it too
    const zebraHeld = Number(topo.host.exec('sh', ['-c', `ip route show table main proto bgp | wc -l`]).trim());
    const oursHeld = kernelCount(topo.host.name);
    if (zebraHeld < n || oursHeld < n) throw new Error(`pipeline: zebra's main holds ${zebraHeld}, our table ${oursHeld}, of ${n}`);
    return { zebraMs: doneAt[0]! - t0, oursMs: doneAt[1]! - t0, watcherCpuMs: cpu.userMs + cpu.sysMs, watcherMessages: messages };
  } finally {
    await daemon.stop('SIGKILL');
    topo.destroy(); // FRR and the watcher run in the namespaces: killed with them
    daemon.cleanup();
  }
}
