// An in-memory KernelPort with the kernel semantics the daemon relies on, for orchestration
// tests without root (and, later, a dry run). It decodes the very bytes NetlinkKernel would
// send, so the encoders are exercised too. The contract in test/helpers/kernel-contract.ts
// runs against both this and the real kernel; where they disagree, this is what is fixed.
import { constants } from 'node:os';
import type { KernelOp, OpResult, RouteKeys, RouteWrites } from './kernel-ops.js';
import { encodeOp, encodeRouteWrite, type ForwardingTable, type KernelEvents, type KernelPort, type OpFailure, type RouteDumpSink } from './kernel.js';
import { FakeFib, Refusal } from './fake-fib.js';
import { errnoName, MessageWriter, splitMessages, type NetlinkMessage } from './netlink-codec.js';
import {
  AF_INET, decodeNeighbour, decodeNexthopObject, decodeRoute, decodeRule, FR_ACT_TO_TBL, IFF_LOWER_UP, IFF_UP, NTF_USE, NUD_NOARP, NUD_PERMANENT,
  RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE, RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE,
  scanRoute, scanRoutePrefix, writeDelRoute, writeNewRoute,
  type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject, type RoutePrefix, type ScannedRoute,
} from './rtnetlink-codec.js';

const { EEXIST, ENOENT, ENODEV, ENETDOWN, EINVAL } = constants.errno;
const RTPROT_KERNEL = 2;

/** A link as the test drives it: admin state and carrier apart, as on a veth whose peer goes down. */
export interface FakeLink {
  readonly ifindex: number;
  readonly name: string;
  readonly mac: Buffer;
  up: boolean;
  carrier: boolean;
  /** as the real kernel reported them, for a fake seeded from it (a dry run) */
  kind?: string;
  master?: number;
  vrfTable?: number;
}

const neighKey = (n: Pick<KernelNeighbour, 'family' | 'ifindex' | 'dst'>): string => `${n.family}/${n.ifindex}/${n.dst.toString('hex')}`;
const ruleKey = (r: Pick<KernelRule, 'priority' | 'table' | 'protocol'>): string => `${r.priority}/${r.table}/${r.protocol}`;

export class FakeKernel implements KernelPort {
  protected readonly links = new Map<number, FakeLink>();
  protected readonly neighbours = new Map<string, KernelNeighbour>();
  protected readonly nexthops = new Map<number, NexthopObject>();
  protected readonly fib = new FakeFib(this.links, (id) => this.nexthops.has(id));
  protected readonly rules = new Map<string, KernelRule>();
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
      this.fib.flushLink(ifindex);
    } else {
      this.fib.markLinkdown(ifindex, !link.carrier);
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
    if (link.up) this.fib.markLinkdown(ifindex, !carrier);
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
    const failure = this.attempt(() => {
      const { change: c, route } = this.fib.write(m);
      this.emitRoute(c, route);
    });
    return failure ?? { ok: true };
  }

  // ---- KernelPort ----
  // Its methods are async by contract; the fake answers at once.
  /* eslint-disable @typescript-eslint/require-await */

  async dumpLinks(): Promise<KernelLink[]> {
    return [...this.links.values()].map(kernelLink);
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
    for (const m of this.fib.messages((r) => r.table === table)) if (scanRoutePrefix(m, out)) sink.route(out);
  }

  async apply(ops: readonly KernelOp[]): Promise<OpResult[]> {
    const failures = await this.applyEncoded(ops.length, (w, seq, i, ack) => encodeOp(w, seq, ops[i]!, ack));
    return ops.map((_, i) => failures.get(i) ?? { ok: true });
  }

  applyRoutes(writes: RouteWrites, keys: RouteKeys, forwardings: ForwardingTable, protocol: number, metric: number): Promise<Map<number, OpFailure>> {
    return this.applyEncoded(writes.length, (w, seq, i, ack) => encodeRouteWrite(w, seq, writes, i, keys, forwardings, protocol, metric, ack));
  }

  private async applyEncoded(count: number, encode: (w: MessageWriter, seq: number, index: number, ack: boolean) => void): Promise<Map<number, OpFailure>> {
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
  /* eslint-enable @typescript-eslint/require-await */

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
      case RTM_NEWROUTE: case RTM_DELROUTE: this.fib.write(m); return; // our own write: no echo, as NetlinkKernel filters them
      case RTM_NEWNEIGH: case RTM_DELNEIGH: return this.writeNeighbour(m);
      case RTM_NEWNEXTHOP: case RTM_DELNEXTHOP: return this.writeNexthop(m);
      case RTM_NEWRULE: case RTM_DELRULE: return this.writeRule(m);
      default: throw new Refusal(EINVAL, `FakeKernel: message type ${m.type} not modelled`);
    }
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
      this.fib.flushNexthops(new Set([nh.id]));
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

  protected flushNeighbours(ifindex: number, permanentToo: boolean): void {
    for (const [k, n] of this.neighbours) {
      if (n.ifindex !== ifindex || (!permanentToo && n.state & (NUD_PERMANENT | NUD_NOARP))) continue;
      this.neighbours.delete(k);
      this.emit((s) => s.neighbour('del', n));
    }
  }

  /** nexthop objects out of the link go (no event), groups lose them, and routes using a removed one go too */
  protected flushNexthops(ifindex: number): void {
    const removed = new Set<number>();
    for (const nh of this.nexthops.values()) if (nh.oif === ifindex) removed.add(nh.id);
    for (const nh of this.nexthops.values()) {
      if (!nh.group) continue;
      const left = nh.group.filter((g) => !removed.has(g.id));
      if (left.length === 0) removed.add(nh.id);
      else if (left.length !== nh.group.length) this.nexthops.set(nh.id, { ...nh, group: left });
    }
    for (const id of removed) this.nexthops.delete(id);
    this.fib.flushNexthops(removed);
  }

  private scan(filter: (r: KernelRoute) => boolean, sink: RouteDumpSink): void {
    const scanned: ScannedRoute = { table: 0, dst: 0, dstLen: 0, protocol: 0, metric: 0, type: 0, forwardingBytes: '' };
    sink.begin();
    for (const m of this.fib.messages(filter)) {
      if (scanRoute(m, scanned)) sink.route(scanned, () => decodeRoute(m)!);
    }
  }

  private link(ifindex: number): FakeLink {
    const link = this.links.get(ifindex);
    if (!link) throw new Error(`FakeKernel: no link ${ifindex}`);
    return link;
  }

  protected emitLink(l: FakeLink): void {
    const link = kernelLink(l);
    this.emit((s) => s.link('new', link));
  }

  protected emitRoute(change: 'new' | 'del', r: KernelRoute): void {
    if (this.routeEvents) this.emit((s) => s.route(change, r));
  }

  /** events arrive later, in order, as from a socket */
  protected emit(deliver: (s: KernelEvents) => void): void {
    const s = this.subscriber;
    if (s && !this.closed) setImmediate(() => deliver(s));
  }
}

function kernelLink(l: FakeLink): KernelLink {
  const flags = (l.up ? IFF_UP : 0) | (l.up && l.carrier ? IFF_LOWER_UP : 0);
  return { ifindex: l.ifindex, name: l.name, flags, mac: Buffer.from(l.mac), kind: l.kind, master: l.master, vrfTable: l.vrfTable };
}

