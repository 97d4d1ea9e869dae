// An in-memory KernelPort with the kernel semantics the daemon relies on, for orchestration
// tests without root (and, later, a dry run). It decodes the very bytes NetlinkKernel would
// send, so the encoders are exercised too. The contract in test/helpers/kernel-contract.ts
// runs against both this and the real kernel; where they disagree, this is what is fixed.
import { constants } from 'node:os';
import type { KernelOp, OpResult } from '../reconcile/kernel-ops.js';
import { encodeOp, type KernelEvents, type KernelPort, type OpFailure, type RouteDumpSink, type RouteEncoder } from './kernel.js';
import { errnoName, MessageWriter, NLM_F_EXCL, NLM_F_REPLACE, splitMessages, type NetlinkMessage } from './netlink-codec.js';
import {
  AF_INET, decodeNeighbour, decodeNexthopObject, decodeRoute, decodeRule, FR_ACT_TO_TBL, IFF_LOWER_UP, IFF_UP, NTF_USE, NUD_NOARP, NUD_PERMANENT,
  RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE, RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE, RTN_UNICAST, RTNH_F_LINKDOWN,
  RTNH_F_ONLINK, scanRoute, scanRoutePrefix, writeDelRoute, writeNewRoute,
  type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject, type RoutePrefix, type ScannedRoute,
} from './rtnetlink-codec.js';

const { EEXIST, ENOENT, ESRCH, ENODEV, ENETDOWN, ENETUNREACH, EINVAL } = constants.errno;
const RTPROT_KERNEL = 2;

class Refusal {
  constructor(readonly errno: number, readonly extack?: string) {}
}

/** A link as the test drives it: admin state and carrier apart, as on a veth whose peer goes down. */
export interface FakeLink {
  readonly ifindex: number;
  readonly name: string;
  readonly mac: Buffer;
  up: boolean;
  carrier: boolean;
}

const routeKey = (r: Pick<KernelRoute, 'table' | 'dst' | 'dstLen' | 'metric'> & { tos?: number }): string => `${r.table}/${r.dst}/${r.dstLen}/${r.tos ?? 0}/${r.metric}`;
const neighKey = (n: Pick<KernelNeighbour, 'family' | 'ifindex' | 'dst'>): string => `${n.family}/${n.ifindex}/${n.dst.toString('hex')}`;
const ruleKey = (r: Pick<KernelRule, 'priority' | 'table' | 'protocol'>): string => `${r.priority}/${r.table}/${r.protocol}`;
const legIfindexes = (r: KernelRoute): number[] => r.legs.map((l) => l.ifindex).filter((i) => i !== 0);

export class FakeKernel implements KernelPort {
  private readonly links = new Map<number, FakeLink>();
  private readonly neighbours = new Map<string, KernelNeighbour>();
  private readonly routes = new Map<string, KernelRoute>();
  private readonly nexthops = new Map<number, NexthopObject>();
  private readonly rules = new Map<string, KernelRule>();
  private subscriber: KernelEvents | undefined;
  private routeEvents = true;
  private closed = false;
  /** every message our writes carried, for tests that count writes */
  writes = 0;

  constructor(links: readonly { ifindex: number; name: string; mac: Buffer; up?: boolean; carrier?: boolean }[] = []) {
    this.links.set(1, { ifindex: 1, name: 'lo', mac: Buffer.alloc(6), up: true, carrier: true });
    for (const l of links) this.links.set(l.ifindex, { ...l, up: l.up ?? true, carrier: l.carrier ?? true });
    // the three rules every IPv4 namespace starts with
    for (const [priority, table] of [[0, 255], [32766, 254], [32767, 253]] as const) {
      this.rules.set(ruleKey({ priority, table, protocol: RTPROT_KERNEL }), { family: AF_INET, priority, table, action: FR_ACT_TO_TBL, protocol: RTPROT_KERNEL, selective: false });
    }
  }

  // ---- the world around the daemon: what an operator or another speaker does ----

  /** `ip link set IF up|down`. Down flushes the link's routes (no RTM_DELROUTE), neighbours (RTM_DELNEIGH sent) and nexthop objects. */
  setAdmin(ifindex: number, up: boolean): void {
    const link = this.link(ifindex);
    if (link.up === up) return;
    link.up = up;
    if (!up) {
      this.flushNeighbours(ifindex, true);
      this.flushNexthops(ifindex);
      for (const [k, r] of this.routes) if (legIfindexes(r).includes(ifindex)) this.routes.delete(k);
    } else {
      this.markLinkdown(ifindex, !link.carrier);
    }
    this.emitLink(link);
  }

  /**
   * The peer's end goes down or up: routes stay, flagged linkdown; PERMANENT neighbours stay,
   * the others are flushed. Nexthop objects out of the link are flushed with their routes
   * (the kernel's nexthop code does so on NETDEV_CHANGE without carrier, unlike the FIB's).
   */
  setCarrier(ifindex: number, carrier: boolean): void {
    const link = this.link(ifindex);
    if (link.carrier === carrier) return;
    link.carrier = carrier;
    if (!carrier) {
      this.flushNeighbours(ifindex, false);
      this.flushNexthops(ifindex);
    }
    if (link.up) this.markLinkdown(ifindex, !carrier);
    this.emitLink(link);
  }

  /** `ip link set IF address MAC`: every neighbour on the link is flushed, PERMANENT ones too. */
  setMac(ifindex: number, mac: Buffer): void {
    const link = this.link(ifindex);
    (link as { mac: Buffer }).mac = Buffer.from(mac);
    this.flushNeighbours(ifindex, true);
    this.emitLink(link);
  }

  /** Another speaker's RTM_NEWROUTE / RTM_DELROUTE (`ip route replace|del`): events are sent. */
  foreignRoute(change: 'replace' | 'delete', r: KernelRoute): OpResult {
    const w = new MessageWriter(256);
    if (change === 'replace') writeNewRoute(w, 1, r, 'replace', false);
    else writeDelRoute(w, 1, r, false);
    const m = splitMessages(w.take()).messages[0]!;
    const failure = this.attempt(() => this.writeRoute(m, true));
    return failure ?? { ok: true };
  }

  // ---- KernelPort ----

  async dumpLinks(): Promise<KernelLink[]> {
    return [...this.links.values()].map((l) => ({ ifindex: l.ifindex, name: l.name, flags: linkFlags(l), mac: Buffer.from(l.mac) }));
  }

  async dumpNeighbours(): Promise<KernelNeighbour[]> {
    return [...this.neighbours.values()];
  }

  async dumpNexthops(): Promise<NexthopObject[]> {
    return [...this.nexthops.values()];
  }

  async dumpRules(): Promise<KernelRule[]> {
    return [...this.rules.values()].sort((a, b) => a.priority - b.priority);
  }

  async dumpRoutes(protocol: number, sink: RouteDumpSink): Promise<void> {
    this.scan((r) => r.protocol === protocol, sink);
  }

  async dumpTable(table: number, sink: RouteDumpSink): Promise<void> {
    this.scan((r) => r.table === table, sink);
  }

  async dumpTablePrefixes(table: number, sink: { begin(): void; route(r: RoutePrefix): void }): Promise<void> {
    const out: RoutePrefix = { table: 0, dst: 0, dstLen: 0, protocol: 0, type: 0, tos: 0, metric: 0 };
    sink.begin();
    for (const m of this.routeMessages((r) => r.table === table)) if (scanRoutePrefix(m, out)) sink.route(out);
  }

  async apply(ops: readonly KernelOp[]): Promise<OpResult[]> {
    const failures = await this.applyEncoded(ops.length, (w, seq, i, ack) => encodeOp(w, seq, ops[i]!, ack));
    return ops.map((_, i) => failures.get(i) ?? { ok: true });
  }

  async applyEncoded(count: number, encode: RouteEncoder): Promise<Map<number, OpFailure>> {
    if (this.closed) throw new Error('FakeKernel: closed');
    const out = new Map<number, OpFailure>();
    const w = new MessageWriter(4096);
    for (let i = 0; i < count; i++) {
      encode(w, i + 1, i, i === count - 1);
      const { messages, error } = splitMessages(w.take());
      if (error || messages.length !== 1) throw new Error(`FakeKernel: write ${i} is not one netlink message (${error ?? messages.length})`);
      this.writes++;
      const failure = this.attempt(() => this.write(messages[0]!));
      if (failure) out.set(i, failure);
    }
    return out;
  }

  subscribe(events: KernelEvents): void {
    this.subscriber = events;
  }

  setRouteEvents(on: boolean): void {
    this.routeEvents = on;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- the kernel's side ----

  private attempt(fn: () => void): OpFailure | undefined {
    try {
      fn();
      return undefined;
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      return { ok: false, errno: err.errno, error: `${errnoName(err.errno)}${err.extack ? ` (${err.extack})` : ''}` };
    }
  }

  private write(m: NetlinkMessage): void {
    switch (m.type) {
      case RTM_NEWROUTE: case RTM_DELROUTE: return this.writeRoute(m, false);
      case RTM_NEWNEIGH: case RTM_DELNEIGH: return this.writeNeighbour(m);
      case RTM_NEWNEXTHOP: case RTM_DELNEXTHOP: return this.writeNexthop(m);
      case RTM_NEWRULE: case RTM_DELRULE: return this.writeRule(m);
      default: throw new Refusal(EINVAL, `FakeKernel: message type ${m.type} not modelled`);
    }
  }

  /** fib_table_insert / fib_table_delete, reduced to the keys and checks the daemon meets. */
  private writeRoute(m: NetlinkMessage, foreign: boolean): void {
    const r = decodeRoute(m);
    if (!r) throw new Refusal(EINVAL, 'FakeKernel: only IPv4 routes are modelled');
    const key = routeKey(r);
    const existing = this.routes.get(key);
    if (m.type === RTM_DELROUTE) {
      // a delete names what must match: type, protocol and metric when given (0 = any)
      const victim = [...this.routes.values()].find((x) => x.table === r.table && x.dst === r.dst && x.dstLen === r.dstLen && (x.tos ?? 0) === (r.tos ?? 0)
        && (r.metric === 0 || x.metric === r.metric) && (r.protocol === 0 || x.protocol === r.protocol) && (r.type === 0 || x.type === r.type));
      if (!victim) throw new Refusal(ESRCH);
      this.routes.delete(routeKey(victim));
      if (foreign) this.emitRoute('del', victim);
      return;
    }
    if (existing && m.flags & NLM_F_EXCL) throw new Refusal(EEXIST);
    if (existing && !(m.flags & NLM_F_REPLACE)) throw new Refusal(EEXIST); // append is not modelled
    const installed = this.checkRoute(r);
    this.routes.set(key, installed);
    if (foreign) this.emitRoute('new', installed);
  }

  private checkRoute(r: KernelRoute): KernelRoute {
    if (r.nhId !== undefined) {
      if (!this.nexthops.has(r.nhId)) throw new Refusal(EINVAL, 'Nexthop id does not exist');
      return { ...r, legs: [] };
    }
    if (r.type !== RTN_UNICAST) return { ...r, legs: [] };
    const legs = r.legs.map((leg) => {
      const link = this.links.get(leg.ifindex);
      if (!link) throw new Refusal(ENODEV);
      if (!link.up) throw new Refusal(ENETDOWN, 'Nexthop device is not up');
      if (!(leg.flags & RTNH_F_ONLINK) && leg.gateway !== undefined) throw new Refusal(ENETUNREACH, 'Nexthop has invalid gateway');
      return { ...leg, flags: link.carrier ? leg.flags & ~RTNH_F_LINKDOWN : leg.flags | RTNH_F_LINKDOWN };
    });
    return { ...r, legs };
  }

  private writeNeighbour(m: NetlinkMessage): void {
    const n = decodeNeighbour(m);
    if (!this.links.has(n.ifindex)) throw new Refusal(ENODEV);
    const key = neighKey(n);
    if (m.type === RTM_DELNEIGH) {
      const gone = this.neighbours.get(key);
      if (!gone) throw new Refusal(ENOENT);
      this.neighbours.delete(key);
      this.emit((s) => s.neighbour('del', gone));
      return;
    }
    if (n.flags & NTF_USE) return; // a probe: the kernel sends a solicitation, no entry state the daemon reads
    this.neighbours.set(key, n);
    this.emit((s) => s.neighbour('new', n));
  }

  private writeNexthop(m: NetlinkMessage): void {
    const nh = decodeNexthopObject(m);
    if (m.type === RTM_DELNEXTHOP) {
      if (!this.nexthops.delete(nh.id)) throw new Refusal(ENOENT);
      for (const [k, r] of this.routes) if (r.nhId === nh.id) this.routes.delete(k);
      return;
    }
    if (nh.oif !== undefined) {
      const link = this.links.get(nh.oif);
      if (!link) throw new Refusal(ENODEV);
      if (!link.up) throw new Refusal(ENETDOWN, 'Nexthop device is not up');
    }
    for (const g of nh.group ?? []) if (!this.nexthops.has(g.id)) throw new Refusal(EINVAL, 'Invalid nexthop id');
    this.nexthops.set(nh.id, nh);
  }

  private writeRule(m: NetlinkMessage): void {
    const r = decodeRule(m);
    const key = ruleKey(r);
    if (m.type === RTM_DELRULE) {
      if (!this.rules.delete(key)) throw new Refusal(ENOENT);
      return;
    }
    if (this.rules.has(key)) throw new Refusal(EEXIST);
    this.rules.set(key, r);
  }

  private flushNeighbours(ifindex: number, permanentToo: boolean): void {
    for (const [k, n] of this.neighbours) {
      if (n.ifindex !== ifindex || (!permanentToo && n.state & (NUD_PERMANENT | NUD_NOARP))) continue;
      this.neighbours.delete(k);
      this.emit((s) => s.neighbour('del', n));
    }
  }

  /** nexthop objects out of the link go (no event), groups lose them, and routes using a removed one go too */
  private flushNexthops(ifindex: number): void {
    const removed = new Set<number>();
    for (const nh of this.nexthops.values()) if (nh.oif === ifindex) removed.add(nh.id);
    for (const nh of this.nexthops.values()) {
      if (!nh.group) continue;
      const left = nh.group.filter((g) => !removed.has(g.id));
      if (left.length === 0) removed.add(nh.id);
      else if (left.length !== nh.group.length) this.nexthops.set(nh.id, { ...nh, group: left });
    }
    for (const id of removed) this.nexthops.delete(id);
    for (const [k, r] of this.routes) if (r.nhId !== undefined && removed.has(r.nhId)) this.routes.delete(k);
  }

  private markLinkdown(ifindex: number, down: boolean): void {
    for (const [k, r] of this.routes) {
      if (!legIfindexes(r).includes(ifindex)) continue;
      const legs = r.legs.map((l) => (l.ifindex !== ifindex ? l : { ...l, flags: down ? l.flags | RTNH_F_LINKDOWN : l.flags & ~RTNH_F_LINKDOWN }));
      this.routes.set(k, { ...r, legs });
    }
  }

  /** each route as the kernel would dump it: the message NetlinkKernel scans */
  private routeMessages(filter: (r: KernelRoute) => boolean): NetlinkMessage[] {
    const w = new MessageWriter(4096);
    let n = 0;
    for (const r of this.routes.values()) if (filter(r)) (writeNewRoute(w, 0, r, 'replace', false), n++);
    return n === 0 ? [] : splitMessages(w.take()).messages;
  }

  private scan(filter: (r: KernelRoute) => boolean, sink: RouteDumpSink): void {
    const scanned: ScannedRoute = { table: 0, dst: 0, dstLen: 0, protocol: 0, metric: 0, type: 0, forwardingBytes: '' };
    sink.begin();
    for (const m of this.routeMessages(filter)) {
      if (scanRoute(m, scanned)) sink.route(scanned, () => decodeRoute(m)!);
    }
  }

  private link(ifindex: number): FakeLink {
    const link = this.links.get(ifindex);
    if (!link) throw new Error(`FakeKernel: no link ${ifindex}`);
    return link;
  }

  private emitLink(l: FakeLink): void {
    const link: KernelLink = { ifindex: l.ifindex, name: l.name, flags: linkFlags(l), mac: Buffer.from(l.mac) };
    this.emit((s) => s.link('new', link));
  }

  private emitRoute(change: 'new' | 'del', r: KernelRoute): void {
    if (this.routeEvents) this.emit((s) => s.route(change, r));
  }

  /** events arrive later, in order, as from a socket */
  private emit(deliver: (s: KernelEvents) => void): void {
    const s = this.subscriber;
    if (s && !this.closed) setImmediate(() => deliver(s));
  }
}

function linkFlags(l: FakeLink): number {
  return (l.up ? IFF_UP : 0) | (l.up && l.carrier ? IFF_LOWER_UP : 0);
}

