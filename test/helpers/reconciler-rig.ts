// The real Reconciler and its parts against the FakeKernel on a ManualClock, wired as the
// daemon wires them (src/daemon.ts: rib.onChange, the kernel's events, peer evidence from
// IPv6 neighbour entries). The kernel is a FakeKernel that also counts what the scenarios
// need to see: dumps, probes, route-event switches, and can fail a dump or answer a probe.
import { pino, type Logger } from 'pino';
import { configFromDocument } from '../../src/config/config.js';
import { FakeKernel } from '../../src/kernel/fake-kernel.js';
import type { KernelEvents, RouteDumpSink } from '../../src/kernel/kernel.js';
import type { KernelOp, OpResult } from '../../src/kernel/kernel-ops.js';
import { AF_INET6, RTN_UNICAST, RTNH_F_ONLINK, type KernelLink, type KernelNeighbour, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { parseIpv4Prefix, type Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import { isLinkLocalBytes, linkLocalFromBytes, linkLocalToBytes, type LinkLocal } from '../../src/model/link-local.js';
import { macFromBytes, macToBytes, type Mac } from '../../src/model/mac.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { Rib } from '../../src/rib/rib.js';
import { ManualClock } from './manual-clock.js';

export const PROTOCOL = 200;
const TABLE = 5549;
const METRIC = 20;
export const H0 = 2;
/** EUI-64 of 02:00:00:00:01:01: resolved without evidence */
const EUI_PEER = 'fe80::ff:fe00:101' as LinkLocal;
export const EUI_PEER_MAC = '02:00:00:00:01:01' as Mac;
/** a privacy link-local: its MAC comes only from the wire */
export const RANDOM_PEER = 'fe80::5c3a:91d2:1e2b:7d01' as LinkLocal;
export const G1 = 0xa9fe0001; // 169.254.0.1, the first placeholder
const NUD_REACHABLE = 0x02;

export class ScenarioKernel extends FakeKernel {
  /** route dumps of our protocol */
  routeDumps = 0;
  /** setRouteEvents() calls, in order */
  readonly routeEventSwitches: boolean[] = [];
  readonly probes: KernelOp[] = [];
  /** dumps that throw before the next one succeeds */
  failDumps = 0;
  /** peers on the wire: a probe of one is answered with its IPv6 neighbour entry */
  readonly onWire = new Map<LinkLocal, Mac>();
  private events: KernelEvents | undefined;

  constructor() {
    super([{ ifindex: H0, name: 'h0', mac: Buffer.from('020000000201', 'hex') }]);
  }

  override subscribe(events: KernelEvents): void {
    this.events = events;
    super.subscribe(events);
  }

  override dumpLinks(): Promise<KernelLink[]> {
    if (this.failDumps > 0) {
      this.failDumps--;
      return Promise.reject(new Error('scenario: dump failed'));
    }
    return super.dumpLinks();
  }

  override dumpRoutes(protocol: number, sink: RouteDumpSink): Promise<void> {
    if (protocol === PROTOCOL) this.routeDumps++;
    return super.dumpRoutes(protocol, sink);
  }

  override setRouteEvents(on: boolean): void {
    this.routeEventSwitches.push(on);
    super.setRouteEvents(on);
  }

  override async apply(ops: readonly KernelOp[]): Promise<OpResult[]> {
    for (const op of ops) {
      if (op.kind !== 'neigh.probe') continue;
      this.probes.push(op);
      const mac = this.onWire.get(op.linkLocal);
      const events = this.events;
      const answer: KernelNeighbour = { family: AF_INET6, ifindex: op.ifindex, state: NUD_REACHABLE, flags: 0, dst: linkLocalToBytes(op.linkLocal), ...(mac ? { lladdr: macToBytes(mac) } : {}), protocol: 0 };
      // the solicitation is answered: the kernel tells of the entry it now holds
      if (mac && events) setImmediate(() => events.neighbour('new', answer));
    }
    return super.apply(ops);
  }

  /** another writer's `ip neigh replace|del` for an IPv4 neighbour (`protocol` of the entry it writes) */
  async foreignNeighbour(change: 'replace' | 'delete', ifindex: number, gateway: number, mac?: Mac, protocol = 0): Promise<OpResult> {
    const op: KernelOp = change === 'replace'
      ? { kind: 'neigh.replace', ifindex, ifname: `#${ifindex}`, gateway, mac: mac!, protocol }
      : { kind: 'neigh.delete', ifindex, ifname: `#${ifindex}`, gateway };
    const [res] = await super.apply([op]);
    return res!;
  }

  async ourRoutes(): Promise<KernelRoute[]> {
    const out: KernelRoute[] = [];
    await super.dumpRoutes(PROTOCOL, { begin: () => (out.length = 0), route: (_r, decode) => out.push(decode()) });
    return out.sort((a, b) => a.dst - b.dst);
  }

  /** IPv4 neighbours as `ip -j neigh` would show them: ifindex, address, MAC */
  async ipv4Neighbours(): Promise<[number, number, string][]> {
    return (await this.dumpNeighbours()).filter((n) => n.family !== AF_INET6).map((n) => [n.ifindex, n.dst.readUInt32BE(0), n.lladdr ? macFromBytes(n.lladdr)! : '']);
  }
}

function prefix(text: string): Ipv4Prefix {
  const p = parseIpv4Prefix(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

/** our route as the kernel holds it: onlink via a placeholder out of h0 */
export function ourRoute(text: string, gateway = G1, protocol = PROTOCOL): KernelRoute {
  const p = prefix(text);
  return { table: TABLE, dst: p.addr, dstLen: p.len, protocol, metric: METRIC, type: RTN_UNICAST, legs: [{ ifindex: H0, gateway, flags: RTNH_F_ONLINK }] };
}

type LogLine = Record<string, unknown> & { event?: string };

export interface Rig {
  readonly clock: ManualClock;
  readonly kernel: ScenarioKernel;
  readonly rib: Rib;
  readonly peers: PeerTable;
  readonly reconciler: Reconciler;
  readonly logs: LogLine[];
  /** moves the clock on (default: past the debounce) and lets the pass and its events settle */
  advance(ms?: number): Promise<void>;
  add(text: string, linkLocal?: LinkLocal): void;
  slotOf(text: string): number;
  events(name: string): LogLine[];
}

/** a Reconciler over `kernel` (a new one by default), after its first dump; the sweep not yet allowed */
export async function rig(kernel = new ScenarioKernel(), clock = new ManualClock()): Promise<Rig> {
  const logs: LogLine[] = [];
  const log: Logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const config = configFromDocument({ kernel: { protocol: PROTOCOL, table: TABLE, metric: METRIC, 'rule-priority': 5549 } }, parseRtTables(''));
  const rib = new Rib();
  const peers = new PeerTable();
  const reconciler = new Reconciler(kernel, rib, peers, config, log, () => true, clock);
  rib.changes.add((slot) => reconciler.markDesiredChanged(slot));
  const state = reconciler.state;
  kernel.subscribe({
    link: (change, l) => {
      if (change === 'del') state.removeLink(l.ifindex);
      else state.putLink(l);
      reconciler.requestResync();
    },
    neighbour: (change, n) => {
      if (reconciler.isPlaceholder(n)) {
        if (change === 'new') state.putPlaceholder(n);
        else state.removePlaceholder(n.ifindex, n.dst.readUInt32BE(0));
        reconciler.markNeighbourDrift(n.ifindex);
        return;
      }
      // peer evidence, as Daemon.notePeerEvidence takes it
      const link = state.links.get(n.ifindex);
      const mac = n.lladdr && macFromBytes(n.lladdr);
      if (change !== 'new' || n.family !== AF_INET6 || !isLinkLocalBytes(n.dst) || !link || !mac) return;
      const ll = linkLocalFromBytes(n.dst);
      if (peers.observe(link.name, ll, { mac, evidence: 'ndp', atMs: clock.now() }) && rib.peersOn(link.name).has(ll)) reconciler.markAllDirty();
    },
    route: (c, r) => reconciler.noteKernelRoute(c, r),
    nexthop: (c, nh) => reconciler.noteKernelNexthop(c, nh),
    rule: (c, r) => reconciler.noteKernelRule(c, r),
    overrun: () => reconciler.requestResync(),
    error: (err) => {
      throw err;
    },
  });
  const advance = (ms = 10): Promise<void> => clock.advance(ms);
  reconciler.requestResync();
  await advance();
  return {
    clock, kernel, rib, peers, reconciler, logs, advance,
    add: (text, linkLocal = EUI_PEER) => void rib.add('test', { table: TABLE, prefix: prefix(text), nexthops: [{ interface: 'h0', linkLocal }] }),
    slotOf: (text) => rib.slotOf(TABLE, prefix(text)),
    events: (name) => logs.filter((l) => l.event === name),
  };
}
