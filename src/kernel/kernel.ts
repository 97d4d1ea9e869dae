// The narrow kernel port: dump, apply(ops), subscribe. The reconciler is its only writer.
import { Rfc5549Error } from '../errors.js';
import { ipv4ToBytes } from '../model/ipv4-prefix.js';
import { linkLocalToBytes } from '../model/link-local.js';
import { macToBytes } from '../model/mac.js';
import { ROUTE_CREATE, ROUTE_DELETE, type KernelOp, type OpResult, type RouteKeys, type RouteWrites } from './kernel-ops.js';
import { NetlinkChannel } from './netlink-channel.js';
import { RequestClient } from './request-client.js';
import { errnoName, MessageWriter, type NetlinkMessage } from './netlink-codec.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, decodeLink, decodeNeighbour, decodeNexthopObject, decodeRoute, decodeRule, NTF_USE, NUD_PERMANENT, RTM_DELLINK,
  RTM_DELNEIGH, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_DELRULE, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNEXTHOP, RTM_NEWROUTE, RTM_NEWRULE, RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV4_RULE, RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_NEXTHOP, scanRoute, scanRoutePrefix, writeLinkDump, writeNeighbour, writeNeighbourDump,
  writeNexthop, writeNexthopDump, writeRouteDump, writeRule, writeRuleDump, writeStoredRoute, writeThrowRoute,
  type EncodedForwarding, type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject, type RoutePrefix, type ScannedRoute,
} from './rtnetlink-codec.js';

export type Change = 'new' | 'del';

export interface RouteDumpSink {
  begin(): void;
  /** `r` is reused for the next route; decode() reads the legs of this one */
  route(r: ScannedRoute, decode: () => KernelRoute): void;
}

type Encoder = (w: MessageWriter, seq: number, index: number, ack: boolean) => void;
export type OpFailure = Extract<OpResult, { ok: false }>;

export interface KernelEvents {
  link(change: Change, link: KernelLink): void;
  neighbour(change: Change, n: KernelNeighbour): void;
  route(change: Change, r: KernelRoute): void;
  /** nexthop objects (only with kernel.nexthop-objects) */
  nexthop(change: Change, nh: NexthopObject): void;
  /** IPv4 policy rules, anyone's */
  rule(change: Change, r: KernelRule): void;
  /** events were lost: dump and reconcile everything */
  overrun(): void;
  error(err: Error): void;
}

export interface KernelPort {
  dumpLinks(): Promise<KernelLink[]>;
  dumpNeighbours(): Promise<KernelNeighbour[]>;
  /** streams every IPv4 route of `protocol`, in all tables (begin() again on a retried dump) */
  dumpRoutes(protocol: number, sink: RouteDumpSink): Promise<void>;
  /** streams every IPv4 route of one table, of any protocol (the kernel-table source) */
  dumpTable(table: number, sink: RouteDumpSink): Promise<void>;
  dumpNexthops(): Promise<NexthopObject[]>;
  /** every IPv4 policy rule */
  dumpRules(): Promise<KernelRule[]>;
  /**
   * streams the key, protocol and type of every IPv4 route in one table, any protocol
   * (filtered by the kernel: NETLINK_GET_STRICT_CHK); `r` is reused for the next route
   */
  dumpTablePrefixes(table: number, sink: { begin(): void; route(r: RoutePrefix): void }): Promise<void>;
  /** neighbour and nexthop-object writes, in order */
  apply(ops: readonly KernelOp[]): Promise<OpResult[]>;
  /**
   * Route writes of `protocol` (creates and replaces at `metric`, deletes at the metric each
   * names), in order; answers the failures by index into `writes`. The bytes are the port's
   * business: callers name routes by slot and forwarding id.
   */
  applyRoutes(writes: RouteWrites, keys: RouteKeys, forwardings: ForwardingTable, protocol: number, metric: number): Promise<Map<number, OpFailure>>;
  subscribe(events: KernelEvents): void;
  /** route events echo our own writes; big batches switch them off and resync after */
  setRouteEvents(on: boolean): void;
  /** resolves when every socket is closed and the request thread has exited */
  close(): Promise<void>;
}

/** a forwarding's pre-encoded attributes by id (Forwardings) */
export interface ForwardingTable {
  get(id: number): EncodedForwarding;
}

/** The bytes of route write `i`, as NetlinkKernel sends them (FakeKernel decodes the same bytes). */
export function encodeRouteWrite(
  w: MessageWriter, seq: number, writes: RouteWrites, i: number, keys: RouteKeys, forwardings: ForwardingTable, protocol: number, metric: number, ack: boolean,
): void {
  const s = writes.slot[i]!;
  const kind = writes.kind[i]!;
  if (kind === ROUTE_DELETE) writeStoredRoute(w, seq, 'delete', keys.table[s]!, keys.addr[s]!, keys.len[s]!, protocol, writes.arg[i]!, undefined, ack);
  else writeStoredRoute(w, seq, kind === ROUTE_CREATE ? 'create' : 'replace', keys.table[s]!, keys.addr[s]!, keys.len[s]!, protocol, metric, forwardings.get(writes.arg[i]!), ack);
}

const DUMP_RETRIES = 5;
/** batches handed to the request thread and not yet answered, at most */
const IN_FLIGHT = 4;

export class NetlinkKernel implements KernelPort {
  private readonly requests: RequestClient;
  private readonly dumps: NetlinkChannel;
  private events: NetlinkChannel | undefined;
  private routeEvents = true;
  private readonly writer = new MessageWriter(256 << 10);

  constructor(private readonly batchSize: number, private readonly eventBufferBytes = 64 << 20, private readonly nexthopEvents = false) {
    this.requests = new RequestClient();
    this.requests.onBufferBack = (ab) => this.writer.adopt(ab);
    this.dumps = new NetlinkChannel({ name: 'netlink-dumps', recvBufferBytes: 32 << 20 });
  }

  private async dumpAll(write: (w: MessageWriter, seq: number) => void, onMessage: (m: NetlinkMessage) => void, begin: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      begin();
      const { interrupted } = await this.dumps.dump(write, onMessage);
      if (!interrupted) return;
      // NLM_F_DUMP_INTR: the table changed under the dump; its view may be torn.
      if (attempt >= DUMP_RETRIES) throw new Rfc5549Error('KERNEL_IO', `dump interrupted ${attempt} times in a row`, { transient: true });
    }
  }

  /** A dump whose messages of `type` are decoded into a list. */
  private async dumpList<T>(write: (w: MessageWriter, seq: number) => void, type: number, decode: (m: NetlinkMessage) => T): Promise<T[]> {
    let out: T[] = [];
    await this.dumpAll(write, (m) => {
      if (m.type === type) out.push(decode(m));
    }, () => (out = []));
    return out;
  }

  dumpLinks(): Promise<KernelLink[]> {
    return this.dumpList((w, seq) => writeLinkDump(w, seq), RTM_NEWLINK, decodeLink);
  }

  dumpNeighbours(): Promise<KernelNeighbour[]> {
    return this.dumpList((w, seq) => writeNeighbourDump(w, seq, AF_UNSPEC), RTM_NEWNEIGH, decodeNeighbour);
  }

  dumpNexthops(): Promise<NexthopObject[]> {
    return this.dumpList((w, seq) => writeNexthopDump(w, seq), RTM_NEWNEXTHOP, decodeNexthopObject);
  }

  dumpRules(): Promise<KernelRule[]> {
    return this.dumpList((w, seq) => writeRuleDump(w, seq), RTM_NEWRULE, decodeRule);
  }

  async dumpTablePrefixes(table: number, sink: { begin(): void; route(r: RoutePrefix): void }): Promise<void> {
    const scanned: RoutePrefix = { table: 0, dst: 0, dstLen: 0, protocol: 0, type: 0, tos: 0, metric: 0 };
    await this.dumpAll((w, seq) => writeRouteDump(w, seq, { table }), (m) => {
      if (m.type === RTM_NEWROUTE && scanRoutePrefix(m, scanned) && scanned.table === table) sink.route(scanned);
    }, () => sink.begin());
  }

  dumpRoutes(protocol: number, sink: RouteDumpSink): Promise<void> {
    return this.scanRoutes({ protocol }, sink);
  }

  dumpTable(table: number, sink: RouteDumpSink): Promise<void> {
    return this.scanRoutes({ table }, sink);
  }

  /** A dump the kernel filters (NETLINK_GET_STRICT_CHK); checked here again, should it not. */
  private async scanRoutes(filter: { protocol?: number; table?: number }, sink: RouteDumpSink): Promise<void> {
    const { protocol, table } = filter;
    const scanned: ScannedRoute = { table: 0, dst: 0, dstLen: 0, protocol: 0, metric: 0, type: 0, forwardingBytes: '' };
    let current: NetlinkMessage | undefined;
    const decode = (): KernelRoute => {
      const r = current && decodeRoute(current);
      if (!r) throw new Rfc5549Error('NETLINK_DECODE', 'route dump: decode() called outside its route');
      return r;
    };
    await this.dumpAll((w, seq) => writeRouteDump(w, seq, filter), (m) => {
      if (m.type !== RTM_NEWROUTE || !scanRoute(m, scanned)) return;
      if ((protocol !== undefined && scanned.protocol !== protocol) || (table !== undefined && scanned.table !== table)) return;
      current = m;
      sink.route(scanned, decode);
      current = undefined;
    }, () => sink.begin());
  }

  async apply(ops: readonly KernelOp[]): Promise<OpResult[]> {
    const failures = await this.applyEncoded(ops.length, (w, seq, i, ack) => encodeOp(w, seq, ops[i]!, ack));
    return ops.map((_, i) => failures.get(i) ?? { ok: true });
  }

  applyRoutes(writes: RouteWrites, keys: RouteKeys, forwardings: ForwardingTable, protocol: number, metric: number): Promise<Map<number, OpFailure>> {
    return this.applyEncoded(writes.length, (w, seq, i, ack) => encodeRouteWrite(w, seq, writes, i, keys, forwardings, protocol, metric, ack));
  }

  /**
   * Packs the writes into batches of kernel.netlink-batch messages, one sendmsg each, with
   * an ACK asked for the last one only: the kernel answers every failure anyway.
   */
  private async applyEncoded(count: number, encode: Encoder): Promise<Map<number, OpFailure>> {
    const out = new Map<number, OpFailure>();
    // A few batches in flight: the request thread sends them back to back (sendmsg is where
    // the kernel does the work) while this thread encodes the next; with one or two, each
    // hand-over between the threads left the request thread waiting on this one.
    const inFlight: Promise<void>[] = [];
    for (let from = 0; from < count; from += this.batchSize) {
      const to = Math.min(count, from + this.batchSize);
      const first = this.requests.allocSeq(to - from);
      const w = this.writer;
      for (let i = from; i < to; i++) encode(w, (first + (i - from)) >>> 0, i, i === to - 1);
      const batchFrom = from;
      inFlight.push(this.requests.sendBatch(w.detach(), first, (first + (to - from - 1)) >>> 0).then((failures) => {
        for (const [seq, f] of failures) {
          out.set(batchFrom + ((seq - first) >>> 0), { ok: false, errno: f.errno, error: `${errnoName(f.errno)}${f.extack ? ` (${f.extack})` : ''}` });
        }
      }));
      if (inFlight.length >= IN_FLIGHT) {
        try {
          await inFlight.shift();
        } catch (err) {
          await Promise.allSettled(inFlight); // never leave a rejection unheard
          throw err;
        }
      }
    }
    await Promise.all(inFlight);
    return out;
  }

  subscribe(events: KernelEvents): void {
    const ch = new NetlinkChannel({
      name: 'netlink-events',
      recvBufferBytes: this.eventBufferBytes,
      groups: [RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE, ...(this.nexthopEvents ? [RTNLGRP_NEXTHOP] : [])],
    });
    ch.onOverrun = () => events.overrun();
    ch.onError = (err) => events.error(err);
    ch.onEvent = (m) => {
      try {
        switch (m.type) {
          case RTM_NEWLINK: case RTM_DELLINK:
            events.link(m.type === RTM_NEWLINK ? 'new' : 'del', decodeLink(m));
            break;
          case RTM_NEWNEIGH: case RTM_DELNEIGH:
            events.neighbour(m.type === RTM_NEWNEIGH ? 'new' : 'del', decodeNeighbour(m));
            break;
          case RTM_NEWNEXTHOP: case RTM_DELNEXTHOP:
            if (m.pid === this.requests.portId) break; // our own write's echo
            events.nexthop(m.type === RTM_NEWNEXTHOP ? 'new' : 'del', decodeNexthopObject(m));
            break;
          case RTM_NEWRULE: case RTM_DELRULE:
            if (m.pid === this.requests.portId) break; // our own write's echo
            events.rule(m.type === RTM_NEWRULE ? 'new' : 'del', decodeRule(m));
            break;
          case RTM_NEWROUTE: case RTM_DELROUTE: {
            // Echoes of our own writes carry our request socket's port id; the ACKs already
            // told us. Read late (a busy loop reads its backlog after the fact), they would
            // look like someone re-adding what we have since deleted.
            if (!this.routeEvents || m.pid === this.requests.portId) break;
            const r = decodeRoute(m);
            if (r) events.route(m.type === RTM_NEWROUTE ? 'new' : 'del', r);
            break;
          }
          default:
            break;
        }
      } catch (err) {
        events.error(new Rfc5549Error('NETLINK_DECODE', `event type ${m.type}: ${(err as Error).message}`, { cause: err }));
      }
    };
    this.events = ch;
  }

  setRouteEvents(on: boolean): void {
    if (!this.events || on === this.routeEvents) return;
    this.routeEvents = on;
    if (on) this.events.joinGroup(RTNLGRP_IPV4_ROUTE);
    else this.events.leaveGroup(RTNLGRP_IPV4_ROUTE);
  }

  async close(): Promise<void> {
    this.dumps.close();
    this.events?.close();
    await this.requests.close();
  }
}

/** The bytes of one op, as NetlinkKernel sends them (FakeKernel decodes the same bytes). */
export function encodeOp(w: MessageWriter, seq: number, op: KernelOp, ack: boolean): void {
  switch (op.kind) {
    case 'neigh.replace':
      return writeNeighbour(w, seq, {
        family: AF_INET, ifindex: op.ifindex, dst: ipv4ToBytes(op.gateway), lladdr: macToBytes(op.mac),
        state: NUD_PERMANENT, flags: 0, protocol: op.protocol,
      }, 'replace', ack);
    case 'neigh.delete':
      return writeNeighbour(w, seq, { family: AF_INET, ifindex: op.ifindex, dst: ipv4ToBytes(op.gateway), state: 0, flags: 0 }, 'delete', ack);
    case 'neigh.probe':
      // NTF_USE makes the kernel send a neighbour solicitation for the peer's link-local.
      return writeNeighbour(w, seq, { family: AF_INET6, ifindex: op.ifindex, dst: linkLocalToBytes(op.linkLocal), state: 0, flags: NTF_USE }, 'replace', ack);
    case 'nh.replace':
      return writeNexthop(w, seq, op.nexthop, 'replace', ack);
    case 'nh.delete':
      return writeNexthop(w, seq, { id: op.id }, 'delete', ack);
    case 'rule.create': case 'rule.delete':
      return writeRule(w, seq, op.rule, op.kind === 'rule.create' ? 'create' : 'delete', ack);
    case 'throw.create': case 'throw.delete':
      return writeThrowRoute(w, seq, op.route, op.kind === 'throw.create' ? 'create' : 'delete', ack);
  }
}
