// rtnetlink payloads, pure: routes (rtmsg), neighbours (ndmsg), links (ifinfomsg), FIB
// rules (fib_rule_hdr).
// Hand-written because netlink@0.3.0 cannot take table ids > 255 in rtmsg, mis-sizes
// RTA_VIA (and then rejects whole dumps), leaves RTA_MULTIPATH raw, and its per-message
// allocations cap installs near 45k routes/s (measured before this codec was written).
import {
  forEachAttr, MessageWriter, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
  type NetlinkMessage,
} from './netlink-codec.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTA_VIA = 18;
const RTA_NH_ID = 30;

export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
/** ends the lookup in this table as if nothing matched: the next rule's table is tried */
export const RTN_THROW = 9;
const RT_SCOPE_UNIVERSE = 0;
const RT_TABLE_COMPAT = 252;

const NDA_DST = 1;
const NDA_LLADDR = 2;
const NDA_PROTOCOL = 12;
export const NUD_INCOMPLETE = 0x01;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NTF_USE = 0x01;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
/** inside IFLA_INFO_DATA of a link of kind "vrf" */
export const IFLA_VRF_TABLE = 1;
export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV4_RULE = 8;
export const RTNLGRP_NEXTHOP = 32;

/** One path of a route: out of `ifindex`, via an IPv4 gateway or (RTA_VIA) an IPv6 one. */
export interface RouteLeg {
  readonly ifindex: number;
  readonly gateway?: number;
  readonly via6?: Buffer;
  readonly flags: number; // RTNH_F_*
}

/** An IPv4 route as the kernel holds it, reduced to what the daemon reasons about. */
export interface KernelRoute {
  readonly table: number;
  readonly dst: number;
  readonly dstLen: number;
  readonly protocol: number;
  readonly metric: number;
  readonly type: number;
  readonly legs: readonly RouteLeg[];
  readonly nhId?: number;
  /** rtm_tos, when not 0 */
  readonly tos?: number;
}

export interface KernelNeighbour {
  readonly family: number;
  readonly ifindex: number;
  readonly state: number;
  readonly flags: number;
  readonly dst: Buffer;
  readonly lladdr?: Buffer;
  readonly protocol: number;
}

export interface KernelLink {
  readonly ifindex: number;
  readonly name: string;
  readonly flags: number;
  readonly mac?: Buffer;
  readonly kind?: string;
  readonly master?: number;
  /** a VRF device's routing table (IFLA_VRF_TABLE) */
  readonly vrfTable?: number;
}

type Seq = number;

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
function exclusiveWriteFlags(mode: 'create' | 'delete', ack: boolean): number {
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

export function writeNeighbour(
  w: MessageWriter,
  seq: Seq,
  n: { family: number; ifindex: number; dst: Uint8Array; lladdr?: Uint8Array; state: number; flags: number; protocol?: number },
  op: 'replace' | 'delete',
  ack: boolean,
): void {
  const flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0) | (op === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  w.begin(op === 'replace' ? RTM_NEWNEIGH : RTM_DELNEIGH, flags, seq);
  w.u8(n.family).u8(0).u16(0).i32(n.ifindex).u16(n.state).u8(n.flags).u8(0);
  w.attrBytes(NDA_DST, n.dst);
  if (n.lladdr) w.attrBytes(NDA_LLADDR, n.lladdr);
  if (n.protocol !== undefined && n.protocol !== 0) w.attrBytes(NDA_PROTOCOL, Uint8Array.of(n.protocol));
  w.end();
}

export function writeNeighbourDump(w: MessageWriter, seq: Seq, family: number): void {
  w.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(family).u8(0).u16(0).i32(0).u16(0).u8(0).u8(0);
  w.end();
}

export function decodeNeighbour(m: NetlinkMessage): KernelNeighbour {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('ndmsg too short');
  let dst = Buffer.alloc(0);
  let lladdr: Buffer | undefined;
  let protocol = 0;
  forEachAttr(buf, start + 12, end, (t, s, e) => {
    if (t === NDA_DST) dst = Buffer.from(buf.subarray(s, e));
    else if (t === NDA_LLADDR) lladdr = Buffer.from(buf.subarray(s, e));
    else if (t === NDA_PROTOCOL && e > s) protocol = buf.readUInt8(s);
  });
  const n = {
    family: buf.readUInt8(start),
    ifindex: buf.readInt32LE(start + 4),
    state: buf.readUInt16LE(start + 8),
    flags: buf.readUInt8(start + 10),
    dst,
    protocol,
  };
  return lladdr ? { ...n, lladdr } : n;
}

export function writeLinkDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_UNSPEC).u8(0).u16(0).i32(0).u32(0).u32(0);
  w.end();
}

export function decodeLink(m: NetlinkMessage): KernelLink {
  const { buf, start, end } = m;
  if (end - start < 16) throw new RangeError('ifinfomsg too short');
  let name = '';
  let mac: Buffer | undefined;
  let kind: string | undefined;
  let master: number | undefined;
  let infoData: [number, number] | undefined;
  forEachAttr(buf, start + 16, end, (t, s, e) => {
    if (t === IFLA_IFNAME) name = buf.toString('utf8', s, e).replace(/\0+$/, '');
    else if (t === IFLA_ADDRESS) mac = Buffer.from(buf.subarray(s, e));
    else if (t === IFLA_MASTER && e - s === 4) master = buf.readUInt32LE(s);
    else if (t === IFLA_LINKINFO) {
      forEachAttr(buf, s, e, (it, is, ie) => {
        if (it === IFLA_INFO_KIND) kind = buf.toString('utf8', is, ie).replace(/\0+$/, '');
        else if (it === IFLA_INFO_DATA) infoData = [is, ie];
      });
    }
  });
  const link: { -readonly [K in keyof KernelLink]: KernelLink[K] } = {
    ifindex: buf.readInt32LE(start + 4),
    name,
    flags: buf.readUInt32LE(start + 8),
  };
  if (mac) link.mac = mac;
  if (kind !== undefined) link.kind = kind;
  if (master !== undefined) link.master = master;
  // IFLA_INFO_DATA's layout depends on the kind; only a VRF's is read.
  if (kind === 'vrf' && infoData) {
    forEachAttr(buf, infoData[0], infoData[1], (t, s, e) => {
      if (t === IFLA_VRF_TABLE && e - s === 4) link.vrfTable = buf.readUInt32LE(s);
    });
  }
  return link;
}

export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
const RTM_GETNEXTHOP = 106;
const NHA_ID = 1;
const NHA_GROUP = 2;
const NHA_BLACKHOLE = 4;
const NHA_OIF = 5;
const NHA_GATEWAY = 6;

/** A kernel nexthop object (RTM_NEWNEXTHOP), as zebra streams them over FPM. */
export interface NexthopObject {
  readonly id: number;
  readonly family: number;
  readonly flags: number;
  readonly protocol: number;
  readonly oif?: number;
  readonly gateway?: Buffer;
  readonly group?: readonly { readonly id: number; readonly weight: number }[];
  readonly blackhole: boolean;
}

export function decodeNexthopObject(m: NetlinkMessage): NexthopObject {
  const { buf, start, end } = m;
  if (end - start < 8) throw new RangeError('nhmsg too short');
  let id = 0;
  let oif: number | undefined;
  let gateway: Buffer | undefined;
  let group: { id: number; weight: number }[] | undefined;
  let blackhole = false;
  forEachAttr(buf, start + 8, end, (t, s, e) => {
    if (t === NHA_ID && e - s === 4) id = buf.readUInt32LE(s);
    else if (t === NHA_OIF && e - s === 4) oif = buf.readUInt32LE(s);
    else if (t === NHA_GATEWAY && (e - s === 4 || e - s === 16)) gateway = Buffer.from(buf.subarray(s, e));
    else if (t === NHA_BLACKHOLE) blackhole = true;
    else if (t === NHA_GROUP) {
      if ((e - s) % 8 !== 0) throw new RangeError(`NHA_GROUP length ${e - s} is not a multiple of 8`);
      group = [];
      for (let o = s; o < e; o += 8) group.push({ id: buf.readUInt32LE(o), weight: buf.readUInt8(o + 4) + 1 });
    }
  });
  if (id === 0) throw new RangeError('nexthop object without NHA_ID');
  const nh: { -readonly [K in keyof NexthopObject]: NexthopObject[K] } = { id, family: buf.readUInt8(start), flags: buf.readUInt32LE(start + 4), protocol: buf.readUInt8(start + 2), blackhole };
  if (oif !== undefined) nh.oif = oif;
  if (gateway !== undefined) nh.gateway = gateway;
  if (group !== undefined) nh.group = group;
  return nh;
}

/** A nexthop object we write: one leg (a gateway out of an interface), or a group of ids. */
export type NexthopWrite =
  | { readonly id: number; readonly protocol: number; readonly leg: RouteLeg }
  | { readonly id: number; readonly protocol: number; readonly group: readonly number[] };

/** RTM_NEWNEXTHOP (create or replace) or RTM_DELNEXTHOP (by id). */
export function writeNexthop(w: MessageWriter, seq: Seq, nh: NexthopWrite | { readonly id: number }, mode: 'replace' | 'delete', ack: boolean): void {
  const flags = NLM_F_REQUEST | (mode === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0) | (ack ? NLM_F_ACK : 0);
  w.begin(mode === 'replace' ? RTM_NEWNEXTHOP : RTM_DELNEXTHOP, flags, seq);
  const leg = 'leg' in nh ? nh.leg : undefined;
  const family = !leg ? AF_UNSPEC : leg.via6 ? AF_INET6 : AF_INET;
  // struct nhmsg: family, scope, protocol, resvd, flags
  w.u8(family).u8(0).u8('protocol' in nh ? nh.protocol : 0).u8(0).u32(leg ? leg.flags & RTNH_F_ONLINK : 0);
  w.attrU32(NHA_ID, nh.id);
  if (leg) {
    w.attrU32(NHA_OIF, leg.ifindex);
    if (leg.via6) w.attrBytes(NHA_GATEWAY, leg.via6);
    else if (leg.gateway !== undefined) w.attrIpv4(NHA_GATEWAY, leg.gateway);
  } else if ('group' in nh) {
    const at = w.mark();
    w.u16(0).u16(NHA_GROUP);
    for (const id of nh.group) w.u32(id).u8(0).u8(0).u16(0); // struct nexthop_grp, weight 1
    w.closeLength(at);
  }
  w.end();
}

export function writeNexthopDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
  w.end();
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

/** What a dump scan reads of a route: its identity, and its forwarding as raw bytes. */
export interface ScannedRoute {
  table: number;
  dst: number;
  dstLen: number;
  protocol: number;
  metric: number;
  /** rtm_type: RTN_UNICAST, RTN_THROW, RTN_LOCAL, RTN_BLACKHOLE … */
  type: number;
  /** rtm_flags' ONLINK bit and the OIF, gateway, VIA, MULTIPATH and NH_ID attributes, verbatim */
  forwardingBytes: string;
}

/** RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_VIA, RTA_NH_ID as bits (all below 32) */
const FORWARDING_ATTRS = (1 << RTA_OIF) | (1 << RTA_GATEWAY) | (1 << RTA_MULTIPATH) | (1 << RTA_VIA) | (1 << RTA_NH_ID);
const MAX_FORWARDING_RANGES = 16;

/**
 * The forwarding bytes of the last route scanned into one ScannedRoute: a dump's routes
 * mostly forward alike, and a byte compare is cheaper than a string per route (the string
 * and the lookups keyed by it cost a third of a million-route resync). Same bytes, same
 * string object.
 */
const lastScan = { out: undefined as ScannedRoute | undefined, flags: 0, bytes: Buffer.alloc(256), length: 0, text: '' };
const ranges = new Int32Array(2 * MAX_FORWARDING_RANGES);

/**
 * Reads an IPv4 route message into `out` without decoding its legs (a million-route dump
 * decodes at memory speed); false for other families. decodeRoute() gives the legs.
 */
export function scanRoute(m: NetlinkMessage, out: ScannedRoute): boolean {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('rtmsg too short');
  if (buf[start] !== AF_INET) return false;
  out.dstLen = buf[start + 1]!;
  out.table = buf[start + 4]!;
  out.protocol = buf[start + 5]!;
  out.type = buf[start + 7]!;
  out.dst = 0;
  out.metric = 0;
  const flags = buf.readUInt32LE(start + 8) & RTNH_F_ONLINK;
  let n = 0;
  let length = 0;
  let off = start + 12;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) throw new RangeError(`attribute ${type} length ${len} overruns its message`);
    if (type === RTA_TABLE && len === 8) out.table = buf.readUInt32LE(off + 4);
    else if (type === RTA_DST && len === 8) out.dst = buf.readUInt32BE(off + 4);
    else if (type === RTA_PRIORITY && len === 8) out.metric = buf.readUInt32LE(off + 4);
    else if (type < 32 && (FORWARDING_ATTRS >>> type) & 1) {
      if (n < ranges.length) {
        ranges[n] = off;
        ranges[n + 1] = off + len;
      }
      n += 2;
      length += len;
    }
    off += (len + 3) & ~3;
  }
  out.forwardingBytes = n <= ranges.length ? forwardingText(buf, flags, n, length, out) : forwardingTextSlow(m, flags);
  return true;
}

/** the forwarding as a string: the last one again when the bytes are the same */
function forwardingText(buf: Buffer, flags: number, n: number, length: number, out: ScannedRoute): string {
  const last = lastScan;
  if (last.out === out && last.flags === flags && last.length === length) {
    let p = 0;
    let same = true;
    for (let r = 0; r < n && same; r += 2) {
      const from = ranges[r]!;
      const to = ranges[r + 1]!;
      for (let i = from; i < to; i++, p++) {
        if (buf[i] !== last.bytes[p]) {
          same = false;
          break;
        }
      }
    }
    if (same) return last.text;
  }
  let text = String.fromCharCode(flags);
  if (last.bytes.length < length) last.bytes = Buffer.alloc(Math.max(length, last.bytes.length * 2));
  let p = 0;
  for (let r = 0; r < n; r += 2) {
    text += buf.toString('latin1', ranges[r], ranges[r + 1]);
    p += buf.copy(last.bytes, p, ranges[r], ranges[r + 1]);
  }
  last.out = out;
  last.flags = flags;
  last.length = length;
  last.text = text;
  return text;
}

/** more forwarding attributes than ranges holds (no kernel sends that): the plain way, uncached */
function forwardingTextSlow(m: NetlinkMessage, flags: number): string {
  const { buf, start, end } = m;
  let text = String.fromCharCode(flags);
  for (let off = start + 12; off + 4 <= end;) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (type < 32 && (FORWARDING_ATTRS >>> type) & 1) text += buf.toString('latin1', off, off + len);
    off += (len + 3) & ~3;
  }
  lastScan.out = undefined;
  return text;
}

/** What the main-table scan reads of a route: its key, protocol and type, nothing else. */
export interface RoutePrefix {
  table: number;
  dst: number;
  dstLen: number;
  protocol: number;
  type: number;
  /** rtm_tos: a route for one TOS only does not shadow the others */
  tos: number;
  metric: number;
}

/** Reads an IPv4 route message's key into `out`; false for other families. Throws on malformed input. */
export function scanRoutePrefix(m: NetlinkMessage, out: RoutePrefix): boolean {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('rtmsg too short');
  if (buf[start] !== AF_INET) return false;
  out.dstLen = buf[start + 1]!;
  out.tos = buf[start + 3]!;
  out.table = buf[start + 4]!;
  out.protocol = buf[start + 5]!;
  out.type = buf[start + 7]!;
  out.dst = 0;
  out.metric = 0;
  let off = start + 12;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) throw new RangeError(`attribute ${type} length ${len} overruns its message`);
    if (type === RTA_TABLE && len === 8) out.table = buf.readUInt32LE(off + 4);
    else if (type === RTA_DST && len === 8) out.dst = buf.readUInt32BE(off + 4);
    else if (type === RTA_PRIORITY && len === 8) out.metric = buf.readUInt32LE(off + 4);
    off += (len + 3) & ~3;
  }
  return true;
}

// FIB rules (include/uapi/linux/fib_rules.h). The daemon keeps one: `pref P lookup T proto
// ours`; FRA_PROTOCOL (Linux >= 4.17) marks it as ours, so no rule of anyone else's is ever
// written or deleted.
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
const RTM_GETRULE = 34;
export const FRA_PRIORITY = 6;
export const FRA_TABLE = 15;
export const FRA_SUPPRESS_PREFIXLEN = 14;
export const FRA_PROTOCOL = 21;
export const FR_ACT_TO_TBL = 1;

/** An IPv4 policy rule, reduced to what tells ours apart. */
export interface KernelRule {
  readonly family: number;
  readonly priority: number;
  readonly table: number;
  readonly action: number;
  readonly protocol: number;
  /**
   * whether it selects packets by anything (from, to, tos, iif, oif, fwmark, not, ...): a
   * rule that does is not the plain `lookup T` rule we keep
   */
  readonly selective: boolean;
}

/** The rule we write: `pref P lookup T proto ours`, nothing else. */
export interface RuleWrite {
  readonly priority: number;
  readonly table: number;
  readonly protocol: number;
}

/**
 * RTM_NEWRULE with CREATE|EXCL (without EXCL the kernel adds a duplicate rule) or
 * RTM_DELRULE naming priority, table and protocol: the kernel deletes the first rule that
 * matches every attribute given, so a rule of another protocol is never the one removed.
 */
export function writeRule(w: MessageWriter, seq: Seq, r: RuleWrite, mode: 'create' | 'delete', ack: boolean): void {
  const flags = exclusiveWriteFlags(mode, ack);
  w.begin(mode === 'create' ? RTM_NEWRULE : RTM_DELRULE, flags, seq);
  // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action; flags
  w.u8(AF_INET).u8(0).u8(0).u8(0).u8(r.table > 255 ? 0 : r.table).u8(0).u8(0).u8(FR_ACT_TO_TBL).u32(0);
  w.attrU32(FRA_PRIORITY, r.priority);
  w.attrU32(FRA_TABLE, r.table);
  w.attrBytes(FRA_PROTOCOL, Uint8Array.of(r.protocol));
  w.end();
}

export function writeRuleDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_INET).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
  w.end();
}

/** Attributes every dumped rule carries; any other one selects packets or acts otherwise. */
const PLAIN_RULE_ATTRS = new Set([FRA_PRIORITY, FRA_TABLE, FRA_PROTOCOL]);

export function decodeRule(m: NetlinkMessage): KernelRule {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('fib_rule_hdr too short');
  let table = buf.readUInt8(start + 4);
  let priority = 0;
  let protocol = 0;
  // dst_len, src_len, tos; flags (FIB_RULE_INVERT and friends)
  let selective = buf[start + 1] !== 0 || buf[start + 2] !== 0 || buf[start + 3] !== 0 || buf.readUInt32LE(start + 8) !== 0;
  forEachAttr(buf, start + 12, end, (t, s, e) => {
    if (t === FRA_PRIORITY && e - s === 4) priority = buf.readUInt32LE(s);
    else if (t === FRA_TABLE && e - s === 4) table = buf.readUInt32LE(s);
    else if (t === FRA_PROTOCOL && e - s >= 1) protocol = buf.readUInt8(s);
    // the kernel reports suppress_prefixlen on every rule; -1 means unset
    else if (t === FRA_SUPPRESS_PREFIXLEN && e - s === 4 && buf.readInt32LE(s) === -1) return;
    else if (!PLAIN_RULE_ATTRS.has(t)) selective = true;
  });
  return { family: buf.readUInt8(start), priority, table, action: buf.readUInt8(start + 7), protocol, selective };
}
