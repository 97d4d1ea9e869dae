// Route messages (rtmsg): writes, from objects and from store columns, and the full decode.
import { forEachAttr, MessageWriter, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, type NetlinkMessage } from './netlink-codec.js';
import { RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, AF_INET, AF_INET6, RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_VIA, RTA_NH_ID, RTN_UNICAST, RTN_THROW, RT_SCOPE_UNIVERSE, RT_TABLE_COMPAT, type RouteLeg, type KernelRoute, type Seq } from './rtnetlink-types.js';

function writeRtmsg(w: MessageWriter, r: { table: number; dstLen: number; protocol: number; type: number; flags: number }): void {
  // RTA_TABLE carries ids above 255; the header then says RT_TABLE_COMPAT, as iproute2 writes it
  w.u8(AF_INET).u8(r.dstLen).u8(0).u8(0);
  w.u8(r.table > 255 ? RT_TABLE_COMPAT : r.table).u8(r.protocol).u8(RT_SCOPE_UNIVERSE).u8(r.type);
  w.u32(r.flags);
}

function writeLegGateway(w: MessageWriter, leg: RouteLeg): void {
  if (leg.via6) {
    const at = w.mark();
    w.u16(0).u16(RTA_VIA).u16(AF_INET6).bytes(leg.via6);
    w.closeLength(at).pad();
  } else if (leg.gateway !== undefined) {
    w.attrIpv4(RTA_GATEWAY, leg.gateway);
  }
}

/** The "where to" attributes of a route: RTA_NH_ID, one leg's gateway + RTA_OIF, or RTA_MULTIPATH. */
export function writeForwardingAttrs(w: MessageWriter, legs: readonly RouteLeg[], nhId: number | undefined): void {
  if (nhId !== undefined) {
    w.attrU32(RTA_NH_ID, nhId);
  } else if (legs.length === 1) {
    writeLegGateway(w, legs[0]!);
    w.attrU32(RTA_OIF, legs[0]!.ifindex);
  } else if (legs.length > 1) {
    const mp = w.mark();
    w.u16(0).u16(RTA_MULTIPATH);
    for (const leg of legs) {
      const nh = w.mark();
      w.u16(0).u8(leg.flags).u8(0).i32(leg.ifindex); // struct rtnexthop; hops = weight - 1
      writeLegGateway(w, leg);
      w.closeLength(nh);
    }
    w.closeLength(mp);
  }
}

export type RouteWriteMode = 'replace' | 'create';

/** RTM_NEWROUTE: `replace` (CREATE|REPLACE) for a route we own, `create` (CREATE|EXCL) for a new one. */
export function writeNewRoute(w: MessageWriter, seq: Seq, r: KernelRoute, mode: RouteWriteMode, ack: boolean): void {
  const flags = NLM_F_REQUEST | NLM_F_CREATE | (mode === 'replace' ? NLM_F_REPLACE : NLM_F_EXCL) | (ack ? NLM_F_ACK : 0);
  w.begin(RTM_NEWROUTE, flags, seq);
  const single = r.legs.length === 1 ? r.legs[0]! : undefined;
  writeRtmsg(w, { ...r, flags: single ? single.flags : 0 });
  w.attrU32(RTA_TABLE, r.table);
  w.attrIpv4(RTA_DST, r.dst);
  w.attrU32(RTA_PRIORITY, r.metric);
  writeForwardingAttrs(w, r.legs, r.nhId);
  w.end();
}

/** RTM_DELROUTE naming protocol and metric, so the kernel only ever matches our own route. */
export function writeDelRoute(w: MessageWriter, seq: Seq, r: Pick<KernelRoute, 'table' | 'dst' | 'dstLen' | 'protocol' | 'metric'>, ack: boolean): void {
  w.begin(RTM_DELROUTE, NLM_F_REQUEST | (ack ? NLM_F_ACK : 0), seq);
  writeRtmsg(w, { ...r, type: RTN_UNICAST, flags: 0 });
  w.attrU32(RTA_TABLE, r.table);
  w.attrIpv4(RTA_DST, r.dst);
  w.attrU32(RTA_PRIORITY, r.metric);
  w.end();
}

/** A create is exclusive (a foreign object at the key is an EEXIST, never overwritten); a delete names what it removes. */
export function exclusiveWriteFlags(mode: 'create' | 'delete', ack: boolean): number {
  return NLM_F_REQUEST | (mode === 'create' ? NLM_F_CREATE | NLM_F_EXCL : 0) | (ack ? NLM_F_ACK : 0);
}

/** The key of a `throw` route (RTN_THROW): no next hop; a lookup that hits it goes on to the next rule. */
export interface ThrowRoute {
  readonly table: number;
  readonly dst: number;
  readonly dstLen: number;
  readonly protocol: number;
  readonly metric: number;
}

/**
 * RTM_NEWROUTE of type throw (CREATE|EXCL: a foreign route at the key is an EEXIST, never
 * overwritten) or RTM_DELROUTE naming type, protocol and metric: the kernel matches
 * rtm_type on delete, so this never removes a unicast route, nor a throw of someone else's.
 */
export function writeThrowRoute(w: MessageWriter, seq: Seq, r: ThrowRoute, mode: 'create' | 'delete', ack: boolean): void {
  const flags = exclusiveWriteFlags(mode, ack);
  w.begin(mode === 'create' ? RTM_NEWROUTE : RTM_DELROUTE, flags, seq);
  writeRtmsg(w, { ...r, type: RTN_THROW, flags: 0 });
  w.attrU32(RTA_TABLE, r.table);
  w.attrIpv4(RTA_DST, r.dst);
  w.attrU32(RTA_PRIORITY, r.metric);
  w.end();
}

/** A dump of IPv4 routes; with NETLINK_GET_STRICT_CHK the kernel filters by table and protocol. */
export function writeRouteDump(w: MessageWriter, seq: Seq, filter: { table?: number; protocol?: number }): void {
  w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const table = filter.table ?? 0;
  writeRtmsg(w, { table, dstLen: 0, protocol: filter.protocol ?? 0, type: 0, flags: 0 });
  if (table > 255) w.attrU32(RTA_TABLE, table);
  w.end();
}

function readLeg(buf: Buffer, from: number, to: number, ifindex: number, flags: number): RouteLeg {
  let gateway: number | undefined;
  let via6: Buffer | undefined;
  forEachAttr(buf, from, to, (type, s, e) => {
    if (type === RTA_GATEWAY && e - s === 4) gateway = buf.readUInt32BE(s);
    else if (type === RTA_VIA && e - s >= 2) {
      const fam = buf.readUInt16LE(s);
      if (fam === AF_INET6 && e - s === 18) via6 = Buffer.from(buf.subarray(s + 2, e));
      else if (fam === AF_INET && e - s === 6) gateway = buf.readUInt32BE(s + 2);
    }
  });
  const leg: { ifindex: number; flags: number; gateway?: number; via6?: Buffer } = { ifindex, flags };
  if (gateway !== undefined) leg.gateway = gateway;
  if (via6 !== undefined) leg.via6 = via6;
  return leg;
}

/** Decodes an IPv4 RTM_NEWROUTE/RTM_DELROUTE; undefined for other families. Throws on malformed input. */
export function decodeRoute(m: NetlinkMessage): KernelRoute | undefined {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('rtmsg too short');
  if (buf.readUInt8(start) !== AF_INET) return undefined;
  const dstLen = buf.readUInt8(start + 1);
  let table = buf.readUInt8(start + 4);
  const protocol = buf.readUInt8(start + 5);
  const type = buf.readUInt8(start + 7);
  const rtmFlags = buf.readUInt32LE(start + 8);
  let dst = 0;
  let metric = 0;
  let oif = 0;
  let nhId: number | undefined;
  let mpStart = -1;
  let mpEnd = -1;
  forEachAttr(buf, start + 12, end, (t, s, e) => {
    switch (t) {
      case RTA_TABLE: if (e - s === 4) table = buf.readUInt32LE(s); break;
      case RTA_DST: if (e - s === 4) dst = buf.readUInt32BE(s); break;
      case RTA_PRIORITY: if (e - s === 4) metric = buf.readUInt32LE(s); break;
      case RTA_OIF: if (e - s === 4) oif = buf.readUInt32LE(s); break;
      case RTA_NH_ID: if (e - s === 4) nhId = buf.readUInt32LE(s); break;
      case RTA_MULTIPATH: mpStart = s; mpEnd = e; break;
      default: break;
    }
  });
  const legs: RouteLeg[] = [];
  if (mpStart >= 0) {
    let off = mpStart;
    while (off + 8 <= mpEnd) {
      const len = buf.readUInt16LE(off);
      if (len < 8 || off + len > mpEnd) throw new RangeError(`rtnexthop length ${len} overruns RTA_MULTIPATH`);
      legs.push(readLeg(buf, off + 8, off + len, buf.readInt32LE(off + 4), buf.readUInt8(off + 2)));
      off += (len + 3) & ~3;
    }
  } else if (oif !== 0 || nhId === undefined) {
    legs.push(readLeg(buf, start + 12, end, oif, rtmFlags & 0xff));
  }
  const route: { -readonly [K in keyof KernelRoute]: KernelRoute[K] } = { table, dst, dstLen, protocol, metric, type, legs };
  if (nhId !== undefined) route.nhId = nhId;
  const tos = buf.readUInt8(start + 3);
  if (tos !== 0) route.tos = tos;
  return route;
}

/** The forwarding half of a route, for writes from the route store (see forwardings.ts). */
export interface EncodedForwarding {
  readonly rtmFlags: number;
  readonly attrs: Buffer;
}

const STORED_ROUTE_HEAD = NLMSG_HDRLEN + 12 + 3 * 8; // nlmsghdr, rtmsg, RTA_TABLE, RTA_DST, RTA_PRIORITY

/**
 * RTM_NEWROUTE (`fwd` given) or RTM_DELROUTE (naming protocol and metric, so the kernel only
 * ever matches our own route) from store columns: the hot path, written in one piece with
 * no object per route. The same bytes as writeNewRoute/writeDelRoute (codec.test.ts).
 */
export function writeStoredRoute(
  w: MessageWriter, seq: Seq, mode: RouteWriteMode | 'delete', table: number, dst: number, dstLen: number,
  protocol: number, metric: number, fwd: EncodedForwarding | undefined, ack: boolean,
): void {
  const attrs = mode === 'delete' || !fwd ? undefined : fwd.attrs;
  const len = STORED_ROUTE_HEAD + (attrs ? attrs.length : 0);
  const { buf, at } = w.reserve(len);
  const flags = mode === 'delete'
    ? NLM_F_REQUEST
    : NLM_F_REQUEST | NLM_F_CREATE | (mode === 'replace' ? NLM_F_REPLACE : NLM_F_EXCL);
  buf.writeUInt32LE(len, at);
  buf.writeUInt16LE(mode === 'delete' ? RTM_DELROUTE : RTM_NEWROUTE, at + 4);
  buf.writeUInt16LE(flags | (ack ? NLM_F_ACK : 0), at + 6);
  buf.writeUInt32LE(seq >>> 0, at + 8);
  buf.writeUInt32LE(0, at + 12);
  let o = at + NLMSG_HDRLEN;
  buf[o] = AF_INET;
  buf[o + 1] = dstLen;
  buf[o + 2] = 0;
  buf[o + 3] = 0;
  buf[o + 4] = table > 255 ? RT_TABLE_COMPAT : table;
  buf[o + 5] = protocol;
  buf[o + 6] = RT_SCOPE_UNIVERSE;
  buf[o + 7] = RTN_UNICAST;
  buf.writeUInt32LE(mode === 'delete' || !fwd ? 0 : fwd.rtmFlags, o + 8);
  o += 12;
  buf.writeUInt32LE(8 | (RTA_TABLE << 16), o);
  buf.writeUInt32LE(table >>> 0, o + 4);
  buf.writeUInt32LE(8 | (RTA_DST << 16), o + 8);
  buf.writeUInt32BE(dst >>> 0, o + 12);
  buf.writeUInt32LE(8 | (RTA_PRIORITY << 16), o + 16);
  buf.writeUInt32LE(metric >>> 0, o + 20);
  if (attrs) attrs.copy(buf, o + 24);
}
